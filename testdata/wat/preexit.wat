;; preexit: the init exits with code 3 (refused); "typed" has the wrong type
;; for an init function.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory 1)
  (func (export "wizer.initialize") (call $exit (i32.const 3)))
  (func (export "typed") (param i32) (result i32) (local.get 0)))
