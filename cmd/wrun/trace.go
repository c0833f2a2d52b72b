package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wrun-dev/wrun/internal/home"
)

// The start-up trace: WRUN_TRACE=1 prints, on stderr, where a wrun start
// spent its time. main starts it (withTracer, traceGoInit), the command's steps mark
// their ends (traceMark), and main or the warm server prints it
// (tracer.print). Every helper is a no-op without a tracer in the context.

// traceEnabled reports whether env (a WRUN_TRACE value) asks for a trace.
func traceEnabled(v string) bool { return v != "" && v != "0" && v != "false" }

// tracer collects the steps of one invocation.
type tracer struct {
	mu    sync.Mutex
	start time.Time // when the step clock started: main, or the server's request
	last  time.Time
	lines []string
}

type tracerKey struct{}

// withTracer returns ctx carrying a new tracer whose clock starts now.
func withTracer(ctx context.Context) (context.Context, *tracer) {
	now := time.Now()
	t := &tracer{start: now, last: now}
	return context.WithValue(ctx, tracerKey{}, t), t
}

// traceOf returns ctx's tracer, or nil.
func traceOf(ctx context.Context) *tracer {
	t, _ := ctx.Value(tracerKey{}).(*tracer)
	return t
}

// traceMark ends a step named what: its time is the time since the last
// mark. detail, when given, follows it (e.g. "reused", "cache hit").
func traceMark(ctx context.Context, what string, detail ...string) {
	t := traceOf(ctx)
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	t.add(what, now.Sub(t.last), detail)
	t.last = now
}

// traceNote records a line without a duration.
func traceNote(ctx context.Context, format string, args ...any) {
	if t := traceOf(ctx); t != nil {
		t.mu.Lock()
		t.lines = append(t.lines, fmt.Sprintf(format, args...))
		t.mu.Unlock()
	}
}

func (t *tracer) add(what string, d time.Duration, detail []string) {
	line := fmt.Sprintf("%-34s %8s", what, msStr(d))
	if len(detail) > 0 {
		line += "  (" + strings.Join(detail, ", ") + ")"
	}
	t.lines = append(t.lines, line)
}

// print writes the trace, with the total since the clock started.
func (t *tracer) print(w io.Writer, total string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, l := range t.lines {
		b.WriteString("wrun trace: " + l + "\n")
	}
	fmt.Fprintf(&b, "wrun trace: %-34s %8s\n", total, msStr(time.Since(t.start)))
	io.WriteString(w, b.String())
	t.lines = nil
}

func msStr(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

// traceGoInit records the time from the process's start to main (exec,
// the dynamic loader if any, the Go runtime and every package's init) from
// /proc/self/stat, whose start time is in clock ticks (10 ms here), and
// the CPU time the process used before main, which is exact.
func traceGoInit(t *tracer) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var detail []string
	if ru, err := cpuTime(); err == nil {
		detail = append(detail, "CPU "+msStr(ru))
	}
	if d, ok := sinceProcessStart(t.start); ok {
		t.add("process start → main", d, append(detail, "±10ms: /proc/self/stat ticks"))
	} else {
		t.lines = append(t.lines, "process start → main: unknown ("+strings.Join(detail, ", ")+")")
	}
}

// cpuTime is the user and system CPU time the process used so far.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// sinceProcessStart is how long before now the process started, from its
// start time in /proc/self/stat (ticks since boot) and /proc/uptime.
func sinceProcessStart(now time.Time) (time.Duration, bool) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	up, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, false
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	const startField = 22 - 3 // field 22, counted from field 3
	if len(f) <= startField {
		return 0, false
	}
	ticks, err1 := strconv.ParseFloat(f[startField], 64)
	uptime, err2 := strconv.ParseFloat(strings.Fields(string(up))[0], 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const clkTck = 100 // USER_HZ on every Linux architecture Go supports
	d := time.Duration((uptime - ticks/clkTck) * float64(time.Second))
	d -= time.Since(now) // uptime was read a little after now
	return max(d, 0), true
}

// traceCompileProbe returns, when ctx traces, a function that tells after a
// compile or load whether it wrote to the compilation cache ("compile
// cache: miss") or not (a hit, or a program the Runtime kept in memory);
// without a trace, a function that returns "".
func traceCompileProbe(ctx context.Context) func() string {
	if traceOf(ctx) == nil {
		return func() string { return "" }
	}
	before := compiledEntries()
	return func() string {
		if compiledEntries() != before {
			return "compile cache: miss, compiled"
		}
		return "compile cache: hit or kept in memory"
	}
}

// compiledEntries counts the files in the compilation cache directory.
func compiledEntries() int {
	dirs, err := home.Locate()
	if err != nil {
		return -1
	}
	n := 0
	filepath.WalkDir(dirs.Compiled(), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}
