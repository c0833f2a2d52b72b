//go:build wasip1

// Command echo prints its arguments and environment, copies stdin to stdout,
// and exits with the code in ECHO_EXIT.
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
)

func main() {
	for i, a := range os.Args {
		fmt.Printf("arg[%d]=%s\n", i, a)
	}
	env := os.Environ()
	fmt.Printf("envc=%d\n", len(env))
	for _, e := range env {
		fmt.Printf("env %s\n", e)
	}
	if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "stdin:", err)
		os.Exit(1)
	}
	if c, err := strconv.Atoi(os.Getenv("ECHO_EXIT")); err == nil {
		os.Exit(c)
	}
}
