;; prehostcall: the init calls an import that is not WASI (refused). Its
;; other export never calls it, so instantiation alone must succeed.
(module
  (import "env" "host_log" (func $log (param i32)))
  (memory 1)
  (func (export "quiet"))
  (func (export "wizer.initialize") (call $log (i32.const 1))))
