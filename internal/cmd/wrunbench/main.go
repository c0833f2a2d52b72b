// Command wrunbench is `make bench`: it times wrun against baselines measured
// in the same run (the wazero CLI, node's WASI) and prints ratios. It never
// asserts; the figures are for people.
//
// Every comparison interleaves the commands (A B A B …) after warm-up runs, so
// that drift on a shared machine hits both sides alike, and reports medians.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

type options struct {
	wrun, wazero, node, nodeScript string
	testdata                       string
	runs, warmup                   int
	only                           string
}

func main() {
	var o options
	flag.StringVar(&o.wrun, "wrun", ".build/wrun", "wrun binary")
	flag.StringVar(&o.wazero, "wazero", ".build/tools/wazero", "wazero CLI binary")
	flag.StringVar(&o.node, "node", "node", "node binary")
	flag.StringVar(&o.nodeScript, "node-script", "scripts/node-wasi.mjs", "node WASI runner script")
	flag.StringVar(&o.testdata, "testdata", ".build/testdata", "built guests")
	flag.IntVar(&o.runs, "runs", 15, "measured runs per command")
	flag.IntVar(&o.warmup, "warmup", 2, "unmeasured runs per command first")
	flag.StringVar(&o.only, "only", "", "run only the sections whose name contains this")
	flag.Parse()
	sections := []struct {
		name string
		run  func(io.Writer) error
	}{
		{"cli", o.cliStartup},
		{"vfs", o.vfsBench},
		{"registry", o.registryBench},
		{"preinit", o.preinitBench},
		{"memory", o.memoryBench},
		{"python", o.pythonBench},
		{"pythonpreinit", o.pythonPreinitBench},
		{"pytest", o.pytestBench},
		{"startup", o.startupBench},
		{"service", o.serviceBench},
		{"wasi", func(w io.Writer) error {
			return goBenchN(w, "WASI preview 1 host calls: wrun's layer (package wasi) vs wazero's own, same vfs mounts (a host dir at /data); median of 7", "./internal/wasibench", "BenchmarkWASI", "20x", 7)
		}},
		{"inproc", func(w io.Writer) error {
			return goBench(w, "in-process instantiate+run of a compiled guest: Program.Run vs raw wazero, same cancellation setting (cancel: embedding default; fast: CLI default)", ".", "BenchmarkRun$")
		}},
	}
	for _, s := range sections {
		if !strings.Contains(s.name, o.only) {
			continue
		}
		if err := s.run(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "wrunbench:", err)
			os.Exit(1)
		}
		fmt.Println()
	}
}

// command is one way to run a guest.
type command struct {
	name string
	argv []string
	env  []string
}

// publish publishes each package directory into the embedded registry of
// the WRUN_HOME that env names.
func (o *options) publish(env []string, pkgs ...string) error {
	for _, pkg := range pkgs {
		cmd := exec.Command(o.wrun, "publish", pkg)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s publish %s: %v\n%s", o.wrun, pkg, err, out)
		}
	}
	return nil
}

// measureChecked runs each command once first and checks that it prints
// want (a bench of a failing start-up would measure nothing; the run also
// warms its caches), then measures them as measure does.
func (o *options) measureChecked(cmds []command, want string) ([]time.Duration, error) {
	for _, c := range cmds {
		if err := checkOutput(c, want); err != nil {
			return nil, err
		}
	}
	return o.measure(cmds)
}

