;; preloop: a command whose pre-initialization never returns: its init
;; export loops forever, for the limits on pre-initialization.
(module
  (func (export "wizer.initialize") (loop $l br $l))
  (func (export "_start"))
  (memory (export "memory") 1))
