package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// registryBench prints the registry client's Go benchmarks (pull throughput
// from a real loopback registry, bytes for a second package sharing a
// dependency) and compares a warm `wrun ns:name@1.0.0` with `wrun run
// file.wasm` on the same guest.
func (o *options) registryBench(w io.Writer) error {
	fmt.Fprintln(w, "== registry: pull from docker-registry on loopback (go test -bench ./registryclient)")
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", ".", "-benchtime", "10x", "./registryclient")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("registry benchmarks: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Benchmark") {
			fmt.Fprintln(w, "  "+strings.Join(strings.Fields(line), "  "))
		}
	}

	home, err := os.MkdirTemp("", "wrunbench-registry")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	wasm := filepath.Join(o.testdata, "c/hello.wasm")
	pkg := filepath.Join(home, "pkg")
	os.MkdirAll(pkg, 0o755)
	b, err := os.ReadFile(wasm)
	if err != nil {
		return err
	}
	os.WriteFile(filepath.Join(pkg, "component.wasm"), b, 0o644)
	os.WriteFile(filepath.Join(pkg, "wrun.toml"), []byte("[package]\nname = \"bench:hello\"\nversion = \"1.0.0\"\nkind = \"component\"\n[run]\nwasm = \"component.wasm\"\n"), 0o644)
	env := []string{"WRUN_HOME=" + home}
	if err := o.publish(env, pkg); err != nil {
		return err
	}
	med, err := o.measure([]command{
		{"ref", []string{o.wrun, "bench:hello@1.0.0"}, env},
		{"file", []string{o.wrun, "run", wasm}, env},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n== warm `wrun bench:hello@1.0.0` vs `wrun run hello.wasm` (same guest), median of %d\n", o.runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "wrun REF\twrun run FILE\tratio\t\n%s\t%s\t%.3fx\t\n", ms(med[0]), ms(med[1]), ratio(med[0], med[1]))
	return tw.Flush()
}

// vfsBench runs the vfs read benchmark: one guest reading a 64 MiB file and
// 2,000 small files from asset layers and from a host dir through DirFS.
func (o *options) vfsBench(w io.Writer) error {
	fmt.Fprintln(w, "== vfs: asset layers vs wazero's DirFS on the same tree, same guest (ratio > 1: the layer is faster)")
	cmd := exec.Command("go", "run", "./vfs/internal/vfsbench", "-runs", "11", "-guest", filepath.Join(o.testdata, "c/fsbench.wasm"))
	cmd.Stdout, cmd.Stderr = w, os.Stderr
	return cmd.Run()
}
