;; preimptable: imports a table (refused: imported state).
(module
  (import "env" "table" (table 1 funcref))
  (func (export "wizer.initialize")))
