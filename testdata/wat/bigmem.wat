;; bigmem: a command whose memory starts at 512 pages (32 MiB).
(module
  (func (export "_start"))
  (memory (export "memory") 512))
