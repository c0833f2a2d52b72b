// Package starttrace is what wrun's start-up trace (WRUN_TRACE=1) shares
// between the command line and the warm server's client, which runs before
// the command line's packages initialize (internal/warmstart): the switch,
// the format of a step, and the process's time before main.
package starttrace

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Enabled reports whether the environment asks for a trace (WRUN_TRACE set,
// and not "0" or "false").
func Enabled() bool {
	v := os.Getenv("WRUN_TRACE")
	return v != "" && v != "0" && v != "false"
}

// Prefix starts every trace line.
const Prefix = "wrun trace: "

// Step formats one step of the trace: what ended, how long it took, and
// details in parentheses.
func Step(what string, d time.Duration, detail ...string) string {
	line := fmt.Sprintf("%-34s %8s", what, MS(d))
	if len(detail) > 0 {
		line += "  (" + strings.Join(detail, ", ") + ")"
	}
	return line
}

// MS formats d in milliseconds, to 10 µs.
func MS(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

// CPU is the user and system CPU time the process used so far.
func CPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// SinceStart is how long before now the process started, from its start
// time in /proc/self/stat (clock ticks since boot, 10 ms) and /proc/uptime.
func SinceStart(now time.Time) (time.Duration, bool) {
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

// Startup describes the time the process spent before now, for a trace
// line: its CPU time, which is exact (exec, the Go runtime, every package's
// init: single-threaded work), and as detail the wall-clock time since
// exec, which /proc/self/stat knows only in 10 ms ticks.
func Startup(now time.Time) (cpu time.Duration, detail string, ok bool) {
	cpu, err := CPU()
	if err != nil {
		return 0, "", false
	}
	detail = "CPU time; wall clock since exec unknown"
	if d, ok := SinceStart(now); ok {
		detail = fmt.Sprintf("CPU time; wall clock since exec %d ms ± 10 (/proc/self/stat ticks)", d.Milliseconds())
	}
	return cpu, detail, true
}
