;; preimpmem: imports its memory (refused: imported state).
(module
  (import "env" "memory" (memory 1))
  (func (export "wizer.initialize")))
