// Command wrun runs WebAssembly packages under wazero. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/wrun-dev/wrun/internal/starttrace"
	"github.com/wrun-dev/wrun/internal/warmstart"
)

// interruptGrace is how long main waits, after Ctrl-C, for the command to
// return exitInterrupted through its normal path before it exits anyway.
// A second Ctrl-C exits at once. (The warm server's client waits as long.)
const interruptGrace = warmstart.InterruptGrace

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	var t *tracer
	if starttrace.Enabled() {
		ctx, t = withTracer(ctx)
		traceGoInit(t)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "server" {
		g := &globalOptions{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
		signal.Stop(sigs)
		cmd := newServerCmd(g)
		cmd.SetArgs(args[1:])
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		if err := cmd.ExecuteContext(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "wrun: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// A warm server of this build, when one answered, ran the command
	// already, in warmstart's init; here it did not.
	for _, n := range warmstart.Notes() {
		traceNote(ctx, "%s", n)
	}
	go func() {
		<-sigs
		cancel()
		select {
		case <-time.After(interruptGrace):
		case <-sigs:
		}
		fmt.Fprintln(os.Stderr, "wrun: interrupted")
		os.Exit(exitInterrupted)
	}()
	oneShot = true
	code := execute(ctx, args, os.Stdin, os.Stdout, os.Stderr)
	t.print(os.Stderr, "in process, total")
	os.Exit(code)
}

// loadGCPercent is the garbage collector's GOGC while a one-shot run
// loads its program: what a load allocates (the module's bytes, wazero's
// decoding of them, tens of MiB for CPython) stays live until the run, so
// collecting as it grows costs CPU and finds nothing. The run itself gets
// the default back: a long-running guest's host calls do make garbage.
const loadGCPercent = 400

// oneShot is set when this process runs one command and exits (main's
// in-process path), never in the warm server, whose requests share a heap.
var oneShot bool

// relaxGCForLoad sets loadGCPercent in a one-shot process unless the user
// set GOGC, and returns the function that restores the setting.
func relaxGCForLoad() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); !oneShot || set {
		return func() {}
	}
	old := debug.SetGCPercent(loadGCPercent)
	return sync.OnceFunc(func() { debug.SetGCPercent(old) })
}
