;; preglobal: a global counter, globals of every number type set by the init,
;; a start function and a memory store. _start prints
;; "calls=C started=S ok|no B": C counts init runs, S start runs, ok when the
;; i64/f32/f64/negative globals and memory hold the init's values, B is "m"
;; when _start had to call the init itself and "s" when the snapshot had it.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "calls=0 started=0 no ?\0a")
  (global $calls (mut i32) (i32.const 0))
  (global $started (mut i32) (i32.const 0))
  (global $big (mut i64) (i64.const 0))
  (global $half (mut f64) (f64.const 0))
  (global $quarter (mut f32) (f32.const 0))
  (global $neg (mut i32) (i32.const 0))
  (global $seven i32 (i32.const 7))
  (start $start)
  (func $start (global.set $started (i32.add (global.get $started) (i32.const 1))))
  (func $init (export "wizer.initialize")
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (global.set $big (i64.const 1099511627776))
    (global.set $half (f64.const 2.5))
    (global.set $quarter (f32.const -0.75))
    (global.set $neg (i32.const -5))
    (i32.store (i32.const 4096) (i32.const 0x12345678)))
  (func (export "_start")
    (local $ok i32)
    (i32.store8 (i32.const 121) (i32.const 115)) ;; 's'
    (if (i32.eqz (global.get $calls))
      (then (call $init) (i32.store8 (i32.const 121) (i32.const 109)))) ;; 'm'
    (i32.store8 (i32.const 106) (i32.add (i32.const 48) (global.get $calls)))
    (i32.store8 (i32.const 116) (i32.add (i32.const 48) (global.get $started)))
    (local.set $ok
      (i32.and
        (i32.and
          (i64.eq (global.get $big) (i64.const 1099511627776))
          (f64.eq (global.get $half) (f64.const 2.5)))
        (i32.and
          (i32.and
            (f32.eq (global.get $quarter) (f32.const -0.75))
            (i32.eq (global.get $neg) (i32.const -5)))
          (i32.and
            (i32.eq (global.get $seven) (i32.const 7))
            (i32.eq (i32.load (i32.const 4096)) (i32.const 0x12345678))))))
    (if (local.get $ok)
      (then (i32.store16 (i32.const 118) (i32.const 0x6b6f)))) ;; "ok"
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 23))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
