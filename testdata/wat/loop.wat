;; loop: a command that never returns, for timeouts and interruption.
(module
  (func (export "_start") (loop $l br $l))
  (memory (export "memory") 1))
