// Package proctime tells how long the running process has existed and how
// much CPU it has used, for wrun's start-up trace (WRUN_TRACE).
package proctime

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

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
