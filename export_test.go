package wrun

// WasmReads is how many times this process read a package's wasm to compile
// or pre-initialize it.
func WasmReads() int64 { return wasmReads.Load() }
