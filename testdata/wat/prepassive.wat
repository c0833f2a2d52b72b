;; prepassive: a passive data segment (refused: memory.init and data.drop
;; would refer to segments the snapshot replaces).
(module
  (memory 1)
  (data $d "passive")
  (func (export "wizer.initialize")
    (memory.init $d (i32.const 0) (i32.const 0) (i32.const 7))))
