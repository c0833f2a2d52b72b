;; cowdata: a command whose memory (3 pages, at most 5) starts from data
;; segments at constant offsets (overlapping, across a page boundary), for
;; the memory image tests (cowimage_test.go). _start prints the segments'
;; bytes, overwrites the first, prints again, grows the memory by one page
;; and prints the result of memory.grow ('C' for 3, '?' for -1), then, when
;; it grew, writes and prints a byte of the new page.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 3 5)
  (data (i32.const 16) "hello")
  (data (i32.const 16) "HE")
  (data (i32.const 65636) "page1")
  (data (i32.const 131069) "cross")
  ;; print writes len bytes at addr to stdout, then a newline.
  (func $print (param $addr i32) (param $len i32)
    (i32.store (i32.const 1024) (local.get $addr))
    (i32.store (i32.const 1028) (local.get $len))
    (i32.store8 (i32.const 1040) (i32.const 10))
    (i32.store (i32.const 1032) (i32.const 1040))
    (i32.store (i32.const 1036) (i32.const 1))
    (drop (call $fd_write (i32.const 1) (i32.const 1024) (i32.const 2) (i32.const 1048))))
  (func $show
    (call $print (i32.const 16) (i32.const 5))
    (call $print (i32.const 65636) (i32.const 5))
    (call $print (i32.const 131069) (i32.const 5)))
  (func (export "_start")
    (local $old i32)
    (call $show)
    (i32.store (i32.const 16) (i32.const 0x21657962)) ;; "bye!"
    (i32.store8 (i32.const 65636) (i32.const 0x50))    ;; "Page1"
    (call $show)
    (local.set $old (memory.grow (i32.const 1)))
    (i32.store8 (i32.const 2000) (i32.add (local.get $old) (i32.const 0x40)))
    (call $print (i32.const 2000) (i32.const 1))
    (if (i32.ne (local.get $old) (i32.const -1))
      (then
        (i32.store8 (i32.const 196608) (i32.const 0x4e)) ;; 'N'
        (call $print (i32.const 196608) (i32.const 1))))))
