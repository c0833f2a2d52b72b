package wasi

import (
	"context"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// The WASI preview 1 adapter (wasmtime's wasi-preview1-component-adapter,
// which `wasm-tools component new --adapt`, `jco new` and `cargo
// component` wrap preview 1 modules with) exports, beside the preview 1
// functions, a few of its own that a wrapped module may import from
// "wasi_snapshot_preview1". When wrun runs such a module unwrapped, these
// provide them on wrun's preview 1 layer:
//
//   - adapter_open_badfd(fd_out *u32) errno: reserves a descriptor that is
//     not open on anything (the adapter's Descriptor::Bad): every call that
//     needs a right on it fails with EBADF; it is released by
//     adapter_close_badfd.
//   - adapter_close_badfd(fd u32) errno: releases a descriptor
//     adapter_open_badfd reserved; EBADF for any other.
//   - reset_adapter_state(): the adapter forgets its cached state (stdio
//     and preopen descriptors, to be re-read from the host) so that a
//     snapshot taken by a pre-initializer starts afresh. wrun keeps that
//     state on the host, fresh for every instance, so there is nothing to
//     reset.
//
// adapter_monotonic_clock_set_paused is not provided: pausing the
// monotonic clock is not something wrun's clock can do, and a module that
// imports it is refused before compiling, naming it.
var adapterFunctions = []string{"adapter_open_badfd", "adapter_close_badfd", "reset_adapter_state"}

// AdapterFunctions names the adapter's own functions wrun provides in the
// "wasi_snapshot_preview1" module.
func AdapterFunctions() []string { return append([]string(nil), adapterFunctions...) }

// badFd returns a reserved, never-open descriptor entry: no rights, and
// every right refused with EBADF (modeDenied), as the adapter's bad
// descriptor refuses every call.
func badFd() *fdEntry {
	return &fdEntry{kind: kindFile, ftype: ftUnknown, modeDenied: ^uint64(0) &^ rightFdFilestatSetSize, path: badFdPath}
}

// badFdPath marks an entry made by badFd (no real entry has this path:
// FS paths never contain a NUL).
const badFdPath = "\x00adapter-badfd"

// exportAdapter adds the adapter's functions to the host module builder.
func exportAdapter(b wazero.HostModuleBuilder, h *host) {
	call := func(fn func(st *state, mem api.Memory, stack []uint64) uint32) api.GoModuleFunc {
		return func(ctx context.Context, mod api.Module, stack []uint64) {
			st := h.state(ctx, mod)
			if st == nil {
				stack[0] = errnoBadf
				return
			}
			st.mu.Lock()
			defer st.mu.Unlock()
			stack[0] = uint64(fn(st, mod.Memory(), stack))
		}
	}
	b.NewFunctionBuilder().
		WithGoModuleFunction(call(func(st *state, mem api.Memory, stack []uint64) uint32 {
			ptr := uint32(stack[0])
			if !fits(mem, ptr, 4) {
				return errnoFault
			}
			fd, errno := st.insert(badFd())
			if errno != 0 {
				return errno
			}
			if !mem.WriteUint32Le(ptr, fd) {
				st.fds[fd] = nil
				return errnoFault
			}
			return 0
		}), []api.ValueType{i32}, []api.ValueType{i32}).
		WithParameterNames("fd").
		Export("adapter_open_badfd")
	b.NewFunctionBuilder().
		WithGoModuleFunction(call(func(st *state, _ api.Memory, stack []uint64) uint32 {
			fd := uint32(stack[0])
			if uint64(fd) >= uint64(len(st.fds)) {
				return errnoBadf
			}
			e := st.fds[fd] // not st.raw: it may come to hide reserved entries
			if e == nil || e.path != badFdPath || e.file != nil {
				return errnoBadf
			}
			st.fds[fd] = nil
			return 0
		}), []api.ValueType{i32}, []api.ValueType{i32}).
		WithParameterNames("fd").
		Export("adapter_close_badfd")
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {}), nil, nil).
		Export("reset_adapter_state")
}
