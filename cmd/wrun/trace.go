package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wrun-dev/wrun/internal/home"
	"github.com/wrun-dev/wrun/internal/starttrace"
)

// The start-up trace: WRUN_TRACE=1 prints, on stderr, where a wrun start
// spent its time. main starts it (withTracer, traceGoInit), the command's steps mark
// their ends (traceMark), and main or the warm server prints it
// (tracer.print). Every helper is a no-op without a tracer in the context.

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
	t.lines = append(t.lines, starttrace.Step(what, d, detail...))
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
		b.WriteString(starttrace.Prefix + l + "\n")
	}
	b.WriteString(starttrace.Prefix + starttrace.Step(total, time.Since(t.start)) + "\n")
	io.WriteString(w, b.String())
	t.lines = nil
}

// traceGoInit records what the process spent before main (exec, the Go
// runtime and every package's init): starttrace.Startup.
func traceGoInit(t *tracer) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if cpu, detail, ok := starttrace.Startup(t.start); ok {
		t.add("process start → main", cpu, []string{detail})
	} else {
		t.lines = append(t.lines, "process start → main: unknown")
	}
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
