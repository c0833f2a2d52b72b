package preinit

import "errors"

var (
	// ErrImportedState means the module imports a memory, global or table,
	// whose state a snapshot cannot capture.
	ErrImportedState = errors.New("module imports state that cannot be snapshotted")
	// ErrUnsupported means the module uses a feature whose state a snapshot
	// cannot capture (reference-typed state, passive data segments, more than
	// one memory).
	ErrUnsupported = errors.New("not supported by pre-initialization")
	// ErrNoInitFunc means the init export is missing or is not a function of
	// type [] -> [].
	ErrNoInitFunc = errors.New("no usable init function")
	// ErrInitFailed means instantiating the module or calling its init
	// function trapped or exited.
	ErrInitFailed = errors.New("init failed")
	// ErrNonWASIImport means the init called an imported function that is not
	// part of WASI preview 1.
	ErrNonWASIImport = errors.New("init called an import that is not WASI")
	// ErrOpenFiles means files opened during the init were still open when it
	// returned.
	ErrOpenFiles = errors.New("init left files open")
	// ErrMemoryLimit means the module's initial memory is over
	// Options.MaxMemoryBytes, or the init failed after a growth past it was
	// refused.
	ErrMemoryLimit = errors.New("memory limit reached")
)
