package preinit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
	"github.com/wrun-dev/wrun/internal/linearmem"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

const pageSize = 65536

// snapshot is the state after the init.
type snapshot struct {
	globals  map[int]uint64 // defined global index -> bits, mutable globals only
	memPages uint32
	segments []wasmbin.DataSegment
	data     int
}

// Preinit pre-initializes wasm: it calls the init export under wazero and
// returns the module rewritten so the resulting memory and globals are its
// initial state. See the package documentation for the semantics. The report
// is returned with the output; on error it is nil.
func Preinit(ctx context.Context, wasm []byte, opts Options) ([]byte, *Report, error) {
	began := time.Now()
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	if err := wasmbin.CheckCounts(wasm); err != nil { // before wazero decodes a count
		return nil, nil, fmt.Errorf("preinit: %w", err)
	}
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		return nil, nil, fmt.Errorf("preinit: %w", err)
	}
	info, err := analyze(m)
	if err != nil {
		return nil, nil, fmt.Errorf("preinit: %w", err)
	}
	if e := info.export(opts.InitFunc, wasmbin.KindFunc); e == nil {
		return nil, nil, fmt.Errorf("preinit: %w: the module has no function export %q; export one (C: __attribute__((export_name(%q)))) or name another with the init function option",
			ErrNoInitFunc, opts.InitFunc, opts.InitFunc)
	}
	instrumented, err := instrument(m, info)
	if err != nil {
		return nil, nil, fmt.Errorf("preinit: %w", err)
	}
	rep := &Report{InitFunc: opts.InitFunc, InputBytes: len(wasm)}
	snap, err := run(ctx, instrumented, info, opts, rep)
	if err != nil {
		return nil, nil, fmt.Errorf("preinit: %w", err)
	}
	out, err := rewrite(m, info, snap, opts, rep)
	if err != nil {
		return nil, nil, fmt.Errorf("preinit: %w", err)
	}
	if !opts.AllowRandom && (rep.RandomCalls > 0 || rep.ClockCalls > 0) {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf(
			"the init called random_get %d times and read a clock %d times: whatever it derived from them (a hash seed, a timestamp) is now the same in every instance",
			rep.RandomCalls, rep.ClockCalls))
	}
	rep.OutputBytes = len(out)
	rep.Duration = time.Since(began)
	return out, rep, nil
}

// run instantiates the instrumented module, calls the init and snapshots.
func run(ctx context.Context, instrumented []byte, info *moduleInfo, opts Options, rep *Report) (*snapshot, error) {
	limit := opts.MaxMemoryBytes / pageSize * pageSize
	if limit > 0 && info.memory != nil && info.memory.Min*pageSize > limit {
		return nil, fmt.Errorf("%w: the module's initial memory is %s, over the limit of %s; raise the memory limit",
			ErrMemoryLimit, sizeString(info.memory.Min*pageSize), sizeString(limit))
	}
	// The init's memory grows in place (no copy, host memory tracks the
	// guest's) and stops at the cap.
	alloc := linearmem.New(limit)
	ctx = experimental.WithMemoryAllocator(ctx, alloc)
	rc := wazero.NewRuntimeConfig().WithCloseOnContextDone(true)
	if opts.CompilationCache != nil {
		rc = rc.WithCompilationCache(opts.CompilationCache)
	}
	r := wazero.NewRuntimeWithConfig(ctx, rc)
	defer r.Close(context.WithoutCancel(ctx))

	w := newWatcher()
	if _, err := wasi_snapshot_preview1.NewBuilder(r).Instantiate(experimental.WithFunctionListenerFactory(ctx, w)); err != nil {
		return nil, err
	}
	var called error // the non-WASI import the init called, if any
	if err := instantiateStubs(ctx, r, info.funcImports, &called); err != nil {
		return nil, err
	}
	compiled, err := r.CompileModule(ctx, instrumented)
	if err != nil {
		return nil, fmt.Errorf("compiling the module: %w", err)
	}
	if err := checkInitTypes(compiled, opts.InitFunc); err != nil {
		return nil, err
	}
	cfg, err := moduleConfig(opts)
	if err != nil {
		return nil, err
	}
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	// fail explains why the init failed: its time ran out, its memory was
	// capped, or it trapped, exited or called a stub.
	fail := func(what string, err error) error {
		switch {
		case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && opts.Timeout > 0:
			return fmt.Errorf("%s: the init did not return within its time limit of %s: %w", what, opts.Timeout, ctx.Err())
		case ctx.Err() != nil:
			return fmt.Errorf("%s: the init was stopped: %w", what, ctx.Err())
		case alloc.Refused():
			return fmt.Errorf("%w: the init failed after memory.grow was refused at the limit of %s (%w); raise the memory limit",
				ErrMemoryLimit, sizeString(limit), initError(what, err, called))
		}
		return initError(what, err, called)
	}
	mod, err := r.InstantiateModule(ctx, compiled, cfg)
	if err != nil {
		return nil, fail("instantiating the module (its start function)", err)
	}
	tables, err := readTables(ctx, mod, len(info.tables))
	if err != nil {
		return nil, fail("reading tables", err)
	}
	if f := mod.ExportedFunction("_initialize"); f != nil && opts.InitFunc != "_initialize" {
		if _, err := f.Call(ctx); err != nil {
			return nil, fail("calling _initialize", err)
		}
		rep.CalledInitialize = true
	}
	if _, err := mod.ExportedFunction(opts.InitFunc).Call(ctx); err != nil {
		return nil, fail(fmt.Sprintf("calling %q", opts.InitFunc), err)
	}
	rep.RandomCalls, rep.ClockCalls = w.randomCalls, w.clockCalls
	if open := w.openFiles(); len(open) > 0 {
		return nil, fmt.Errorf("%w: %s; close every file the init opens before it returns", ErrOpenFiles, strings.Join(quoteAll(open), ", "))
	}
	after, err := readTables(ctx, mod, len(info.tables))
	if err != nil {
		return nil, err
	}
	if err := checkTablesUnchanged(tables, after); err != nil {
		return nil, err
	}
	return takeSnapshot(mod, info, opts), nil
}

