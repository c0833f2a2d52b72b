package wrun_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/vfs"
)

// cwdPkg is a package running the Go cwd guest (which prints os.Getwd()
// and reads the files its arguments name, relative ones from there) with
// app/ at /app; extra is added to its manifest.
func cwdPkg(t *testing.T, extra string) string {
	return writePkg(t, `[package]
name = "test:cwd"
version = "1.0.0"
kind = "component"
[run]
wasm = "component.wasm"
`+extra+`
[[assets]]
from = "app"
to = "/app"
`, map[string][]byte{
		"component.wasm":   testenv.GuestBytes(t, "go/cwd"),
		"app/data.txt":     []byte("top\n"),
		"app/sub/data.txt": []byte("sub\n"),
	})
}

// [run] cwd is the guest's working directory (Go's wasip1 runtime starts
// in $PWD: os.Getwd and a relative open); RunConfig.WithWorkdir wins over
// it, and [test] cwd over it for Test.
func TestWorkdir(t *testing.T) {
	t.Setenv("WRUN_HOME", t.TempDir())
	p := loadPackage(t, cwdPkg(t, "cwd = \"/app\"\n[test]\nargs = [\"data.txt\"]\ncwd = \"/app/sub\""))
	out, err := runPackage(p, wrun.NewRunConfig().WithArgs("data.txt"))
	if err != nil || out != "cwd /app\ndata.txt: top\n" {
		t.Fatalf("[run] cwd: %v %q", err, out)
	}
	out, err = runPackage(p, wrun.NewRunConfig().WithWorkdir("/app/sub").WithArgs("data.txt", "../data.txt"))
	if err != nil || out != "cwd /app/sub\ndata.txt: sub\n../data.txt: top\n" {
		t.Fatalf("WithWorkdir over [run] cwd: %v %q", err, out)
	}
	var buf bytes.Buffer
	err = p.Test(context.Background(), wrun.NewRunConfig().WithStdout(&buf))
	if err != nil || buf.String() != "cwd /app/sub\ndata.txt: sub\n" {
		t.Fatalf("[test] cwd: %v %q", err, buf.String())
	}
	buf.Reset()
	err = p.Test(context.Background(), wrun.NewRunConfig().WithStdout(&buf).WithWorkdir("/app"))
	if err != nil || buf.String() != "cwd /app\ndata.txt: top\n" {
		t.Fatalf("WithWorkdir over [test] cwd: %v %q", err, buf.String())
	}

	// "/" is a working directory like any other.
	out, err = runPackage(p, wrun.NewRunConfig().WithWorkdir("/").WithArgs("app/data.txt"))
	if err != nil || out != "cwd /\napp/data.txt: top\n" {
		t.Fatalf("workdir /: %v %q", err, out)
	}
}

// A working directory that is not a directory of the run's filesystem
// fails the run before the guest starts, naming the path and saying what
// to mount; one that is not a clean absolute path too.
func TestWorkdirMissing(t *testing.T) {
	t.Setenv("WRUN_HOME", t.TempDir())
	p := loadPackage(t, cwdPkg(t, ""))
	for _, dir := range []string{"/nowhere", "/app/data.txt"} {
		out, err := runPackage(p, wrun.NewRunConfig().WithWorkdir(dir))
		if !errors.Is(err, wrun.ErrNoWorkdir) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "--mount HOST_DIR:"+dir) {
			t.Errorf("workdir %s: %v", dir, err)
		}
		if out != "" {
			t.Errorf("workdir %s: the guest ran: %q", dir, out)
		}
	}
	if _, err := runPackage(p, wrun.NewRunConfig().WithWorkdir("app")); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("a relative workdir: %v", err)
	}

	// A plain program: the mount given makes the directory.
	prog := compile(t, newRuntime(t), "go/cwd")
	if _, _, err := run(t, prog, wrun.NewRunConfig().WithWorkdir("/data")); !errors.Is(err, wrun.ErrNoWorkdir) {
		t.Errorf("a program without a filesystem: %v", err)
	}
	layer, err := vfs.NewMapLayer(map[string]vfs.MapFile{"f.txt": {Data: []byte("mapped\n"), Mode: 0o644}})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, prog, wrun.NewRunConfig().WithWorkdir("/data").WithMount(vfs.Mount{Guest: "/data", FS: layer}).WithArgs("f.txt"))
	if err != nil || out != "cwd /data\nf.txt: mapped\n" {
		t.Errorf("a program with a mount: %v %q", err, out)
	}
}
