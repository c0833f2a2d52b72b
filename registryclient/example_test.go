package registryclient_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/registryclient"
)

// Publish a package to the embedded local store and run-resolve it by name.
func Example() {
	tmp, err := os.MkdirTemp("", "wrun-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(tmp)

	// A package directory: wrun.toml and its wasm (an empty module here).
	dir := filepath.Join(tmp, "hello")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "wrun.toml"), []byte(`
[package]
name = "example:hello"
version = "1.0.0"
kind = "component"
[run]
wasm = "component.wasm"
`), 0o644)
	os.WriteFile(filepath.Join(dir, "component.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644)

	c, err := registryclient.New(registryclient.Options{
		Home: tmp, // all of wrun's state; the default is WRUN_HOME or the XDG directories
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	pkg, err := bundle.LoadDir(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.Publish(ctx, pkg); err != nil {
		fmt.Println(err)
		return
	}
	res, err := c.Pull(ctx, "example:hello@^1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Root.Name(), res.Root.Version(), filepath.Base(res.Root.Wasm()), res.Root.Digest() == pkg.Digest())
	list, _ := c.List(ctx, "example")
	fmt.Println(list[0].Name, list[0].Versions)
	// Output:
	// example:hello 1.0.0 component.wasm true
	// example:hello [1.0.0]
}

func ExampleParseRef() {
	for _, s := range []string{"example:hello@^1.2", "ghcr.io/org/app:1.0.0", "./app.wasm"} {
		r, _ := registryclient.ParseRef(s)
		fmt.Println(r.Kind, r)
	}
	// Output:
	// package example:hello@^1.2
	// oci ghcr.io/org/app:1.0.0
	// path ./app.wasm
}