// checkInitTypes refuses an init function (or _initialize) that takes
// parameters or returns results.
func checkInitTypes(compiled wazero.CompiledModule, initFunc string) error {
	for _, name := range []string{initFunc, "_initialize"} {
		def, ok := compiled.ExportedFunctions()[name]
		if ok && (len(def.ParamTypes()) != 0 || len(def.ResultTypes()) != 0) {
			return fmt.Errorf("%w: export %q has type %v -> %v, want [] -> []", ErrNoInitFunc, name, typeNames(def.ParamTypes()), typeNames(def.ResultTypes()))
		}
	}
	return nil
}

// moduleConfig is the configuration the init runs with: opts' mounts,
// environment, arguments and output, and no start function run by
// instantiation's default.
func moduleConfig(opts Options) (wazero.ModuleConfig, error) {
	cfg := wazero.NewModuleConfig().WithStartFunctions().WithName("preinit")
	if len(opts.Mounts) > 0 {
		fsc, err := opts.FSLimits.FSConfig(opts.Mounts)
		if err != nil {
			return nil, err
		}
		cfg = cfg.WithFSConfig(fsc)
	}
	for _, kv := range opts.Env {
		k, v, _ := strings.Cut(kv, "=")
		cfg = cfg.WithEnv(k, v)
	}
	if len(opts.Args) > 0 {
		cfg = cfg.WithArgs(opts.Args...)
	}
	if opts.Stdout != nil {
		cfg = cfg.WithStdout(opts.Stdout)
	}
	if opts.Stderr != nil {
		cfg = cfg.WithStderr(opts.Stderr)
	}
	return cfg, nil
}

// checkTablesUnchanged refuses an init that grew or wrote a table (before
// and after are each table's elements): table state is not snapshotted.
func checkTablesUnchanged(before, after [][]uint64) error {
	for t := range before {
		if len(after[t]) != len(before[t]) {
			return fmt.Errorf("%w: the init grew table %d from %d to %d elements; table state cannot be snapshotted", ErrUnsupported, t, len(before[t]), len(after[t]))
		}
		for i := range before[t] {
			if after[t][i] != before[t][i] {
				return fmt.Errorf("%w: the init changed element %d of table %d; table state cannot be snapshotted", ErrUnsupported, i, t)
			}
		}
	}
	return nil
}

// takeSnapshot reads the state the init left: the mutable globals and the
// memory's non-zero spans as active data segments.
func takeSnapshot(mod api.Module, info *moduleInfo, opts Options) *snapshot {
	snap := &snapshot{globals: map[int]uint64{}}
	for i, g := range info.globals {
		if g.Type.Mutable {
			snap.globals[i] = mod.ExportedGlobal(fmt.Sprintf(globalExport, i)).Get()
		}
	}
	if info.memory != nil {
		mem := mod.ExportedMemory(memoryExport)
		size := mem.Size()
		b, _ := mem.Read(0, size)
		snap.memPages = size / pageSize
		for _, s := range nonZeroSpans(b, opts.MaxGap, opts.MaxSegments) {
			snap.segments = append(snap.segments, wasmbin.DataSegment{
				Offset: wasmbin.ExprI32(int32(uint32(s.start))),
				Init:   append([]byte(nil), b[s.start:s.end]...),
			})
			snap.data += s.end - s.start
		}
	}
	return snap
}

