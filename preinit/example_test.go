package preinit_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/preinit"
)

// Pre-initialize a module whose wizer.initialize export sets its globals and
// memory: the output starts in that state, without the init export.
func ExamplePreinit() {
	wasm, err := os.ReadFile(filepath.Join(testenv.Build(), "testdata", "wat", "preglobal.wasm"))
	if err != nil {
		log.Fatal(err) // run `make testdata`
	}
	out, rep, err := preinit.Preinit(context.Background(), wasm, preinit.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("globals rewritten:", rep.Globals)
	fmt.Println("memory:", rep.MemoryBytes, "bytes in", rep.Segments, "segments")
	fmt.Println("output is Wasm:", string(out[1:4]) == "asm")
	// Output:
	// globals rewritten: 6
	// memory: 65536 bytes in 2 segments
	// output is Wasm: true
}
