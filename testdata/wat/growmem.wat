;; growmem: a reactor whose memory (1 page, no maximum: up to 4 GiB) grows on
;; request, for the linear memory allocator's tests and bench.
;;   grow(pages) -> previous size in pages, or -1 when refused
;;   store(addr, value) / load(addr) -> value: i32 at a byte address
;;   fill(pages): grow by pages in steps of 16 pages (1 MiB), writing one
;;     byte per 4 KiB of each new step (so every host page is touched);
;;     returns the size in pages, or -1 when a growth was refused
(module
  (memory (export "memory") 1)
  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages)))
  (func (export "store") (param $addr i32) (param $v i32)
    (i32.store (local.get $addr) (local.get $v)))
  (func (export "load") (param $addr i32) (result i32)
    (i32.load (local.get $addr)))
  (func (export "fill") (param $pages i32) (result i32)
    (local $step i32) (local $at i32) (local $end i32)
    (block $done
      (loop $grow
        (br_if $done (i32.le_s (local.get $pages) (i32.const 0)))
        (local.set $step (select (i32.const 16) (local.get $pages) (i32.gt_s (local.get $pages) (i32.const 16))))
        (local.set $at (memory.grow (local.get $step)))
        (if (i32.eq (local.get $at) (i32.const -1)) (then (return (i32.const -1))))
        (local.set $at (i32.shl (local.get $at) (i32.const 16)))
        (local.set $end (i32.add (local.get $at) (i32.shl (local.get $step) (i32.const 16))))
        (loop $touch
          (i32.store8 (local.get $at) (i32.const 1))
          (local.set $at (i32.add (local.get $at) (i32.const 4096)))
          (br_if $touch (i32.lt_u (local.get $at) (local.get $end))))
        (local.set $pages (i32.sub (local.get $pages) (local.get $step)))
        (br $grow)))
    (memory.size)))
