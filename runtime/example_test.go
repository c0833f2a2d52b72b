package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/tetratelabs/wazero/sys"

	"github.com/wrun-dev/wrun/runtime"
)

// Embedding: compile a guest once, then run it with its own arguments and
// output. The guests are built from testdata by `make testdata`.
func Example() {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.NewConfig().WithInMemoryCache())
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close(ctx)

	prog, err := rt.CompileFile(ctx, "../.build/testdata/c/hello.wasm")
	if err != nil {
		log.Fatal(err)
	}
	for _, who := range []string{"Ada", "Grace"} {
		cfg := runtime.NewRunConfig().WithArgs(who).WithStdout(os.Stdout)
		if err := prog.Run(ctx, cfg); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// hello, Ada, from C on wasm32-wasi
	// hello, Grace, from C on wasm32-wasi
}

// The guest's exit code comes back as a *sys.ExitError; only a command-line
// front end turns it into a process exit code.
func ExampleProgram_Run_exitCode() {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.NewConfig().WithInMemoryCache())
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close(ctx)

	prog, err := rt.CompileFile(ctx, "../.build/testdata/c/exit.wasm")
	if err != nil {
		log.Fatal(err)
	}
	err = prog.Run(ctx, runtime.NewRunConfig().WithArgs("3"))
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		fmt.Println("exit code", exit.ExitCode())
	}
	// Output:
	// exit code 3
}
