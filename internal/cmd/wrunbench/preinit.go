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
	"time"

	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// wizerVersion is the wizer release compared against, pinned with npm -E
// (11.x breaks npm ci on its lock file).
const wizerVersion = "10.0.0"

// preinitBench compares `wrun preinit` with wizer on the C guests that fill a
// 65,536-entry table and scatter writes over a 16 MiB heap at init: the
// pre-init time, the output size and segments, and that the plain guest and
// both outputs print the same; then, for the table guest, the warm `wrun run`
// time before and after pre-initialization. wizer is installed from npm when
// missing.
func (o *options) preinitBench(w io.Writer) error {
	wizer, err := o.wizer(w)
	if err != nil {
		return err
	}
	home, err := os.MkdirTemp("", "wrunbench-preinit")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	env := []string{"WRUN_HOME=" + home}

	fmt.Fprintf(w, "== wrun preinit vs wizer %s: pre-init time, output, warm wrun run before/after; median of %d\n", wizerVersion, o.runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "guest\tpre-init wrun\twizer\twrun/wizer\tsize wrun\twizer\twrun/wizer\tsegments wrun\twizer\tsame output\t")
	type runRow struct {
		guest string
		med   []time.Duration
	}
	var runs []runRow
	for _, g := range []string{"c/pretable", "c/preheap"} {
		in := filepath.Join(o.testdata, g+".wasm")
		base := filepath.Join(home, strings.ReplaceAll(g, "/", "-"))
		ours, theirs := base+".wrun.wasm", base+".wizer.wasm"
		pre, err := o.measure([]command{
			{"wrun preinit", []string{o.wrun, "preinit", in, "-o", ours}, env},
			{"wizer", []string{wizer, "--allow-wasi", "-o", theirs, in}, nil},
		})
		if err != nil {
			return err
		}
		var outputs [3]string
		var sizes, segments [2]int
		for i, wasm := range []string{in, ours, theirs} {
			out, err := exec.Command(o.wrun, "run", wasm).Output()
			if err != nil {
				return fmt.Errorf("wrun run %s: %v", wasm, err)
			}
			outputs[i] = strings.Replace(string(out), "initialized by main", "initialized by snapshot", 1)
			if i > 0 {
				b, err := os.ReadFile(wasm)
				if err != nil {
					return err
				}
				sizes[i-1], segments[i-1], err = dataSegments(b)
				if err != nil {
					return fmt.Errorf("%s: %w", wasm, err)
				}
			}
		}
		same := outputs[0] == outputs[1] && outputs[1] == outputs[2]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2fx\t%d KiB\t%d KiB\t%.3fx\t%d\t%d\t%v\t\n", g, ms(pre[0]), ms(pre[1]), ratio(pre[0], pre[1]),
			sizes[0]>>10, sizes[1]>>10, float64(sizes[0])/float64(sizes[1]), segments[0], segments[1], same)

		if g != "c/pretable" {
			continue // the heap guest's main scans 16 MiB: a size test, not a start-up one
		}
		med, err := o.measure([]command{
			{"plain", []string{o.wrun, "run", in}, env},
			{"wrun preinit", []string{o.wrun, "run", ours}, env},
			{"wizer", []string{o.wrun, "run", theirs}, env},
		})
		if err != nil {
			return err
		}
		runs = append(runs, runRow{g, med})
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n== warm wrun run: the plain guest (init in main) vs its pre-initialized outputs; median of %d\n", o.runs)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "guest\tplain\tafter wrun preinit\tspeed-up\tafter wizer\tspeed-up\t")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1fx\t%s\t%.1fx\t\n", r.guest, ms(r.med[0]), ms(r.med[1]), ratio(r.med[0], r.med[1]),
			ms(r.med[2]), ratio(r.med[0], r.med[2]))
	}
	return tw.Flush()
}

// dataSegments returns the module's size and its number of data segments.
func dataSegments(wasm []byte) (size, segments int, err error) {
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		return 0, 0, err
	}
	if s := m.Section(wasmbin.SectionData); s != nil {
		d, err := wasmbin.DecodeData(s.Payload, s.PayloadOffset)
		if err != nil {
			return 0, 0, err
		}
		segments = len(d.Segments)
	}
	return len(wasm), segments, nil
}

// wizer returns the wizer binary under the tools directory, installing the
// pinned release from npm first when it is missing.
func (o *options) wizer(w io.Writer) (string, error) {
	tools := os.Getenv("WRUN_TOOLS")
	if tools == "" {
		tools = filepath.Dir(o.wazero)
	}
	dir := filepath.Join(tools, "wizer")
	bin := filepath.Join(dir, "node_modules", "@bytecodealliance", "wizer-linux-x64", "wizer")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	args := []string{"i", "-E", "--no-audit", "--no-fund", "--prefix", dir, "@bytecodealliance/wizer@" + wizerVersion}
	fmt.Fprintf(w, "installing wizer: npm %s\n", strings.Join(args, " "))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var out bytes.Buffer
	cmd := exec.Command("npm", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("installing wizer failed (%v); run: npm %s\n%s", err, strings.Join(args, " "), out.String())
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("npm installed wizer but %s is missing: %w", bin, err)
	}
	return bin, nil
}
