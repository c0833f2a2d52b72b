package vfs_test

import (
	"fmt"

	"github.com/tetratelabs/wazero/experimental/sys"

	"github.com/wrun-dev/wrun/vfs"
)

// An asset layer is shared; each instance writes into its own overlay.
func ExampleNewCopyOnWriteFS() {
	assets, err := vfs.NewMapLayer(map[string]vfs.MapFile{
		"lib/site.py": {Data: []byte("import os\n")},
	})
	if err != nil {
		panic(err)
	}
	instance := vfs.NewCopyOnWriteFS(assets)

	f, _ := instance.OpenFile("lib/site.py", sys.O_WRONLY|sys.O_APPEND, 0)
	f.Write([]byte("import sys\n"))
	f.Close()
	fmt.Println(instance.Unlink("lib/site.py") == 0)

	_, errno := instance.Stat("lib/site.py")
	fmt.Println("instance:", errno)
	_, errno = assets.Stat("lib/site.py")
	fmt.Println("assets:", errno == 0)
	fmt.Println("write to assets:", assets.Unlink("lib/site.py"))
	// Output:
	// true
	// instance: no such file or directory
	// assets: true
	// write to assets: read-only file system
}

// Nested mounts from different layers stay visible.
func ExampleNewMountFS() {
	lib, _ := vfs.NewMapLayer(map[string]vfs.MapFile{"libz.a": {Data: []byte("z")}})
	site, _ := vfs.NewMapLayer(map[string]vfs.MapFile{"requests/__init__.py": {}})
	root, _ := vfs.NewMountFS([]vfs.Mount{
		{Guest: "/usr/local/lib", FS: lib},
		{Guest: "/usr/local/lib/python3.11/site-packages", FS: site},
	})
	d, _ := root.OpenFile("usr/local/lib", sys.O_RDONLY|sys.O_DIRECTORY, 0)
	defer d.Close()
	ents, _ := d.Readdir(-1)
	for _, e := range ents {
		fmt.Println(e.Name, e.Type)
	}
	_, errno := root.Stat("usr/local/lib/python3.11/site-packages/requests/__init__.py")
	fmt.Println(errno == 0)
	// Output:
	// libz.a ----------
	// python3.11 d---------
	// true
}
