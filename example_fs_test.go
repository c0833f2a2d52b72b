package wrun_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing/fstest"

	"github.com/spf13/afero"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/vfs"
)

// Any io/fs filesystem (an embed.FS, a fstest.MapFS, an os.Root's FS) is a
// read-only layer: the guest reads it, and a write fails with EROFS.
func ExampleRunConfig_WithMount_fromFS() {
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close(ctx)
	prog, err := rt.CompileFile(ctx, testenv.GuestPath("c/cat"))
	if err != nil {
		fmt.Println(err)
		return
	}

	files := fstest.MapFS{
		"greeting.txt":   {Data: []byte("hello from an fs.FS\n")},
		"docs/readme.md": {Data: []byte("# docs\n")},
	}
	cfg := wrun.NewRunConfig().WithStdout(os.Stdout).
		WithMount(vfs.Mount{Guest: "/data", FS: vfs.FromFS(files)})
	if err := prog.Run(ctx, cfg.WithArgs("/data/greeting.txt", "/data/docs/")); err != nil {
		fmt.Println(err)
		return
	}
	err = prog.Run(ctx, cfg.WithArgs("-w", "/data/new.txt", "x"))
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		fmt.Println("exit code", exit.ExitCode())
	}
	// Output:
	// hello from an fs.FS
	// /data/docs/readme.md
	// write /data/new.txt: Read-only file system
	// exit code 1
}

// An afero filesystem a service already uses is mounted read-write: what
// the guest writes is in the afero filesystem afterwards.
func ExampleRunConfig_WithMount_fromAfero() {
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close(ctx)
	prog, err := rt.CompileFile(ctx, testenv.GuestPath("c/cat"))
	if err != nil {
		fmt.Println(err)
		return
	}

	store := afero.NewMemMapFs()
	afero.WriteFile(store, "/in.txt", []byte("from the service\n"), 0o644)
	cfg := wrun.NewRunConfig().WithStdout(os.Stdout).
		WithMount(vfs.Mount{Guest: "/data", FS: vfs.FromAfero(store)}).
		WithArgs("/data/in.txt", "-w", "/data/out.txt", "from the guest\n", "/data/")
	if err := prog.Run(ctx, cfg); err != nil {
		fmt.Println(err)
		return
	}
	out, _ := afero.ReadFile(store, "/out.txt")
	fmt.Print(string(out))
	// Output:
	// from the service
	// /data/in.txt
	// /data/out.txt
	// from the guest
}
