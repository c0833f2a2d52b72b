package preinit_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/internal/wasmbin"
	"github.com/wrun-dev/wrun/preinit"
	"github.com/wrun-dev/wrun/vfs"
)

// runGuest runs a command module under wazero with WASI and returns its
// stdout; a non-zero exit fails the test.
func runGuest(t *testing.T, wasm []byte, mounts []vfs.Mount, env ...string) string {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	var stdout, stderr bytes.Buffer
	cfg := wazero.NewModuleConfig().WithArgs("guest").WithStdout(&stdout).WithStderr(&stderr)
	if len(mounts) > 0 {
		fsc, err := vfs.FSConfig(mounts)
		if err != nil {
			t.Fatal(err)
		}
		cfg = cfg.WithFSConfig(fsc)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		cfg = cfg.WithEnv(k, v)
	}
	_, err := r.InstantiateWithConfig(ctx, wasm, cfg)
	var exit *sys.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 0) {
		t.Fatalf("run: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func mustPreinit(t *testing.T, wasm []byte, opts preinit.Options) ([]byte, *preinit.Report) {
	t.Helper()
	out, rep, err := preinit.Preinit(context.Background(), wasm, opts)
	if err != nil {
		t.Fatalf("Preinit: %v", err)
	}
	return out, rep
}

// sectionsBesides returns the encoded sections of wasm other than the ids
// given, in order: the sections pre-initialization must copy unchanged.
func sectionsBesides(t *testing.T, wasm []byte, ids ...wasmbin.SectionID) [][]byte {
	t.Helper()
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		t.Fatal(err)
	}
	skip := map[wasmbin.SectionID]bool{}
	for _, id := range ids {
		skip[id] = true
	}
	var out [][]byte
	for i := range m.Sections {
		if !skip[m.Sections[i].ID] {
			out = append(out, m.Sections[i].AppendTo(nil))
		}
	}
	return out
}

func exportNames(t *testing.T, wasm []byte) []string {
	t.Helper()
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Section(wasmbin.SectionExport)
	exports, err := wasmbin.DecodeExports(s.Payload, s.PayloadOffset)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range exports {
		names = append(names, e.Name)
	}
	return names
}

func dataSegments(t *testing.T, wasm []byte) int {
	t.Helper()
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Section(wasmbin.SectionData)
	if s == nil {
		return 0
	}
	d, err := wasmbin.DecodeData(s.Payload, s.PayloadOffset)
	if err != nil {
		t.Fatal(err)
	}
	return len(d.Segments)
}

func TestTable(t *testing.T) {
	wasm := testenv.GuestBytes(t, "c/pretable")
	before := runGuest(t, wasm, nil)
	if !strings.HasPrefix(before, "initialized by main\ninit calls 1\n") {
		t.Fatalf("plain run: got %q", before)
	}
	out, rep := mustPreinit(t, wasm, preinit.Options{})
	after := runGuest(t, out, nil)
	want := strings.Replace(before, "initialized by main", "initialized by snapshot", 1)
	if after != want {
		t.Errorf("after pre-init: got %q, want %q", after, want)
	}
	if rep.Segments == 0 || rep.Segments > preinit.DefaultMaxSegments || rep.DataBytes < 4*65536*9/10 {
		t.Errorf("report: %+v", rep)
	}
	if got := dataSegments(t, out); got != rep.Segments {
		t.Errorf("data section holds %d segments, report says %d", got, rep.Segments)
	}
	for _, name := range exportNames(t, out) {
		if name == "wizer.initialize" {
			t.Errorf("output still exports wizer.initialize: %v", exportNames(t, out))
		}
	}
	if !equalSections(sectionsBesides(t, wasm, wasmbin.SectionGlobal, wasmbin.SectionMemory, wasmbin.SectionData, wasmbin.SectionDataCount, wasmbin.SectionExport, wasmbin.SectionStart),
		sectionsBesides(t, out, wasmbin.SectionGlobal, wasmbin.SectionMemory, wasmbin.SectionData, wasmbin.SectionDataCount, wasmbin.SectionExport, wasmbin.SectionStart)) {
		t.Error("sections other than global, memory, data, data count, export and start changed")
	}
	if rep.RandomCalls != 0 || len(rep.Warnings) != 0 {
		t.Errorf("unexpected random calls or warnings: %+v", rep)
	}

	kept, _ := mustPreinit(t, wasm, preinit.Options{KeepInitFunc: true})
	if names := strings.Join(exportNames(t, kept), ","); !strings.Contains(names, "wizer.initialize") {
		t.Errorf("KeepInitFunc: exports %s lack wizer.initialize", names)
	}
	again, _ := mustPreinit(t, wasm, preinit.Options{})
	if !bytes.Equal(again, out) {
		t.Error("two pre-initializations of the same input differ")
	}
}

