// Package warmstart hands a wrun command to the warm server (internal/warm)
// from this package's init, before most of wrun's packages initialize.
//
// Go runs every linked package's init before main, whatever the command
// needs: for wrun that is the registry stack (oras-go's and go-digest's
// reference regexps, Masterminds/semver's constraint regexps, net/http,
// crypto/tls, TOML) and wazero, about 1.3 ms of a 6 ms start on the C
// hello. A command the warm server runs needs none of it. Go initializes
// packages in import-path order among those whose imports are done
// (the spec's "Package initialization"), so this package, which imports
// little, runs its init as soon as its own imports are ready, and a
// command it hands over exits before the rest initialize.
//
// If the order ever changes, nothing breaks: the hand-over is the same,
// only later. The cmd/wrun test TestWarmStartBeforeRegistryInit pins it.
//
// Only cmd/wrun imports this package; a command that is not
// eligible, or finds no server of this build, continues into main, which
// reads Notes and runs it in process without asking again.
package warmstart

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/wrun-dev/wrun/internal/home"
	"github.com/wrun-dev/wrun/internal/starttrace"
	"github.com/wrun-dev/wrun/internal/warm"
)

// ExitInterrupted is the exit code of a run interrupted by a signal, as a
// shell reports a SIGINT; cmd/wrun exits with it too.
const ExitInterrupted = 130

// InterruptGrace is how long the client waits, after Ctrl-C, for the
// server to end the run before it exits anyway; cmd/wrun waits as long in
// process. A second Ctrl-C exits at once.
const InterruptGrace = 3 * time.Second

// notes say why init did not hand the command over, for main's trace.
var notes []string

func init() {
	if code, ok := handOver(os.Args[1:]); ok {
		os.Exit(code)
	}
}

// Notes says why init did not hand this process's command to the warm
// server, when it looked for one (the command was eligible and
// WRUN_SERVER is not "off"); main then runs it in process, without asking
// the server again.
func Notes() []string { return notes }

// Eligible reports whether args is a command the warm server runs: `wrun
// run`, `wrun test` and `wrun REF` with a REF that cannot be a command name
// (it has a ':', '/' or '.').
func Eligible(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch a := args[0]; a {
	case "run", "test":
		return true
	default:
		return !strings.HasPrefix(a, "-") && strings.ContainsAny(a, ":/.")
	}
}

// Dir is the warm server's directory for the user's wrun state.
func Dir() (string, error) {
	dirs, err := home.Locate()
	if err != nil {
		return "", err
	}
	return warm.Dir(dirs.Data), nil
}

// handOver runs args on the warm server when one of this build answers.
// ok false means it did not start there.
func handOver(args []string) (code int, ok bool) {
	if !Eligible(args) || os.Getenv("WRUN_SERVER") == "off" {
		return 0, false
	}
	note := func(format string, a ...any) { notes = append(notes, fmt.Sprintf(format, a...)) }
	dir, err := Dir()
	if err != nil {
		note("warm server: not used: %v", err)
		return 0, false
	}
	if _, err := os.Stat(warm.SocketPath(dir)); err != nil {
		note("warm server: none (%s)", warm.SocketPath(dir))
		return 0, false
	}
	build, err := warm.BuildID()
	if err != nil {
		note("warm server: not used: %v", err)
		return 0, false
	}
	cwd, err := os.Open(".")
	if err != nil {
		note("warm server: not used: %v", err)
		return 0, false
	}
	defer cwd.Close()

	trace := starttrace.Enabled()
	start := time.Now()
	if trace {
		traceStart(start)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	cancel := make(chan struct{})
	started := make(chan struct{})
	defer close(started)
	go func() {
		select {
		case <-sigs:
		case <-started:
			return
		}
		close(cancel)
		select {
		case <-time.After(InterruptGrace):
		case <-sigs:
		}
		fmt.Fprintln(os.Stderr, "wrun: interrupted")
		os.Exit(ExitInterrupted)
	}()
	umask := syscall.Umask(0o022)
	syscall.Umask(umask)
	code, err = warm.Run(dir, build, warm.Request{Args: args, Env: os.Environ(), Umask: umask},
		[3]*os.File{os.Stdin, os.Stdout, os.Stderr}, cwd, cancel)
	switch {
	case errors.Is(err, warm.ErrFallback):
		signal.Stop(sigs)
		note("warm server: not used: %v", err)
		return 0, false
	case err != nil:
		fmt.Fprintf(os.Stderr, "wrun: %v\n", err)
		return 1, true
	}
	if trace {
		traceEnd(start)
	}
	return code, true
}

// traceStart writes the client's first trace line: what the process
// spent before the hand-over, before the server's own lines.
func traceStart(now time.Time) {
	line := "process start → hand-over: unknown"
	if cpu, detail, ok := starttrace.Startup(now); ok {
		line = starttrace.Step("process start → hand-over", cpu, detail, "before wrun's other packages initialize")
	}
	fmt.Fprintln(os.Stderr, starttrace.Prefix+line)
}

// traceEnd writes the client's last trace line.
func traceEnd(start time.Time) {
	fmt.Fprintln(os.Stderr, starttrace.Prefix+starttrace.Step("warm server: round trip", time.Since(start)))
}
