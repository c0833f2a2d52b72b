// Package preinit pre-initializes a Wasm module: it runs the module's init
// export under wazero, snapshots memory and globals, and rewrites the module
// so the snapshot ships as data segments (what wizer does).
package preinit
