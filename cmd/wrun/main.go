// Command wrun runs WebAssembly packages under wazero. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// interruptGrace is how long main waits, after Ctrl-C, for the command to
// return exitInterrupted through its normal path before it exits anyway.
// A second Ctrl-C exits at once.
const interruptGrace = 3 * time.Second

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
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
	os.Exit(execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
