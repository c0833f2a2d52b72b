package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// pythonScripts are the programs the Python section runs, with their output.
var pythonScripts = []struct{ name, code, out string }{
	{"print('hi')", "print('hi')", "hi\n"},
	{"9 imports", "import json, re, dataclasses, pathlib, zlib, decimal, datetime, collections, typing; print('ok')", "ok\n"},
}

// pythonBench compares `wrun python:cpython@3.11.2 -c CODE`, the runtime
// package published in a temporary WRUN_HOME, with `wazero run -cachedir`
// on the same module.wasm and the same standard library as a read-only host
// directory, warm caches on both sides; then CPython re-run in process
// through the embedding API against raw wazero (BenchmarkPython).
func (o *options) pythonBench(w io.Writer) error {
	pkg, err := pythonRuntimeDir()
	if err != nil {
		return err
	}
	home, err := os.MkdirTemp("", "wrunbench-python")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	env := []string{"WRUN_HOME=" + home}
	if err := o.publish(env, pkg); err != nil {
		return err
	}
	ref := "python:cpython@3.11.2"

	fmt.Fprintf(w, "== CPython 3.11 whole-process, warm caches, median of %d: wrun %s vs wazero run -cachedir -mount STDLIB:/usr/local/lib:ro\n", o.runs, ref)
	fmt.Fprintln(w, "   (wazero -timeout: the wazero CLI with CloseOnContextDone, which wrun turns on only for --timeout)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "program\twrun\twazero CLI\twrun/wazero\twazero -timeout\twrun/wazero -timeout\t")
	for _, s := range pythonScripts {
		wazero := func(cache string, flags ...string) []string {
			argv := append([]string{o.wazero, "run", "-cachedir=" + filepath.Join(home, cache)}, flags...)
			return append(argv, "-mount="+filepath.Join(pkg, "lib")+":/usr/local/lib:ro", "-env=PYTHONHOME=/usr/local",
				filepath.Join(pkg, "module.wasm"), "-c", s.code)
		}
		cmds := []command{
			{"wrun", []string{o.wrun, ref, "--", "-c", s.code}, env},
			{"wazero", wazero("wazero"), nil},
			{"wazero -timeout", wazero("wazero-timeout", "-timeout=1h"), nil},
		}
		med, err := o.measureChecked(cmds, s.out)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3fx\t%s\t%.3fx\t\n", s.name, ms(med[0]), ms(med[1]), ratio(med[0], med[1]),
			ms(med[2]), ratio(med[0], med[2]))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return goBench(w, "CPython re-run in process: wrun.Runtime.Load once, Package.Run per run vs raw wazero InstantiateModule,"+
		" same cancellation on both sides (cancel: the embedding API's default, wazero's CloseOnContextDone; fast: the wrun command line's default, wazero's default)", ".", "BenchmarkPython")
}

// checkOutput runs c once (it also warms its caches) and checks its stdout.
func checkOutput(c command, want string) error {
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stdout.String() != want {
		return fmt.Errorf("%s: %v: stdout %q, want %q\n%s", strings.Join(c.argv, " "), err, stdout.String(), want, stderr.String())
	}
	return nil
}

// pythonRuntimeDir is the CPython runtime package `make python-build` made:
// $WRUN_PYTHON_RUNTIME, else the path in .build/python-runtime.path.
func pythonRuntimeDir() (string, error) {
	dir := os.Getenv("WRUN_PYTHON_RUNTIME")
	if dir == "" {
		b, err := os.ReadFile(filepath.Join(".build", "python-runtime.path"))
		if err != nil {
			return "", fmt.Errorf("no CPython runtime package (WRUN_PYTHON_RUNTIME is unset and %v): run make python-build", err)
		}
		dir = strings.TrimSpace(string(b))
	}
	if _, err := os.Stat(filepath.Join(dir, "module.wasm")); err != nil {
		return "", fmt.Errorf("CPython runtime package %s: %v: run make python-build", dir, err)
	}
	return dir, nil
}
