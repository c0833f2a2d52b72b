//go:build wasip1

// Command cwd prints its working directory (Go's wasip1 runtime starts in
// $PWD) and then the content of each file named on its command line,
// relative names resolved from there.
package main

import (
	"fmt"
	"os"
)

func main() {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Println("getwd:", err)
		os.Exit(1)
	}
	fmt.Println("cwd", wd)
	for _, name := range os.Args[1:] {
		b, err := os.ReadFile(name)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Printf("%s: %s", name, b)
	}
}
