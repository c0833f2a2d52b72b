;; prerefglobal: a mutable reference-typed global (refused).
(module
  (global $r (mut externref) (ref.null extern))
  (func (export "wizer.initialize")))
