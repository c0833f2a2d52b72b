;; pregrow: a command whose init grows memory by 1 GiB in 1 MiB steps,
;; writing a byte into each step, and traps when a growth is refused; for
;; the memory limit on pre-initialization.
(module
  (func (export "wizer.initialize")
    (local $i i32) (local $at i32)
    (loop $l
      (local.set $at (memory.grow (i32.const 16)))
      (if (i32.eq (local.get $at) (i32.const -1)) (then unreachable))
      (i32.store8 (i32.shl (local.get $at) (i32.const 16)) (i32.const 7))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1024)))))
  (func (export "_start"))
  (memory (export "memory") 1))