// cliStartup compares `wrun run` with `wazero run -cachedir` and node:wasi
// on the same guests, with warm caches.
func (o *options) cliStartup(w io.Writer) error {
	home, err := os.MkdirTemp("", "wrunbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	fmt.Fprintf(w, "== wrun run FILE.wasm vs baselines: whole-process start-up, warm caches, median of %d\n", o.runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "guest\twrun\twazero CLI\twrun/wazero\tnode:wasi\twrun/node\t")
	for _, g := range []string{"c/hello", "go/hello"} {
		wasm := filepath.Join(o.testdata, g+".wasm")
		cmds := []command{
			{"wrun", []string{o.wrun, "run", wasm}, []string{"WRUN_HOME=" + home}},
			{"wazero", []string{o.wazero, "run", "-cachedir=" + filepath.Join(home, "wazero"), wasm}, nil},
			{"node", []string{o.node, "--no-warnings", o.nodeScript, wasm}, nil},
		}
		med, err := o.measure(cmds)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3fx\t%s\t%.3fx\t\n", g, ms(med[0]), ms(med[1]),
			ratio(med[0], med[1]), ms(med[2]), ratio(med[0], med[2]))
	}
	return tw.Flush()
}

// measure runs each command warmup times, then runs times interleaved, and
// returns the median wall time of each.
func (o *options) measure(cmds []command) ([]time.Duration, error) {
	times := make([][]time.Duration, len(cmds))
	for i := range o.warmup + o.runs {
		for j, c := range cmds {
			d, err := timeOnce(c)
			if err != nil {
				return nil, err
			}
			if i >= o.warmup {
				times[j] = append(times[j], d)
			}
		}
	}
	med := make([]time.Duration, len(cmds))
	for j, ts := range times {
		slices.Sort(ts)
		med[j] = ts[len(ts)/2]
	}
	return med, nil
}

func timeOnce(c command) (time.Duration, error) {
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s: %v\n%s", strings.Join(c.argv, " "), err, stderr.String())
	}
	return d, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// goBench runs Go benchmarks named NAME/…/wrun and NAME/…/BASELINE and prints
// each wrun figure with its ratio to every baseline of the same name.
func goBench(w io.Writer, title, pkg, pattern string) error {
	return goBenchN(w, title, pkg, pattern, "2s", 1)
}

// goBenchN is goBench with -benchtime benchtime and -count count; each
// figure is the median of the counts (go test runs them back to back).
func goBenchN(w io.Writer, title, pkg, pattern, benchtime string, count int) error {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", pattern, "-benchtime", benchtime, "-count", strconv.Itoa(count), pkg)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go test -bench %s %s: %v\n%s%s", pattern, pkg, err, out, stderr.String())
	}
	type result struct {
		base, impl string
		ns         float64
	}
	var results []result
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || f[3] != "ns/op" {
			continue
		}
		name := f[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i] // the GOMAXPROCS suffix
		}
		i := strings.LastIndex(name, "/")
		var ns float64
		fmt.Sscan(f[2], &ns)
		results = append(results, result{name[:i], name[i+1:], ns})
	}
	results = medians(results, func(r result) string { return r.base + "/" + r.impl },
		func(r result) float64 { return r.ns }, func(r result, ns float64) result { r.ns = ns; return r })
	fmt.Fprintf(w, "== %s\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, r := range results {
		if r.impl == "wrun" {
			continue
		}
		for _, m := range results {
			if m.base == r.base && m.impl == "wrun" {
				fmt.Fprintf(tw, "%s\twrun %s\t%s %s\t%.3fx\t\n", strings.TrimPrefix(r.base, "Benchmark"), dur(m.ns), r.impl, dur(r.ns), m.ns/r.ns)
			}
		}
	}
	return tw.Flush()
}

func dur(ns float64) string { return time.Duration(ns).Round(time.Microsecond / 10).String() }

// medians folds the results that share a key into one, in first-seen
// order, holding the median of their values.
func medians[T any](rs []T, key func(T) string, val func(T) float64, set func(T, float64) T) []T {
	var order []string
	groups := map[string][]T{}
	for _, r := range rs {
		k := key(r)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	out := make([]T, 0, len(order))
	for _, k := range order {
		g := groups[k]
		vs := make([]float64, len(g))
		for i, r := range g {
			vs[i] = val(r)
		}
		sort.Float64s(vs)
		out = append(out, set(g[0], vs[len(vs)/2]))
	}
	return out
}
