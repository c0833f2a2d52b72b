;; trap: a command whose _start hits unreachable.
(module
  (func $boom unreachable)
  (func (export "_start") call $boom)
  (memory (export "memory") 1))
