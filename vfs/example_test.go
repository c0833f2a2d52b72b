package vfs_test

import (
	"fmt"
	"testing/fstest"

	"github.com/spf13/afero"
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

// An io/fs filesystem is a read-only layer; an overlay makes it writable
// per instance.
func ExampleFromFS() {
	layer := vfs.FromFS(fstest.MapFS{"etc/motd": {Data: []byte("welcome\n")}})
	st, _ := layer.Stat("etc/motd")
	fmt.Println(st.Size)
	fmt.Println(layer.Unlink("etc/motd"))

	instance := vfs.NewCopyOnWriteFS(layer)
	fmt.Println(instance.Unlink("etc/motd") == 0)
	// Output:
	// 8
	// read-only file system
	// true
}

// An afero filesystem is a read-write layer; what the backend cannot
// express (MemMapFs: hard and symbolic links) fails with ENOSYS, and POSIX
// rules hold even where the backend would not check them.
func ExampleFromAfero() {
	store := afero.NewMemMapFs()
	layer := vfs.FromAfero(store)
	f, _ := layer.OpenFile("report.txt", sys.O_WRONLY|sys.O_CREAT, 0o644)
	f.Write([]byte("done\n"))
	f.Close()

	data, _ := afero.ReadFile(store, "/report.txt")
	fmt.Print(string(data))
	fmt.Println(layer.Link("report.txt", "copy.txt"))
	fmt.Println(layer.Symlink("report.txt", "latest"))
	layer.Mkdir("d", 0o755)
	fmt.Println(layer.Rename("d", "d/e"))
	// Output:
	// done
	// functionality not supported
	// functionality not supported
	// invalid argument
}
