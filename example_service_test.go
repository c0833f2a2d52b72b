package wrun_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// A service compiles its guest once and runs it per request: the request
// body is the guest's stdin and the request's context bounds the run, so a
// client that goes away (or a server that shuts down) stops its guest,
// even one that loops, within milliseconds. One RunConfig is shared by
// every request; each run adds its own streams to a copy, and gets its own
// fresh /tmp.
func Example_httpHandler() {
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close(ctx)
	echo, err := rt.CompileFile(ctx, testenv.GuestPath("c/echo"))
	if err != nil {
		fmt.Println(err)
		return
	}
	loop, err := rt.CompileFile(ctx, testenv.GuestPath("wat/loop")) // never returns
	if err != nil {
		fmt.Println(err)
		return
	}
	shared := wrun.NewRunConfig().WithArgs("per-request").WithScratch(1 << 20)

	stopped := make(chan error, 1)
	handler := func(w http.ResponseWriter, req *http.Request) {
		prog := echo
		if req.URL.Path == "/loop" {
			prog = loop
		}
		// The request's context ends when the client goes away (net/http
		// notices once the body has been read, or at once without one); a
		// deadline bounds the run in any case.
		ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
		defer cancel()
		var out bytes.Buffer
		err := prog.Run(ctx, shared.WithStdin(req.Body).WithStdout(&out))
		switch {
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			stopped <- err // the client is gone: nobody reads an answer
			return
		case err != nil:
			http.Error(w, "the program failed", http.StatusInternalServerError)
			log.Print(err)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(out.Bytes())
	}
	srv := httptest.NewServer(http.HandlerFunc(handler))
	defer srv.Close()

	for _, body := range []string{"first request\n", "second request\n"} {
		resp, err := http.Post(srv.URL, "text/plain", strings.NewReader(body))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(resp.Status)
		io.Copy(os.Stdout, resp.Body)
		resp.Body.Close()
	}

	// A client that gives up stops the guest serving it.
	reqCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(reqCtx, "GET", srv.URL+"/loop", nil)
	if _, err := http.DefaultClient.Do(req); errors.Is(err, context.DeadlineExceeded) {
		fmt.Println("client: gave up")
	}
	fmt.Println("handler:", errors.Is(<-stopped, context.Canceled))
	// Output:
	// 200 OK
	// arg[0]=echo.wasm
	// arg[1]=per-request
	// envc=0
	// first request
	// 200 OK
	// arg[0]=echo.wasm
	// arg[1]=per-request
	// envc=0
	// second request
	// client: gave up
	// handler: true
}
