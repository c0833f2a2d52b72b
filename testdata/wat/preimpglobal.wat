;; preimpglobal: imports a mutable global (refused: imported state).
(module
  (import "env" "counter" (global (mut i32)))
  (func (export "wizer.initialize")))
