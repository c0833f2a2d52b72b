package warm

import "syscall"

// limitedResources are the resource limits (ulimit) a run in process
// would be subject to, by name.
var limitedResources = map[string]int{
	"as":     syscall.RLIMIT_AS,
	"core":   syscall.RLIMIT_CORE,
	"cpu":    syscall.RLIMIT_CPU,
	"data":   syscall.RLIMIT_DATA,
	"fsize":  syscall.RLIMIT_FSIZE,
	"nofile": syscall.RLIMIT_NOFILE,
	"stack":  syscall.RLIMIT_STACK,
}

// Limits returns the process's soft resource limits, by name.
func Limits() map[string]uint64 {
	m := make(map[string]uint64, len(limitedResources))
	for name, r := range limitedResources {
		var l syscall.Rlimit
		if syscall.Getrlimit(r, &l) == nil {
			m[name] = l.Cur
		}
	}
	return m
}
