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

// pythonPreinitBench compares, in one WRUN_HOME and one run, `wrun
// python:cpython@3.11.2 -c CODE` (the plain runtime: the interpreter starts
// and imports on every run) with `wrun python:cpython-preinit@3.11.2 -c
// CODE` (the variant whose snapshot, made on its first run and cached, holds
// the started interpreter and the nine modules), warm caches on both sides.
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
	for _, pkg := range []string{plain, pre} {
		cmd := exec.Command(o.wrun, "publish", pkg)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s publish %s: %v\n%s", o.wrun, pkg, err, out)
		}
	}

	fmt.Fprintf(w, "== CPython 3.11 start-up with and without the pre-initialized snapshot, warm caches, median of %d:\n", o.runs)
	fmt.Fprintln(w, "   wrun python:cpython-preinit@3.11.2 (snapshot: interpreter started, nine modules imported) vs wrun python:cpython@3.11.2")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "program\tsnapshot\tno snapshot\tspeed-up\t")
	for _, s := range pythonScripts {
		cmds := []command{
			{"snapshot", []string{o.wrun, "python:cpython-preinit@3.11.2", "-c", s.code}, env},
			{"no snapshot", []string{o.wrun, "python:cpython@3.11.2", "-c", s.code}, env},
		}
		// The first run of the variant pre-initializes it and caches the
		// snapshot; checkOutput is that run.
		for _, c := range cmds {
			if err := checkOutput(c, s.out); err != nil {
				return err
			}
		}
		med, err := o.measure(cmds)
		if err != nil {
			return err
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
