;; fdtable opens "f" in preopen fd 3 until path_open fails, then exits with
;; that errno when the last fd opened was 65535 (the fd table is full at
;; 65536 entries), else with 1.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "f")
  (func (export "_start")
    (local $errno i32) (local $last i32)
    (loop $open
      (local.set $errno
        (call $path_open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 1)
          (i32.const 1) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 0)))
      (if (i32.eqz (local.get $errno))
        (then
          (local.set $last (i32.load (i32.const 0)))
          (br $open))))
    (if (i32.eq (local.get $last) (i32.const 65535))
      (then (call $proc_exit (local.get $errno))))
    (call $proc_exit (i32.const 1))))
