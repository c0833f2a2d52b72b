package wasi_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	wsys "github.com/tetratelabs/wazero/sys"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/vfs"
	"github.com/wrun-dev/wrun/vfs/vfstest"
	"github.com/wrun-dev/wrun/wasi"
)

// runtimes are shared by the tests of this file: one with wrun's layer,
// one with wazero's own WASI (to compare).
func newRuntime(t testing.TB, own bool) wazero.Runtime {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	t.Cleanup(func() { rt.Close(ctx) })
	var err error
	if own {
		_, err = wasi.Instantiate(ctx, rt)
	} else {
		_, err = wasi_snapshot_preview1.Instantiate(ctx, rt)
	}
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

type result struct {
	stdout, stderr string
	err            error
}

// run runs wasm with wrun's layer over cfg (stdout/stderr captured).
func run(t testing.TB, ctx context.Context, rt wazero.Runtime, wasm []byte, cfg wasi.Config, args ...string) result {
	t.Helper()
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cfg.Stdout = &stdout
	if cfg.Stderr == nil {
		cfg.Stderr = &stderr
	}
	mc := wazero.NewModuleConfig().WithName("").WithArgs(append([]string{"guest"}, args...)...).WithSysWalltime().WithSysNanotime().WithSysNanosleep()
	mod, err := rt.InstantiateModule(wasi.WithConfig(ctx, cfg), cm, mc)
	if mod != nil {
		mod.Close(ctx)
	}
	if ee, ok := err.(*wsys.ExitError); ok && ee.ExitCode() == 0 {
		err = nil
	}
	return result{stdout.String(), stderr.String(), err}
}

// mountFS mounts a host directory at each guest path given.
func mountFS(t testing.TB, guestDirs map[string]string) sys.FS {
	t.Helper()
	var ms []vfs.Mount
	for g, dir := range guestDirs {
		h, err := vfs.Host(dir, false)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, vfs.Mount{Guest: g, FS: h})
	}
	fsys, err := vfs.NewMountFS(ms)
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

func TestHelloAndEcho(t *testing.T) {
	rt := newRuntime(t, true)
	ctx := context.Background()
	for _, lang := range []string{"c", "go"} {
		t.Run(lang, func(t *testing.T) {
			r := run(t, ctx, rt, testenv.GuestBytes(t, lang+"/hello"), wasi.Config{})
			if r.err != nil || !strings.Contains(strings.ToLower(r.stdout), "hello") {
				t.Fatalf("hello: err %v, stdout %q, stderr %q", r.err, r.stdout, r.stderr)
			}
			cm, err := rt.CompileModule(ctx, testenv.GuestBytes(t, lang+"/echo"))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			mc := wazero.NewModuleConfig().WithName("").WithArgs("echo", "a b").WithEnv("ECHO_ENV", "")
			_, err = rt.InstantiateModule(wasi.WithConfig(ctx, wasi.Config{Stdin: strings.NewReader("from stdin\n"), Stdout: &out}), cm, mc)
			if ee, ok := err.(*wsys.ExitError); err != nil && !(ok && ee.ExitCode() == 0) {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "arg[1]=a b") || !strings.Contains(out.String(), "from stdin\n") {
				t.Fatalf("echo printed %q", out.String())
			}
		})
	}
}

// fsopsDifferences are where wrun's layer follows Linux and wazero's WASI
// does not, in the fsops transcripts.
var fsopsDifferences = []struct{ lang, wazero, wrun string }{
	// getdents(2) on a regular file fails with ENOTDIR; wazero says EBADF.
	{"go", "readdir hello.txt: EBADF", "readdir hello.txt: ENOTDIR"},
}

// TestFsops runs the fsops guests (C and Go) on a host mount through
// wrun's layer and through wazero's own WASI over DirFS, and compares.
func TestFsops(t *testing.T) {
	ctx := context.Background()
	own, ref := newRuntime(t, true), newRuntime(t, false)
	for _, lang := range []string{"c", "go"} {
		wasm := testenv.GuestBytes(t, lang+"/fsops")
		for _, phase := range []string{"read", "write", "cow"} {
			t.Run(lang+"/"+phase, func(t *testing.T) {
				dirA, dirB := t.TempDir(), t.TempDir()
				for _, d := range []string{dirA, dirB} {
					if err := vfstest.WriteFixture(d, vfstest.Fixture()); err != nil {
						t.Fatal(err)
					}
				}
				// wazero's own WASI over DirFS at /m.
				cm, err := ref.CompileModule(ctx, wasm)
				if err != nil {
					t.Fatal(err)
				}
				var want bytes.Buffer
				cfg := wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(sysfs.DirFS(dirA), "/m")
				mc := wazero.NewModuleConfig().WithName("").WithArgs("fsops", phase, "/m").WithStdout(&want).WithFSConfig(cfg).WithSysWalltime()
				if _, err := ref.InstantiateModule(ctx, cm, mc); err != nil {
					if ee, ok := err.(*wsys.ExitError); !ok || ee.ExitCode() != 0 {
						t.Fatal(err)
					}
				}
				r := run(t, ctx, own, wasm, wasi.Config{FS: mountFS(t, map[string]string{"/m": dirB}), Preopens: []string{"/m", "/"}}, phase, "/m")
				if r.err != nil {
					t.Fatalf("%v\n%s", r.err, r.stderr)
				}
				w := want.String()
				for _, d := range fsopsDifferences {
					if d.lang == lang {
						w = strings.ReplaceAll(w, d.wazero, d.wrun)
					}
				}
				if r.stdout != w {
					t.Errorf("differs from wazero's WASI over DirFS:\n%s", vfstest.Diff(want.String(), r.stdout))
				}
			})
		}
	}
}

type vfsFS = sys.FS
