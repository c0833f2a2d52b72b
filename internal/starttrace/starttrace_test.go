package starttrace

import (
	"strings"
	"testing"
	"time"
)

// The process has used some CPU by now, started before now, and Startup
// says what its figure is.
func TestStartup(t *testing.T) {
	cpu, err := CPU()
	if err != nil || cpu <= 0 {
		t.Fatalf("CPU() = %v, %v", cpu, err)
	}
	if d, ok := SinceStart(time.Now()); !ok || d < 0 {
		t.Errorf("SinceStart = %v, %v", d, ok)
	}
	got, detail, ok := Startup(time.Now())
	if !ok || got < cpu || !strings.HasPrefix(detail, "CPU time; wall clock since exec ") {
		t.Errorf("Startup = %v, %q, %v (CPU before: %v)", got, detail, ok, cpu)
	}
}
