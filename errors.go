package wrun

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotWasm is wrapped by Compile when the input is not a WebAssembly binary.
var ErrNotWasm = errors.New("not a WebAssembly binary")

// ErrComponent is wrapped by Compile when the input is a Component Model
// binary, which wazero does not run.
var ErrComponent = errors.New("a WebAssembly component (Component Model)")

// ErrInvalidModule is wrapped by Compile when the binary is truncated or
// otherwise not a valid core module: decoding or validation failed. A
// compile that did not finish for another reason (its context ended, the
// Runtime was closed) wraps that reason instead, never ErrInvalidModule.
var ErrInvalidModule = errors.New("not a valid WebAssembly module")

// ErrClosed is wrapped by every use of a closed Runtime, Program or Package
// (Compile, Load, Run…), and by a run that a Close stopped: with
// cancellation on (the default) Close stops a running guest within
// milliseconds; with it off, the guest runs on until it returns, and the run
// still reports ErrClosed rather than its own result.
var ErrClosed = errors.New("closed")

// MissingImportError reports an import that neither WASI preview 1 nor any
// other host module of the Runtime provides.
type MissingImportError struct {
	Program string // the program's name
	Module  string // import module, e.g. "env"
	Name    string // import name
	Kind    string // "function", "memory", "table" or "global"
}

func (e *MissingImportError) Error() string {
	return fmt.Sprintf("%s imports %s %q.%q, which nothing provides: wrun provides WASI preview 1 (module %q) only",
		e.Program, e.Kind, e.Module, e.Name, wasiModule)
}

// TrapError reports a guest that trapped (unreachable, out-of-bounds memory
// access, integer divide by zero, stack overflow…).
type TrapError struct {
	Program string
	Message string // e.g. "unreachable"
	Stack   string // wazero's wasm stack trace, one frame a line
}

func (e *TrapError) Error() string {
	return fmt.Sprintf("%s trapped: %s", e.Program, e.Message)
}

// asTrap turns wazero's error for a failed start function into a TrapError.
// wazero formats it as "module[…] function[…] failed: wasm error: MSG\nwasm
// stack trace:\n\t…".
func asTrap(program string, err error) error {
	msg := err.Error()
	i := strings.Index(msg, "wasm error: ")
	if i < 0 {
		return fmt.Errorf("%s failed: %w", program, err)
	}
	msg = msg[i+len("wasm error: "):]
	first, stack, _ := strings.Cut(msg, "\n")
	stack = strings.TrimPrefix(stack, "wasm stack trace:\n")
	return &TrapError{Program: program, Message: first, Stack: stack}
}
