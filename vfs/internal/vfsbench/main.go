// Command vfsbench measures how fast a guest reads from wrun's asset layers
// compared with the same tree on a host directory through wazero's DirFS:
// one 64 MiB file, and 2,000 small files each stat'ed, opened, read and
// closed. The same guest (testdata/c/fsbench.c) runs on every filesystem in
// the same process; each figure is the median of -runs runs, and the
// ratios are DirFS time / layer time (above 1: the layer is faster).
//
//	go run ./vfs/internal/vfsbench [-guest .build/testdata/c/fsbench.wasm] [-runs 7]
//
// `make testdata` builds the guest.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wrun-dev/wrun/vfs"
)

const (
	bigSize    = 64 << 20
	smallCount = 2000
	smallSize  = 1536
)

func main() {
	guest := flag.String("guest", defaultGuest(), "the fsbench guest built by `make testdata`")
	runs := flag.Int("runs", 7, "runs per measurement; the median is reported")
	flag.Parse()
	if err := run(*guest, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "vfsbench:", err)
		os.Exit(1)
	}
}

func defaultGuest() string {
	if d := os.Getenv("WRUN_TESTDATA"); d != "" {
		return filepath.Join(d, "c", "fsbench.wasm")
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", ".build", "testdata", "c", "fsbench.wasm")
}

func run(guest string, runs int) error {
	wasm, err := os.ReadFile(guest)
	if err != nil {
		return fmt.Errorf("%w: run `make testdata` to build the guest", err)
	}
	dir, err := os.MkdirTemp("", "vfsbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tree := filepath.Join(dir, "tree")
	if err := makeTree(tree); err != nil {
		return err
	}
	tarPath := filepath.Join(dir, "tree.tar")
	if err := makeTar(tree, tarPath); err != nil {
		return err
	}
	// Let writeback finish before measuring: pages still being written to
	// disk made reads of the newest file (the tar) several times slower.
	syscall.Sync()
	tarFile, err := os.Open(tarPath)
	if err != nil {
		return err
	}
	defer tarFile.Close()
	fi, err := tarFile.Stat()
	if err != nil {
		return err
	}

	dirLayer, err := vfs.NewDirLayer(tree)
	if err != nil {
		return err
	}
	tarLayer, err := vfs.NewTarLayer(tarFile, fi.Size())
	if err != nil {
		return err
	}
	hostLayer, err := vfs.Host(tree, true)
	if err != nil {
		return err
	}
	// Each run gets a fresh filesystem, as each instance would.
	subjects := []struct {
		name string
		cfg  func() (wazero.FSConfig, error)
	}{
		{"DirFS", func() (wazero.FSConfig, error) {
			return wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(sysfs.DirFS(tree), "/a"), nil
		}},
		{"dir layer", mount(func() sys.FS { return dirLayer })},
		{"dir layer + overlay", mount(func() sys.FS { return vfs.NewCopyOnWriteFS(dirLayer) })},
		{"tar layer", mount(func() sys.FS { return tarLayer })},
		{"tar layer + overlay", mount(func() sys.FS { return vfs.NewCopyOnWriteFS(tarLayer) })},
		// Not an asset layer: a --mount host directory, for the price of os.Root.
		{"host dir (vfs.Host)", mount(func() sys.FS { return hostLayer })},
	}

	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return err
	}
	workloads := []struct {
		name string
		args []string
		want int64
	}{
		{"one 64 MiB file", []string{"big", "/a/big"}, bigSize},
		{"2,000 small files open+stat+read", []string{"small", "/a/small", strconv.Itoa(smallCount)}, smallCount * smallSize},
	}
	fmt.Printf("vfsbench: %s, median of %d runs, ratio = DirFS time / layer time (>1: layer faster)\n", runtime.Version(), runs)
	for _, w := range workloads {
		fmt.Printf("\n%s\n", w.name)
		times := make([][]time.Duration, len(subjects))
		for r := 0; r < runs; r++ {
			for i, s := range subjects { // interleaved, so drift hits every subject alike
				cfg, err := s.cfg()
				if err != nil {
					return err
				}
				d, err := runGuest(ctx, rt, cm, cfg, w.args, w.want)
				if err != nil {
					return fmt.Errorf("%s on %s: %w", w.name, s.name, err)
				}
				times[i] = append(times[i], d)
			}
		}
		base := median(times[0])
		for i, s := range subjects {
			m := median(times[i])
			line := fmt.Sprintf("  %-22s %10s", s.name, m.Round(10*time.Microsecond))
			if w.want == bigSize {
				line += fmt.Sprintf("  %7.0f MiB/s", float64(bigSize)/(1<<20)/m.Seconds())
			}
			if i > 0 {
				line += fmt.Sprintf("  ratio %.2f", float64(base)/float64(m))
			}
			fmt.Println(line)
		}
	}
	return nil
}

func mount(layer func() sys.FS) func() (wazero.FSConfig, error) {
	return func() (wazero.FSConfig, error) {
		return vfs.FSConfig([]vfs.Mount{{Guest: "/a", FS: layer()}})
	}
}

func runGuest(ctx context.Context, rt wazero.Runtime, cm wazero.CompiledModule, cfg wazero.FSConfig, args []string, want int64) (time.Duration, error) {
	var out, errOut bytes.Buffer
	mc := wazero.NewModuleConfig().WithName("").WithArgs(append([]string{"fsbench"}, args...)...).
		WithStdout(&out).WithStderr(&errOut).WithFSConfig(cfg)
	start := time.Now()
	mod, err := rt.InstantiateModule(ctx, cm, mc)
	d := time.Since(start)
	if mod != nil {
		mod.Close(ctx)
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %s", err, errOut.String())
	}
	if got := strings.TrimSpace(out.String()); got != strconv.FormatInt(want, 10) {
		return 0, fmt.Errorf("guest read %s bytes, want %d", got, want)
	}
	return d, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func makeTree(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "small"), 0o755); err != nil {
		return err
	}
	big := make([]byte, bigSize)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(dir, "big"), big, 0o644); err != nil {
		return err
	}
	for i := 0; i < smallCount; i++ {
		if err := os.WriteFile(filepath.Join(dir, "small", fmt.Sprintf("%05d", i)), big[i*smallSize:(i+1)*smallSize], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// makeTar writes the tar with one write, as makeTree writes each file: the
// page cache keeps a file written in small pieces in small folios, which
// read several times slower, and that would measure how the files were
// written rather than the layers.
func makeTar(dir, out string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}
