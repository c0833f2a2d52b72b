package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// memoryBench runs a guest that grows its memory to 1 GiB in 1 MiB malloc
// steps, touching every page (c/growtouch 1024), under wrun (uncapped and
// with --max-memory 4GiB) and under the wazero CLI (wazero's default
// allocator, which copies the memory on growth), and prints for each the
// process's peak RSS over the guest's memory (the goal is at most 1.1) and
// the wall time of the whole run, growth included; medians, interleaved.
func (o *options) memoryBench(w io.Writer) error {
	home, err := os.MkdirTemp("", "wrunbench-memory")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	wasm := filepath.Join(o.testdata, "c/growtouch.wasm")
	env := []string{"WRUN_HOME=" + home}
	cmds := []command{
		{"wrun run", []string{o.wrun, "run", wasm, "1024"}, env},
		{"wrun run --max-memory 4GiB", []string{o.wrun, "run", "--max-memory", "4GiB", wasm, "1024"}, env},
		{"wazero CLI (default allocator)", []string{o.wazero, "run", "-cachedir=" + filepath.Join(home, "wazero"), wasm, "1024"}, nil},
	}
	runs := min(o.runs, 5)
	fmt.Fprintf(w, "== memory growth to 1 GiB (c/growtouch 1024): peak RSS / guest memory, wall time; median of %d\n", runs)
	rss := make([][]float64, len(cmds))
	times := make([][]time.Duration, len(cmds))
	var guest uint64
	for i := range 1 + runs { // the first round warms the compilation caches
		for j, c := range cmds {
			out, peak, d, err := rusageOnce(c)
			if err != nil {
				return err
			}
			var mem uint64
			if _, err := fmt.Sscanf(out, "memory %d", &mem); err != nil || mem == 0 {
				return fmt.Errorf("%s: printed %q, want \"memory N\"", strings.Join(c.argv, " "), out)
			}
			guest = mem
			if i > 0 {
				rss[j] = append(rss[j], float64(peak)/float64(mem))
				times[j] = append(times[j], d)
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "runner\tguest memory\tpeak RSS\tRSS/guest\twall time\tvs wazero\t")
	base := median(times[len(cmds)-1])
	for j, c := range cmds {
		r := median(rss[j])
		t := median(times[j])
		fmt.Fprintf(tw, "%s\t%d MiB\t%.0f MiB\t%.3f\t%s\t%.3fx\t\n", c.name, guest>>20, r*float64(guest)/(1<<20), r, ms(t), ratio(t, base))
	}
	return tw.Flush()
}

// rusageOnce runs c and returns its stdout, its peak RSS in bytes and its
// wall time.
func rusageOnce(c command) (string, uint64, time.Duration, error) {
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return "", 0, 0, fmt.Errorf("%s: %v\n%s", strings.Join(c.argv, " "), err, stderr.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return "", 0, 0, fmt.Errorf("no rusage for %s on this system", c.argv[0])
	}
	return stdout.String(), uint64(ru.Maxrss) << 10, d, nil // Maxrss is in KiB on Linux
}

func median[T cmp.Ordered](vs []T) T {
	vs = slices.Clone(vs)
	slices.Sort(vs)
	return vs[len(vs)/2]
}
