;; bigwritev writes to fd 2 with 4097 iovecs, each the whole 1 MiB memory:
;; 4097 MiB asked for, more than a u32 holds. It exits with 0 when
;; fd_write reports 0x7ffff000 bytes written (Linux's cap per call), with 2
;; when it reports another count, and with fd_write's errno on an error.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 16)
  (func (export "_start")
    (local $i i32) (local $errno i32)
    ;; iovecs at 0: {buf 0, len 1 MiB} × 4097; nwritten at 65536.
    (loop $fill
      (i32.store (i32.mul (local.get $i) (i32.const 8)) (i32.const 0))
      (i32.store (i32.add (i32.mul (local.get $i) (i32.const 8)) (i32.const 4)) (i32.const 1048576))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 4097))))
    (local.set $errno (call $fd_write (i32.const 2) (i32.const 0) (i32.const 4097) (i32.const 65536)))
    (if (local.get $errno) (then (call $proc_exit (local.get $errno))))
    (if (i32.eq (i32.load (i32.const 65536)) (i32.const 0x7ffff000))
      (then (call $proc_exit (i32.const 0))))
    (call $proc_exit (i32.const 2))))
