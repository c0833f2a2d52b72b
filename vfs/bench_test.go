package vfs_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"

	"github.com/wrun-dev/wrun/vfs"
)

const (
	benchBig        = 64 << 20
	benchSmallCount = 200
	benchSmallSize  = 1536
)

// benchTree writes the benchmark tree (one big file, many small ones) to a
// host directory and to a tar file next to it.
func benchTree(b *testing.B) (dir string, tarLayer sys.FS) {
	b.Helper()
	root := b.TempDir()
	dir = filepath.Join(root, "tree")
	os.MkdirAll(filepath.Join(dir, "small"), 0o755)
	big := bytes.Repeat([]byte("0123456789abcdef"), benchBig/16)
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	add := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	add("big", big)
	for i := range benchSmallCount {
		add(fmt.Sprintf("small/%05d", i), big[i*benchSmallSize:(i+1)*benchSmallSize])
	}
	tw.Close()
	tp := filepath.Join(root, "tree.tar")
	if err := os.WriteFile(tp, tb.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(tp)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	if tarLayer, err = vfs.NewTarLayer(f, int64(tb.Len())); err != nil {
		b.Fatal(err)
	}
	return dir, tarLayer
}

func benchLayers(b *testing.B) map[string]sys.FS {
	dir, tarLayer := benchTree(b)
	dirLayer, err := vfs.NewDirLayer(dir)
	if err != nil {
		b.Fatal(err)
	}
	hostRO, err := vfs.Host(dir, true)
	if err != nil {
		b.Fatal(err)
	}
	mounted, err := vfs.NewMountFS([]vfs.Mount{{Guest: "/a", FS: dirLayer}, {Guest: "/tmp", FS: vfs.NewMemFS(0)}})
	if err != nil {
		b.Fatal(err)
	}
	return map[string]sys.FS{
		"DirFS":   sysfs.DirFS(dir),
		"dir":     dirLayer,
		"dir+cow": vfs.NewCopyOnWriteFS(dirLayer),
		"tar":     tarLayer,
		"tar+cow": vfs.NewCopyOnWriteFS(tarLayer),
		"host-ro": hostRO,
		"mounted": mounted,
	}
}

func readFileBench(b *testing.B, fsys sys.FS, p string, buf []byte) int {
	f, errno := fsys.OpenFile(p, sys.O_RDONLY, 0)
	if errno != 0 {
		b.Fatal(errno)
	}
	total := 0
	for {
		n, errno := f.Read(buf)
		if errno != 0 {
			b.Fatal(errno)
		}
		if n == 0 {
			break
		}
		total += n
	}
	f.Close()
	return total
}

// BenchmarkReadAsset reads one big file in 64 KiB reads through each
// layer's sys.FS API, as wazero's fd_read does; compare with the DirFS case.
func BenchmarkReadAsset(b *testing.B) {
	for name, fsys := range benchLayers(b) {
		p := "big"
		if name == "mounted" {
			p = "a/big"
		}
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 64<<10)
			b.SetBytes(benchBig)
			for b.Loop() {
				if n := readFileBench(b, fsys, p, buf); n != benchBig {
					b.Fatalf("read %d bytes", n)
				}
			}
		})
	}
}

// BenchmarkReadDirFS stats, opens, reads and closes many small files
// through each layer (DirFS is the baseline).
func BenchmarkReadDirFS(b *testing.B) {
	for name, fsys := range benchLayers(b) {
		prefix := ""
		if name == "mounted" {
			prefix = "a/"
		}
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 64<<10)
			names := make([]string, benchSmallCount)
			for i := range names {
				names[i] = fmt.Sprintf("%ssmall/%05d", prefix, i)
			}
			for b.Loop() {
				for _, p := range names {
					if _, errno := fsys.Stat(p); errno != 0 {
						b.Fatal(errno)
					}
					readFileBench(b, fsys, p, buf)
				}
			}
		})
	}
}
