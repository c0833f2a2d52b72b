package preinit_test

import (
	"context"
	"fmt"
	"os"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/preinit"
)

// Pre-initialize a module whose wizer.initialize export sets its globals and
// memory: the output starts in that state, without the init export.
func ExamplePreinit() {
	wasm, err := os.ReadFile(testenv.GuestPath("wat/preglobal"))
	if err != nil {
		fmt.Println(err) // run `make testdata`
		return
	}
	out, rep, err := preinit.Preinit(context.Background(), wasm, preinit.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("globals rewritten:", rep.Globals)
	fmt.Println("memory:", rep.MemoryBytes, "bytes in", rep.Segments, "segments")
	fmt.Println("output is Wasm:", string(out[1:4]) == "asm")
	// Output:
	// globals rewritten: 6
	// memory: 65536 bytes in 2 segments
	// output is Wasm: true
}
