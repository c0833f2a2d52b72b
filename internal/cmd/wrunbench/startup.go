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

// startupBench is issue 17's table: whole-process start of wrun in process
// and through the warm server (`wrun server`) against the wazero CLI
// running the very same module with the same mounts, warm caches,
// interleaved medians; the trace of one start of each; and a shell loop
// of 20 runs before (in process) and after (warm server).
func (o *options) startupBench(w io.Writer) error {
	home, err := os.MkdirTemp("", "wrunbench-startup")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	env := []string{"WRUN_HOME=" + home}
	inproc := append([]string{"WRUN_SERVER=off"}, env...)
	pre, err := pythonPreinitDir()
	if err != nil {
		return err
	}
	if err := o.publish(env, pre); err != nil {
		return err
	}
	const code = "print(1)"
	pyRef := []string{"python:cpython-preinit@3.11.2", "--", "-c", code}
	// The first run pre-initializes CPython and caches the snapshot: the
	// wazero CLI runs that very module.
	if err := checkOutput(command{"wrun", append([]string{o.wrun}, pyRef...), inproc}, "1\n"); err != nil {
		return err
	}
	snaps, _ := filepath.Glob(filepath.Join(home, "cache", "preinit", "*.wasm"))
	if len(snaps) != 1 {
		return fmt.Errorf("want one snapshot in %s, found %d", filepath.Join(home, "cache", "preinit"), len(snaps))
	}
	defer func() {
		cmd := exec.Command(o.wrun, "server", "stop")
		cmd.Env = append(os.Environ(), env...)
		cmd.Run()
	}()
	start := exec.Command(o.wrun, "server", "start")
	start.Env = append(os.Environ(), env...)
	if out, err := start.CombinedOutput(); err != nil {
		return fmt.Errorf("wrun server start: %v\n%s", err, out)
	}

	type guest struct {
		name, want string
		wrun       []string // after the binary
		wazero     []string // after `wazero run -cachedir=…`
	}
	cHello := filepath.Join(o.testdata, "c", "hello.wasm")
	goHello := filepath.Join(o.testdata, "go", "hello.wasm")
	guests := []guest{
		{"C hello", "hello, world, from C on wasm32-wasi\n", []string{"run", cHello}, []string{cHello}},
		{"Go hello", "hello, world, from Go on wasip1\n", []string{"run", goHello}, []string{goHello}},
		{"CPython print(1), snapshot", "1\n", pyRef, []string{
			"-mount=" + filepath.Join(pre, "lib") + ":/usr/local/lib:ro", "-env=PYTHONHOME=/usr/local", snaps[0], "-c", code}},
	}
	fmt.Fprintf(w, "== start-up, whole process, warm caches, interleaved medians of %d: wrun in process (WRUN_SERVER=off) and through\n", o.runs)
	fmt.Fprintln(w, "   the warm server (wrun server start) vs the wazero CLI (-cachedir) on the same module and mounts")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "guest\twazero CLI\twrun\twrun/wazero\twrun, warm server\twarm/wazero\tin process/warm\t")
	var traces bytes.Buffer
	for _, g := range guests {
		cmds := []command{
			{"wazero", append([]string{o.wazero, "run", "-cachedir=" + filepath.Join(home, "wazero")}, g.wazero...), nil},
			{"wrun", append([]string{o.wrun}, g.wrun...), inproc},
			{"wrun warm", append([]string{o.wrun}, g.wrun...), env},
		}
		med, err := o.measureChecked(cmds, g.want)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2fx\t%s\t%.2fx\t%.2fx\t\n", g.name, ms(med[0]), ms(med[1]), ratio(med[1], med[0]),
			ms(med[2]), ratio(med[2], med[0]), ratio(med[1], med[2]))
		for _, c := range cmds[1:] {
			fmt.Fprintf(&traces, "-- WRUN_TRACE=1 %s (%s):\n", strings.Join(g.wrun, " "), c.name)
			traces.WriteString(trace(c))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "== where a start goes (one run each; \"served by the warm server\" when it was):")
	w.Write(traces.Bytes())
	fmt.Fprintln(w)

	// The shell loop: 20 runs of the Python snapshot in one sh process.
	loop := func(name string, e []string) command {
		const script = `for i in $(seq 20); do "$0" "$@" >/dev/null || exit 1; done`
		return command{name, append([]string{"sh", "-c", script, o.wrun}, pyRef...), e}
	}
	saved := o.runs
	o.runs = max(3, o.runs/3)
	med, err := o.measure([]command{loop("before", inproc), loop("after", env)})
	o.runs = saved
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "== shell loop, 20 × wrun %s, median of %d: in process %s, warm server %s: %.2fx faster\n",
		strings.Join(pyRef, " "), max(3, saved/3), ms(med[0]), ms(med[1]), ratio(med[0], med[1]))
	return nil
}

// trace runs c once with WRUN_TRACE=1 and returns the trace lines.
func trace(c command) string {
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Env = append(append(os.Environ(), c.env...), "WRUN_TRACE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Sprintf("   %v\n%s", err, stderr.String())
	}
	var b strings.Builder
	for _, l := range strings.SplitAfter(stderr.String(), "\n") {
		if strings.HasPrefix(l, "wrun trace: ") {
			b.WriteString("   " + l)
		}
	}
	return b.String()
}
