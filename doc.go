// Package wrun is the embedding API of wrun: a Runtime owns one wazero runtime
// and its compilation cache, Compile turns a Wasm binary into a Program, and
// Program.Run instantiates it once per call with that run's arguments,
// environment, standard streams, mounts, clocks, random source and limits.
//
// A Program is compiled once and may be run concurrently from many
// goroutines; every run gets its own instance and its own filesystem view.
//
// Defaults (NewConfig): compiled code is cached on disk under wrun's cache
// directory (WRUN_HOME/cache/compiled, else the user cache dir), cold
// compiles use one worker per CPU, and runs are cancellable: a run stops
// within milliseconds when its context is done or its Program or Runtime is
// closed, even while the guest computes, so no guest can hold up the
// process's garbage collector. That costs guest CPU (about 2x for CPython,
// up to 11-18x in tight loops; see README): trusted, bounded work opts out
// per run with RunConfig.WithCancellation(false), and
// Config.WithCloseOnContextDone(false) makes that the default. A run stopped
// by Close returns an error wrapping ErrClosed.
//
// A service keeps the *Package and *Program it loaded or compiled and runs
// them per request; Load and Compile are the slow parts.
//
// A run (NewRunConfig) has no arguments beyond the program
// name, an empty environment, no standard streams (reads see EOF, writes are
// discarded), real wall and monotonic clocks, crypto/rand as its random
// source and no memory cap beyond the module's own maximum.
//
// The guest's exit comes back as a value: Run returns nil for exit code 0
// and a *sys.ExitError otherwise. A trap is a *TrapError; a run stopped by
// its context's deadline or cancellation returns an error that wraps
// context.DeadlineExceeded or context.Canceled.
package wrun
