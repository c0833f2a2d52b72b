// Package preinit pre-initializes a Wasm module: it runs the module's init
// export under wazero, snapshots memory and globals, and rewrites the module
// so the snapshot ships as data segments (what wizer does).
//
// Preinit follows wizer's semantics. It instruments a copy of the module to
// export every defined global and memory, instantiates it (running the start
// section, never _start), calls `_initialize` when exported and then the init
// export (default "wizer.initialize"), and snapshots the state. The output is
// the original module with:
//
//   - each mutable global's initializer replaced by its snapshotted constant;
//   - the memory minimum raised to the snapshot size;
//   - the data section replaced by active segments holding the non-zero
//     bytes of memory, runs separated by zero gaps up to Options.MaxGap bytes
//     (default 32) merged, and the closest runs merged further until there are
//     at most Options.MaxSegments segments (default 2048);
//   - the data count section, when present, set to the new segment count;
//   - the start section removed (it has run), and the init export and
//     `_initialize` removed unless Options.KeepInitFunc is set.
//
// Every other section is copied byte for byte.
//
// What cannot be snapshotted is refused with an error wrapping one of the
// sentinel errors: imported memories, globals or tables (ErrImportedState),
// reference-typed or v128 mutable globals, tables whose contents the init
// changed, passive data segments (ErrUnsupported), an init that traps or exits
// (ErrInitFailed), that calls an import other than WASI preview 1
// (ErrNonWASIImport) or that leaves files open (ErrOpenFiles).
//
// The init runs with WASI preview 1: the mounts, environment and arguments of
// Options, stdout and stderr discarded unless given, and wazero's
// deterministic random source and fake clocks, so the same input gives the
// same output. Calls to random_get or to a clock are reported
// (Report.RandomCalls, Report.ClockCalls) and produce a warning unless
// Options.AllowRandom is set: whatever the init derived from them (a hash
// seed) is now baked into every instance.
//
// The init is bounded as a run is: Options.Timeout (or ctx) stops it even
// while it computes without calling the host, and Options.MaxMemoryBytes caps
// its linear memory (memory.grow past it returns -1; an init that then fails
// is reported with ErrMemoryLimit). Both default to no limit beyond ctx and
// the module's own maximum; the wrun command line passes --timeout and
// --max-memory. The init's memory grows in place (see internal/linearmem), so
// the host's memory tracks the guest's. Cached never stores the result of a
// failed or stopped init, nor an output over Options.MaxCachedBytes (default
// 256 MiB), which it returns unstored with a warning.
//
// The init's view of the filesystem is baked in too: wasi-libc records the
// preopened directories (guest path and file descriptor) in linear memory the
// first time it opens a file, so the output must run with the same preopens
// as the init saw. vfs.FSConfig pre-opens every mount under one root, "/", so
// under wrun any set of mounts satisfies this (checked with a C guest: mounts
// added after pre-initialization are found); a runner giving each directory
// its own preopen (wasmtime --dir) does not. Tables are not
// snapshotted: their contents are compared before and after the init, and a
// change is refused (wizer refuses reference types and table-mutating
// instructions outright). The start section's effects are snapshotted like
// the init's.
package preinit
