;; needs_env: imports a host function nothing provides.
(module
  (import "env" "host_log" (func $log (param i32)))
  (func (export "_start") i32.const 1 call $log)
  (memory (export "memory") 1))