// instantiateStubs provides every imported function that is not WASI as a
// host function failing with ErrNonWASIImport, so the module instantiates and
// only a call fails.
func instantiateStubs(ctx context.Context, r wazero.Runtime, imports []funcImport, called *error) error {
	byModule := map[string][]funcImport{}
	for _, fi := range imports {
		if fi.module != wasiModule {
			byModule[fi.module] = append(byModule[fi.module], fi)
		}
	}
	names := make([]string, 0, len(byModule))
	for name := range byModule {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b := r.NewHostModuleBuilder(name)
		for _, fi := range byModule[name] {
			err := fmt.Errorf("%w: %q.%q; the init may only call WASI preview 1 (wasi_snapshot_preview1) functions", ErrNonWASIImport, fi.module, fi.name)
			b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {
				*called = err
				panic(err)
			}), fi.params, fi.results).Export(fi.name)
		}
		if _, err := b.Instantiate(ctx); err != nil {
			return err
		}
	}
	return nil
}

// initError wraps an error of the init in ErrInitFailed, or returns the
// ErrNonWASIImport error of the import it called.
func initError(what string, err, called error) error {
	if called != nil {
		return fmt.Errorf("%s: %w", what, called)
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("%w: %s: the module exited with code %d", ErrInitFailed, what, exit.ExitCode())
	}
	// wazero appends the wasm stack trace on further lines; keep the message
	// one line.
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return fmt.Errorf("%w: %s: %s", ErrInitFailed, what, msg)
}

// readTables returns each table's elements as opaque references.
func readTables(ctx context.Context, mod api.Module, n int) ([][]uint64, error) {
	tables := make([][]uint64, n)
	for t := range n {
		res, err := mod.ExportedFunction(fmt.Sprintf(tableSizeExport, t)).Call(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading table %d: %w", t, err)
		}
		get := mod.ExportedFunction(fmt.Sprintf(tableGetExport, t))
		size := uint32(res[0])
		tables[t] = make([]uint64, size)
		stack := make([]uint64, 1)
		for i := range size {
			stack[0] = uint64(i)
			if err := get.CallWithStack(ctx, stack); err != nil {
				return nil, fmt.Errorf("reading table %d: %w", t, err)
			}
			tables[t][i] = stack[0]
		}
	}
	return tables, nil
}

// rewrite returns the original module with the snapshot as its initial
// state.
func rewrite(m *wasmbin.Module, info *moduleInfo, snap *snapshot, opts Options, rep *Report) ([]byte, error) {
	out := &wasmbin.Module{Version: m.Version, Sections: append([]wasmbin.Section(nil), m.Sections...)}
	if len(snap.globals) > 0 {
		globals := append([]wasmbin.Global(nil), info.globals...)
		for i, bits := range snap.globals {
			var init []byte
			switch globals[i].Type.ValType {
			case "i32":
				init = wasmbin.ExprI32(int32(uint32(bits)))
			case "i64":
				init = wasmbin.ExprI64(int64(bits))
			case "f32":
				init = wasmbin.ExprF32(math.Float32frombits(uint32(bits)))
			case "f64":
				init = wasmbin.ExprF64(math.Float64frombits(bits))
			}
			globals[i].Init = init
		}
		payload, err := wasmbin.EncodeGlobals(globals)
		if err != nil {
			return nil, err
		}
		out.SetSection(wasmbin.SectionGlobal, payload)
		rep.Globals = len(snap.globals)
	}
	if info.memory != nil {
		mem := *info.memory
		mem.Min = uint64(snap.memPages)
		out.SetSection(wasmbin.SectionMemory, wasmbin.EncodeMemories([]wasmbin.Limits{mem}))
		if info.hasData || len(snap.segments) > 0 {
			out.SetSection(wasmbin.SectionData, (&wasmbin.DataSection{Segments: snap.segments}).Encode())
		}
		if out.Section(wasmbin.SectionDataCount) != nil {
			out.SetSection(wasmbin.SectionDataCount, wasmbin.EncodeU32Section(uint32(len(snap.segments))))
		}
		rep.MemoryBytes = uint64(snap.memPages) * pageSize
		rep.Segments = len(snap.segments)
		rep.DataBytes = snap.data
	}
	out.RemoveSection(wasmbin.SectionStart)
	if !opts.KeepInitFunc {
		drop := map[string]bool{opts.InitFunc: true, "_initialize": rep.CalledInitialize}
		exports := make([]wasmbin.Export, 0, len(info.exports))
		for _, e := range info.exports {
			if !(e.Kind == wasmbin.KindFunc && drop[e.Name]) {
				exports = append(exports, e)
			}
		}
		out.SetSection(wasmbin.SectionExport, wasmbin.EncodeExports(exports))
	}
	return out.Encode(), nil
}

func typeNames(ts []api.ValueType) []string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = api.ValueTypeName(t)
	}
	return s
}

func quoteAll(s []string) []string {
	q := make([]string, len(s))
	for i := range s {
		q[i] = fmt.Sprintf("%q", s[i])
	}
	return q
}

// sizeString writes a byte count in MiB, or KiB when it is not whole MiB.
func sizeString(n uint64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
