;; A module with one of every section wrun's section codec decodes: imports of
;; every kind, memory, globals, exports, start, active and passive data
;; segments, data count, and custom sections. Built by the tests with
;; `wat2wasm --enable-all --debug-names`.
(module $sections
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "env" "table" (table 1 funcref))
  (import "env" "g" (global $g i32))
  (type $t (func (param i32 i64) (result f32)))
  (memory (export "memory") 2 16)
  (global $counter (mut i32) (i32.const 42))
  (global $big i64 (i64.const -1234567890123))
  (global $f f64 (f64.const 3.5))
  (func $start)
  (func $compute (export "compute") (type $t) (f32.const 1.5))
  (func $init (export "wizer.initialize") (data.drop 1))
  (start $start)
  (data (i32.const 1024) "hello, active segment")
  (data "a passive segment")
  (data (i32.const 65536) "\00\01\02\03\ff")
)