func equalSections(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestHeapSegmentsBounded(t *testing.T) {
	wasm := testenv.GuestBytes(t, "c/preheap")
	before := runGuest(t, wasm, nil)
	for _, max := range []int{0, 100} {
		out, rep := mustPreinit(t, wasm, preinit.Options{MaxSegments: max})
		limit := max
		if limit == 0 {
			limit = preinit.DefaultMaxSegments
		}
		if rep.Segments > limit || dataSegments(t, out) != rep.Segments {
			t.Errorf("MaxSegments %d: %d segments in the report, %d in the module", max, rep.Segments, dataSegments(t, out))
		}
		after := runGuest(t, out, nil)
		if want := strings.Replace(before, "initialized by main", "initialized by snapshot", 1); after != want {
			t.Errorf("MaxSegments %d: got %q, want %q", max, after, want)
		}
		if rep.MemoryBytes < 16<<20 {
			t.Errorf("memory %d bytes, want at least the 16 MiB heap", rep.MemoryBytes)
		}
	}
}

func TestFileAtInit(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.txt"), []byte("colour = blue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host, err := vfs.Host(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	wasm := testenv.GuestBytes(t, "c/prefile")
	out, _ := mustPreinit(t, wasm, preinit.Options{Mounts: []vfs.Mount{{Guest: "/data", FS: host}}})
	// No mount at run time: the content comes from the snapshot.
	got := runGuest(t, out, nil)
	if want := "initialized by snapshot\ninit calls 1\nconfig: colour = blue\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}

	_, _, err = preinit.Preinit(context.Background(), wasm, preinit.Options{
		Mounts: []vfs.Mount{{Guest: "/data", FS: host}},
		Env:    []string{"PREFILE_LEAK=1"},
	})
	if !errors.Is(err, preinit.ErrOpenFiles) || !strings.Contains(err.Error(), "/data/config.txt") && !strings.Contains(err.Error(), "config.txt") {
		t.Errorf("leaked file: got %v, want ErrOpenFiles naming config.txt", err)
	}

	_, _, err = preinit.Preinit(context.Background(), wasm, preinit.Options{})
	if !errors.Is(err, preinit.ErrInitFailed) || !strings.Contains(err.Error(), "exited with code 2") {
		t.Errorf("missing mount: got %v, want ErrInitFailed with exit code 2", err)
	}
}

func TestRandomWarning(t *testing.T) {
	wasm := testenv.GuestBytes(t, "c/prerandom")
	out, rep := mustPreinit(t, wasm, preinit.Options{})
	if rep.RandomCalls == 0 || rep.ClockCalls == 0 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "random_get") {
		t.Errorf("report: random %d clock %d warnings %q", rep.RandomCalls, rep.ClockCalls, rep.Warnings)
	}
	// Every instance now has the same seed: the baked-in value.
	if a, b := runGuest(t, out, nil), runGuest(t, out, nil); a != b || !strings.HasPrefix(a, "init calls 1\n") {
		t.Errorf("runs: %q, %q", a, b)
	}
	_, rep = mustPreinit(t, wasm, preinit.Options{AllowRandom: true})
	if rep.RandomCalls == 0 || len(rep.Warnings) != 0 {
		t.Errorf("AllowRandom: random %d warnings %q", rep.RandomCalls, rep.Warnings)
	}
}
