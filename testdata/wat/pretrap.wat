;; pretrap: the init traps (refused).
(module
  (memory 1)
  (func (export "wizer.initialize") unreachable))
