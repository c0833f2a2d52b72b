package wrun_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tetratelabs/wazero/sys"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// Embedding: compile a guest once, then run it with its own arguments and
// output. The guests are built from testdata by `make testdata`.
func Example() {
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close(ctx)

	prog, err := rt.CompileFile(ctx, testenv.GuestPath("c/hello"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, who := range []string{"Ada", "Grace"} {
		cfg := wrun.NewRunConfig().WithArgs(who).WithStdout(os.Stdout)
		if err := prog.Run(ctx, cfg); err != nil {
			fmt.Println(err)
			return
		}
	}
	// Output:
	// hello, Ada, from C on wasm32-wasi
	// hello, Grace, from C on wasm32-wasi
}

// The guest's exit code comes back as a *sys.ExitError; only a command-line
// front end turns it into a process exit code.
func ExampleProgram_Run_exitCode() {
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close(ctx)

	prog, err := rt.CompileFile(ctx, testenv.GuestPath("c/exit"))
	if err != nil {
		fmt.Println(err)
		return
	}
	err = prog.Run(ctx, wrun.NewRunConfig().WithArgs("3"))
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		fmt.Println("exit code", exit.ExitCode())
	}
	// Output:
	// exit code 3
}

// Load resolves a package (here a directory; equally ns:name@version from a
// registry, an OCI reference or a bundle file) with its runtime and
// dependencies, and runs it with its [run] args before the caller's.
func ExampleRuntime_Load() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	wasm, err := os.ReadFile(testenv.GuestPath("c/hello"))
	if err != nil {
		fmt.Println(err)
		return
	}
	os.WriteFile(filepath.Join(dir, "component.wasm"), wasm, 0o644)
	os.WriteFile(filepath.Join(dir, "wrun.toml"), []byte(`[package]
name = "example:hello"
version = "1.0.0"
kind = "component"
[run]
wasm = "component.wasm"
args = ["from the manifest"]
`), 0o644)
	// WithHome keeps all of the example's state (registry, caches) to itself.
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache().WithHome(filepath.Join(dir, ".wrun")))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close(ctx)
	pkg, err := rt.Load(ctx, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pkg.Close(ctx)
	fmt.Println(pkg.Name(), pkg.Version())
	if err := pkg.Run(ctx, wrun.NewRunConfig().WithStdout(os.Stdout)); err != nil {
		fmt.Println(err)
		return
	}
	// Output:
	// example:hello 1.0.0
	// hello, from the manifest, from C on wasm32-wasi
}
