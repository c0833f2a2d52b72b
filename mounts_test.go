package wrun_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/vfs"
)

// One RunConfig shared by many runs, concurrent ones too, gives each run
// fresh writable state: its /tmp (WithScratch), its copy-on-write overlay
// (WithOverlay) and any layer made by WithMountFunc. No run sees a file
// another run wrote, and the shared base never changes.
func TestSharedRunConfigIsolatesRuns(t *testing.T) {
	p := compile(t, newRuntime(t), "c/cat")
	base, err := vfs.NewMapLayer(map[string]vfs.MapFile{"base.txt": {Data: []byte("base\n"), Mode: 0o644}})
	if err != nil {
		t.Fatal(err)
	}
	shared := wrun.NewRunConfig().
		WithScratch(1<<20).
		WithOverlay("/data", base).
		WithMountFunc("/mem", func() (sys.FS, error) { return vfs.NewMemFS(1 << 20), nil })

	// Run i writes its own files, then reads them back; a file written by
	// another run would show up in its listing.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			name := fmt.Sprintf("run%d.txt", i)
			args := []string{
				"-w", "/tmp/" + name, "tmp", "-w", "/data/" + name, "data", "-w", "/data/base.txt", "changed",
				"-w", "/mem/" + name, "mem", "/tmp/", "/data/", "/mem/", "/data/base.txt",
			}
			out, _, err := run(t, p, shared.WithArgs(args...))
			want := fmt.Sprintf("/tmp/%[1]s\n/data/base.txt\n/data/%[1]s\n/mem/%[1]s\nchanged", name)
			if err != nil || out != want {
				errs <- fmt.Errorf("run %d: %v, output %q, want %q", i, err, out, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// A later run sees none of it.
	out, _, err := run(t, p, shared.WithArgs("/tmp/", "/data/", "/mem/", "/data/base.txt"))
	if err != nil || out != "/data/base.txt\nbase\n" {
		t.Errorf("a later run: %v, output %q, want only the base file, unchanged", err, out)
	}
	out, _, err = run(t, p, shared.WithArgs("/tmp/run0.txt"))
	var exit *wsys.ExitError
	if !errors.As(err, &exit) || !strings.HasPrefix(out, "open /tmp/run0.txt: No such file") {
		t.Errorf("reading an earlier run's /tmp file: %v, output %q", err, out)
	}

	// A layer that knows how to make itself afresh (wrun.PerRunLayer)
	// is made afresh per run even when given to WithMount.
	perRun := wrun.NewRunConfig().WithMount(vfs.Mount{Guest: "/tmp", FS: freshMem{vfs.NewMemFS(1 << 20)}})
	for i := range 2 {
		out, _, err := run(t, p, perRun.WithArgs("/tmp/", "-w", "/tmp/f", "x"))
		if err != nil || out != "" {
			t.Errorf("run %d of a PerRunLayer: %v, output %q, want an empty /tmp", i, err, out)
		}
	}

	// The exact case: vfs.NewMemFS and vfs.NewCopyOnWriteFS given
	// straight to WithMount are made afresh per run too.
	direct := wrun.NewRunConfig().
		WithMount(vfs.Mount{Guest: "/tmp", FS: vfs.NewMemFS(1 << 20)}).
		WithMount(vfs.Mount{Guest: "/data", FS: vfs.NewCopyOnWriteFS(base)})
	for i := range 2 {
		out, _, err := run(t, p, direct.WithArgs("/tmp/", "/data/", "-w", "/tmp/f", "x", "-w", "/data/g", "y"))
		if err != nil || out != "/data/base.txt\n" {
			t.Errorf("run %d with a MemFS and an overlay given to WithMount: %v, output %q, want an empty /tmp and only the base file", i, err, out)
		}
	}

	// A mount function's error fails the run, naming the guest path.
	bad := wrun.NewRunConfig().WithMountFunc("/bad", func() (sys.FS, error) { return nil, errors.New("no backend") })
	if _, _, err := run(t, p, bad); err == nil || !strings.Contains(err.Error(), "mount /bad: no backend") {
		t.Errorf("failing mount function: got %v", err)
	}
}

// freshMem is a layer from outside wrun that makes itself afresh per run.
type freshMem struct{ sys.FS }

func (freshMem) NewRun() sys.FS { return vfs.NewMemFS(1 << 20) }

var _ wrun.PerRunLayer = freshMem{}
