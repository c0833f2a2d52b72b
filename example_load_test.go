package wrun_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/registryclient"
)

// helloPackage writes a package directory running the hello guest (built
// by `make testdata`, found through WRUN_TESTDATA) into dir.
func helloPackage(dir string) error {
	wasm, err := os.ReadFile(testenv.GuestPath("c/hello"))
	if err != nil {
		return fmt.Errorf("%w: run make testdata", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "component.wasm"), wasm, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "wrun.toml"), []byte(`[package]
name = "example:hello"
version = "1.0.0"
kind = "component"
[run]
wasm = "component.wasm"
args = ["from the manifest"]
`), 0o644)
}

// WithHome keeps all of wrun's state in one directory, whatever WRUN_HOME
// and the XDG directories say: the registry's embedded store, the
// downloaded and extracted packages, compiled code and pre-initialization
// snapshots. A registry client given the same directory shares it.
func ExampleConfig_WithHome() {
	ctx := context.Background()
	state, err := os.MkdirTemp("", "wrun-state")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(state)
	src := filepath.Join(state, "src")
	if err := helloPackage(src); err != nil {
		fmt.Println(err)
		return
	}
	// Publish to the embedded store in state, then load it by name.
	client, err := registryclient.New(registryclient.Options{Home: state})
	if err != nil {
		fmt.Println(err)
		return
	}
	pkg, err := bundle.LoadDir(src)
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := client.Publish(ctx, pkg); err != nil {
		fmt.Println(err)
		return
	}

	rt, err := wrun.New(ctx, wrun.NewConfig().WithHome(state))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close(ctx)
	p, err := rt.Load(ctx, "example:hello@1.0.0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(ctx)
	if err := p.Run(ctx, wrun.NewRunConfig().WithStdout(os.Stdout)); err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range []string{"store", "cache/blobs", "cache/packages", "cache/compiled"} {
		_, err := os.Stat(filepath.Join(state, d))
		fmt.Println(d, err == nil)
	}
	// Output:
	// hello, from the manifest, from C on wasm32-wasi
	// store true
	// cache/blobs true
	// cache/packages true
	// cache/compiled true
}

// LoadBundle runs a bundle that never touches the disk: one received over
// the network, say, or embedded in the service's binary. Here it is built
// in memory from a package directory with the bundle package.
func ExampleRuntime_LoadBundle() {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "wrun-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(tmp)
	if err := helloPackage(filepath.Join(tmp, "hello")); err != nil {
		fmt.Println(err)
		return
	}
	pkg, err := bundle.LoadDir(filepath.Join(tmp, "hello"))
	if err != nil {
		fmt.Println(err)
		return
	}
	var buf bytes.Buffer // what `wrun build` would write to hello.wrun
	if err := pkg.WriteArchive(&buf); err != nil {
		fmt.Println(err)
		return
	}

	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache().WithHome(filepath.Join(tmp, "state")))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close(ctx)
	b := buf.Bytes()
	p, err := rt.LoadBundle(ctx, "hello.wrun", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(ctx) // b must stay unchanged until here
	fmt.Println(p.Name(), p.Version(), p.Digest() == pkg.Digest())
	if err := p.Run(ctx, wrun.NewRunConfig().WithStdout(os.Stdout)); err != nil {
		fmt.Println(err)
	}
	// Output:
	// example:hello 1.0.0 true
	// hello, from the manifest, from C on wasm32-wasi
}
