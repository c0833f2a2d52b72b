package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/bundle"
)

// pythonPreinitBench compares, in one WRUN_HOME and one run, `wrun
// python:cpython@3.11.2 -c CODE` (the plain runtime: the interpreter starts
// and imports on every run) with `wrun python:cpython-preinit@3.11.2 -c
// CODE` (the variant whose snapshot, made on its first run and cached, holds
// the started interpreter and the nine modules), warm caches on both sides;
// then the same two in process (wrun.Load once, Package.Run per run),
// where the fixed cost of loading a 7-10 MB module does not hide Python's
// start-up.
func (o *options) pythonPreinitBench(w io.Writer) error {
	plain, err := pythonRuntimeDir()
	if err != nil {
		return err
	}
	pre, err := pythonPreinitDir()
	if err != nil {
		return err
	}
	home, err := os.MkdirTemp("", "wrunbench-pythonpreinit")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	env := []string{"WRUN_HOME=" + home}
	shipped, err := o.shippedSnapshot(home, pre)
	if err != nil {
		return err
	}
	if err := o.publish(env, plain, pre, shipped); err != nil {
		return err
	}

	fmt.Fprintf(w, "== CPython 3.11 start-up with and without the pre-initialized snapshot, warm caches, median of %d:\n", o.runs)
	fmt.Fprintln(w, "   wrun python:cpython-preinit@3.11.2 (snapshot made on first run and cached: interpreter started, nine modules imported)")
	fmt.Fprintln(w, "   vs wrun python:cpython@3.11.2; \"shipped\": the same snapshot made by `wrun preinit` and shipped as the package's wasm")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "program\tsnapshot\tno snapshot\tspeed-up\tshipped\tspeed-up\t")
	for _, s := range pythonScripts {
		cmds := []command{
			{"snapshot", []string{o.wrun, "python:cpython-preinit@3.11.2", "--", "-c", s.code}, env},
			{"no snapshot", []string{o.wrun, "python:cpython@3.11.2", "--", "-c", s.code}, env},
			{"shipped", []string{o.wrun, "python:cpython-shipped@3.11.2", "--", "-c", s.code}, env},
		}
		// The first run of the variant pre-initializes it and caches the
		// snapshot; the output check is that run.
		med, err := o.measureChecked(cmds, s.out)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2fx\t%s\t%.2fx\t\n", s.name, ms(med[0]), ms(med[1]), ratio(med[1], med[0]),
			ms(med[2]), ratio(med[1], med[2]))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return o.pythonPreinitInProcess(w, home, pre, plain)
}

// shippedSnapshot makes, under dir, a copy of the variant whose wasm is
// already pre-initialized by `wrun preinit` (as `wrun build` ships an app's
// snapshot), named python:cpython-shipped, and returns its directory.
func (o *options) shippedSnapshot(dir, pre string) (string, error) {
	out := filepath.Join(dir, "shipped")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	m, err := os.ReadFile(filepath.Join(pre, "wrun.toml"))
	if err != nil {
		return "", err
	}
	parsed, err := bundle.ParseManifest(filepath.Join(pre, "wrun.toml"), m)
	if err != nil {
		return "", err
	}
	// Every asset directory mounted for the init, as [preinit] does, and
	// linked into the copy.
	args := []string{"preinit", filepath.Join(pre, "module-preinit.wasm"), "-o", filepath.Join(out, "module-preinit.wasm"),
		"--env", "PYTHONHOME=/usr/local", "--allow-random"}
	for _, a := range parsed.Assets {
		args = append(args, "--mount", filepath.Join(pre, filepath.FromSlash(a.From))+":"+a.To+":ro")
		if err := linkTree(filepath.Join(pre, filepath.FromSlash(a.From)), filepath.Join(out, filepath.FromSlash(a.From))); err != nil {
			return "", err
		}
	}
	cmd := exec.Command(o.wrun, args...)
	cmd.Env = append(os.Environ(), "WRUN_HOME="+dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, b)
	}
	manifest, _, _ := strings.Cut(string(m), "[preinit]")
	manifest = strings.Replace(manifest, `name = "python:cpython-preinit"`, `name = "python:cpython-shipped"`, 1)
	return out, os.WriteFile(filepath.Join(out, "wrun.toml"), []byte(manifest), 0o644)
}

// pythonPreinitInProcess loads both packages once in one Runtime and times
// Package.Run, interleaved, warm-up runs first, medians.
func (o *options) pythonPreinitInProcess(w io.Writer, home, pre, plain string) error {
	// The Runtime finds its snapshot cache through WRUN_HOME.
	old, had := os.LookupEnv("WRUN_HOME")
	os.Setenv("WRUN_HOME", home)
	defer func() {
		if had {
			os.Setenv("WRUN_HOME", old)
		} else {
			os.Unsetenv("WRUN_HOME")
		}
	}()
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	var pkgs []*wrun.Package
	for _, dir := range []string{pre, plain} {
		p, err := rt.Load(ctx, dir)
		if err != nil {
			return fmt.Errorf("loading %s: %w", dir, err)
		}
		defer p.Close(ctx)
		pkgs = append(pkgs, p)
	}

	fmt.Fprintf(w, "== CPython 3.11 in process (wrun.Load once, Package.Run per run), median of %d: snapshot vs no snapshot\n", o.runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "program\tsnapshot\tno snapshot\tspeed-up\t")
	for _, s := range pythonScripts {
		var out bytes.Buffer
		cfg := wrun.NewRunConfig().WithArgs("-c", s.code).WithStdout(&out).WithStderr(&out)
		times := make([][]time.Duration, len(pkgs))
		for i := range o.warmup + o.runs {
			for j, p := range pkgs {
				out.Reset()
				start := time.Now()
				err := p.Run(ctx, cfg)
				d := time.Since(start)
				if err != nil || out.String() != s.out {
					return fmt.Errorf("%s -c %q: %v: output %q, want %q", p.Name(), s.code, err, out.String(), s.out)
				}
				if i >= o.warmup {
					times[j] = append(times[j], d)
				}
			}
		}
		med := make([]time.Duration, len(pkgs))
		for j, ts := range times {
			slices.Sort(ts)
			med[j] = ts[len(ts)/2]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2fx\t\n", s.name, ms(med[0]), ms(med[1]), ratio(med[1], med[0]))
	}
	return tw.Flush()
}

// pythonPreinitDir is the python:cpython-preinit package `make python-build`
// made: $WRUN_PYTHON_PREINIT_RUNTIME, else what
// `runtimes/python/build.sh --print-preinit-dir` names.
func pythonPreinitDir() (string, error) {
	dir := os.Getenv("WRUN_PYTHON_PREINIT_RUNTIME")
	if dir == "" {
		out, err := exec.Command("bash", filepath.Join("runtimes", "python", "build.sh"), "--print-preinit-dir").Output()
		if err != nil {
			return "", fmt.Errorf("runtimes/python/build.sh --print-preinit-dir: %v: run make python-build", err)
		}
		dir = strings.TrimSpace(string(out))
	}
	if _, err := os.Stat(filepath.Join(dir, "module-preinit.wasm")); err != nil {
		return "", fmt.Errorf("python:cpython-preinit package %s: %v: run make python-build", dir, err)
	}
	return dir, nil
}

// linkTree recreates the tree src at dst with hard links to its files.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		return os.Link(p, filepath.Join(dst, rel))
	})
}
