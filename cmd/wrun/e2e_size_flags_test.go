package main

import "testing"

// TestRunSizeFlagsHuge feeds the size flags values past what an int64
// holds: they mean "as much as the host has", never a negative size (which
// the embedding API reads as "none").
func TestRunSizeFlagsHuge(t *testing.T) {
	c := newCLI(t)
	cat := guest(t, "c/cat")
	for _, size := range []string{"8EiB", "15EiB"} {
		c.run("run", "--tmp", size, cat, "--", "-w", "/tmp/x", "big\n", "/tmp/x").ok(t, "--tmp "+size, "big\n")
		c.run("run", "--overlay-size", size, "--tmp", "1MiB", cat, "--", "-w", "/tmp/x", "o\n", "/tmp/x").ok(t, "--overlay-size "+size, "o\n")
		c.run("run", "--max-memory", size, "--tmp", "1MiB", cat, "--", "-w", "/tmp/x", "m\n").ok(t, "--max-memory "+size, "")
	}
	c.run("run", "--max-memory", "32KiB", cat).wantError(t, `--max-memory "32KiB"`, "at least 64KiB")
}
