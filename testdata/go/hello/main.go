//go:build wasip1

// Command hello is the Go demo and benchmark guest.
package main

import (
	"fmt"
	"os"
)

func main() {
	who := "world"
	if len(os.Args) > 1 {
		who = os.Args[1]
	}
	fmt.Printf("hello, %s, from Go on wasip1\n", who)
}
