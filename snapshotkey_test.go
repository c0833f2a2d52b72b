package wrun_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// prertManifest is a runtime package whose [run] wasm is pre-initialized
// (the c/prefile guest).
const prertManifest = `[package]
name = "test:prert"
version = "1.0.0"
kind = "module"
[run]
wasm = "module.wasm"
[preinit]
init = "wizer.initialize"
`

// TestPreinitSnapshotKeyCoversApp: a runtime package whose [preinit] lists
// no mounts lets its init read the app's files; two apps on that runtime
// must each run with their own baked state. The snapshot was cached by the
// runtime's digest alone, so the second app ran with the first one's.
func TestPreinitSnapshotKeyCoversApp(t *testing.T) {
	ctx := context.Background()
	home := publishedHome(t, writePkg(t, prertManifest, map[string][]byte{"module.wasm": testenv.GuestBytes(t, "c/prefile")}))

	app := func(config string) string {
		return writePkg(t, `[package]
name = "test:app"
version = "1.0.0"
kind = "component"
[run]
runtime = "test:prert@^1"
[[assets]]
from = "data"
to = "/data"
`, map[string][]byte{"data/config.txt": []byte(config)})
	}
	rt, err := wrun.New(ctx, wrun.NewConfig().WithHome(home))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	for _, config := range []string{"app=A\n", "app=B\n"} {
		p, err := rt.Load(ctx, app(config))
		if err != nil {
			t.Fatal(err)
		}
		got := runOut(t, p)
		p.Close(ctx)
		if !strings.Contains(got, "initialized by snapshot") || !strings.HasSuffix(got, "config: "+config) {
			t.Errorf("app with config %q ran with:\n%s", config, got)
		}
	}
}

// TestPreinitWarmLoadReadsNoModule: a Load that finds its snapshot cached
// (a new Runtime: a new process) looks it up by the module's verified
// digest and never reads, hashes or parses the module itself. It read the
// whole module to hash it for the snapshot's key, then threw it away.
func TestPreinitWarmLoadReadsNoModule(t *testing.T) {
	ctx := context.Background()
	home := publishedHome(t, writePkg(t, prertManifest+`[[assets]]
from = "data"
to = "/data"
`, map[string][]byte{"module.wasm": testenv.GuestBytes(t, "c/prefile"), "data/config.txt": []byte("app=A\n")}))
	load := func() (string, int64) {
		rt, err := wrun.New(ctx, wrun.NewConfig().WithHome(home))
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close(ctx)
		before := wrun.WasmReads()
		p, err := rt.Load(ctx, "test:prert@1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(ctx)
		return runOut(t, p), wrun.WasmReads() - before
	}
	cold, reads := load()
	if reads != 1 || !strings.Contains(cold, "initialized by snapshot") {
		t.Fatalf("cold load: %d module reads, output:\n%s", reads, cold)
	}
	warm, reads := load()
	if reads != 0 {
		t.Errorf("warm load read the module %d times", reads)
	}
	if warm != cold {
		t.Errorf("warm load ran with:\n%s\nthe cold one with:\n%s", warm, cold)
	}
}
