;; pretablemut: table state changed by the init (refused). wizer.initialize
;; copies element 0 into the null element 1, "grow" grows the table, "same"
;; writes back the value element 0 already holds (accepted: the table did not
;; change).
(module
  (table $t 2 funcref)
  (elem (i32.const 0) $f)
  (func $f)
  (func (export "wizer.initialize") (table.set $t (i32.const 1) (table.get $t (i32.const 0))))
  (func (export "grow") (drop (table.grow $t (ref.null func) (i32.const 3))))
  (func (export "same") (table.set $t (i32.const 0) (table.get $t (i32.const 0)))))
