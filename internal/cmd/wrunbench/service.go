package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wrun-dev/wrun"
)

// The service benchmark's load: serviceWorkers clients post serviceBody to
// one handler for serviceRound, serviceRounds times per configuration,
// alternating wrun and raw wazero round by round.
const (
	serviceWorkers = 16
	serviceRound   = 1500 * time.Millisecond
	serviceRounds  = 4
	serviceWarmup  = 300 * time.Millisecond
)

// serviceBody is what each request posts: 1 KiB, copied to the response by
// the guest.
var serviceBody = bytes.Repeat([]byte("0123456789abcdef"), 64)

// serviceBench is issue 11's per-request service benchmark: an HTTP server
// on 127.0.0.1, in this process, runs a guest per request with the request
// body as stdin and the response as stdout, and 16 concurrent clients post
// to it. The guest is compiled once; each request instantiates it with the
// request's context. wrun (wrun.New, Compile, Program.Run) is compared
// with raw wazero doing the same (CompileModule, InstantiateModule with a
// ModuleConfig), with cancellation (close on context done) off and on.
//
// CPU per request is this process's user+system time over the requests,
// so it includes the clients and net/http, the same for both sides. Peak
// RSS is VmHWM, reset between configurations through /proc/self/clear_refs
// when the kernel allows it (else it only grows, and the table says so).
// The goal is wrun ≥ 0.95× raw wazero's requests/s with the same setting;
// on a shared machine the CPU-per-request ratio is the steadier figure.
func (o *options) serviceBench(w io.Writer) error {
	ctx := context.Background()
	resettable := resetPeakRSS() == nil
	fmt.Fprintf(w, "== service: HTTP on 127.0.0.1, a guest per request (body as stdin, response as stdout), %d workers, %d × %v per configuration, wrun and raw wazero interleaved\n",
		serviceWorkers, serviceRounds, serviceRound)
	if !resettable {
		fmt.Fprintln(w, "   (peak RSS cannot be reset here: it is the process's peak so far)")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "guest\tcancel\trunner\treq/s\tp50\tp99\tCPU/req\tpeak RSS\twrun/raw req/s\twrun/raw CPU/req\t")
	for _, guest := range []string{"c/echo", "go/echo"} {
		wasm, err := os.ReadFile(filepath.Join(o.testdata, guest+".wasm"))
		if err != nil {
			return err
		}
		for _, cancel := range []bool{false, true} {
			runners := []*serviceRunner{
				{name: "wrun", newHandler: wrunService},
				{name: "raw wazero", newHandler: wazeroService},
			}
			for _, r := range runners {
				if err := r.start(ctx, guest, wasm, cancel); err != nil {
					return err
				}
				defer r.stop(ctx)
			}
			for round := range serviceRounds {
				for _, r := range runners {
					if round == 0 {
						if _, err := serviceLoad(r.url, serviceWarmup); err != nil {
							return fmt.Errorf("%s %s: %w", r.name, guest, err)
						}
					}
					debug.FreeOSMemory()
					resetPeakRSS()
					res, err := serviceLoad(r.url, serviceRound)
					if err != nil {
						return fmt.Errorf("%s %s: %w", r.name, guest, err)
					}
					r.add(res, peakRSS())
				}
			}
			for _, r := range runners {
				r.stop(ctx)
			}
			onOff := map[bool]string{false: "off", true: "on"}[cancel]
			for _, r := range runners {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%s\t%s\t%s\t%.0f MiB\t", guest, onOff, r.name,
					r.rate(), ms(r.quantile(0.50)), ms(r.quantile(0.99)), us(r.cpuPerRequest()), float64(r.peak)/(1<<20))
				if r == runners[0] {
					fmt.Fprintf(tw, "%.3fx\t%.3fx\t\n", r.rate()/runners[1].rate(), ratio(r.cpuPerRequest(), runners[1].cpuPerRequest()))
				} else {
					fmt.Fprintln(tw, "\t\t")
				}
			}
		}
	}
	return tw.Flush()
}

// A serviceRunner is one side of a comparison: its server and the figures
// of its rounds.
type serviceRunner struct {
	name       string
	newHandler func(ctx context.Context, guest string, wasm []byte, cancel bool) (http.Handler, func(context.Context), error)

	url     string
	srv     *http.Server
	release func(context.Context)

	requests  int
	elapsed   time.Duration
	cpu       time.Duration
	latencies []time.Duration
	peak      uint64
}

func (r *serviceRunner) start(ctx context.Context, guest string, wasm []byte, cancel bool) error {
	h, release, err := r.newHandler(ctx, guest, wasm, cancel)
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.name, guest, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		release(ctx)
		return err
	}
	r.url = "http://" + ln.Addr().String() + "/"
	r.srv = &http.Server{Handler: h}
	r.release = release
	go r.srv.Serve(ln)
	return nil
}

func (r *serviceRunner) stop(ctx context.Context) {
	if r.srv == nil {
		return
	}
	r.srv.Shutdown(ctx)
	r.release(ctx)
	r.srv = nil
}

func (r *serviceRunner) add(res serviceResult, peak uint64) {
	r.requests += len(res.latencies)
	r.elapsed += res.elapsed
	r.cpu += res.cpu
	r.latencies = append(r.latencies, res.latencies...)
	r.peak = max(r.peak, peak)
}

func (r *serviceRunner) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r *serviceRunner) cpuPerRequest() time.Duration {
	return r.cpu / time.Duration(max(r.requests, 1))
}

func (r *serviceRunner) quantile(q float64) time.Duration {
	slices.Sort(r.latencies)
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(int(q*float64(len(r.latencies))), len(r.latencies)-1)]
}

// guestOutput is what c/echo and go/echo print with argv[0] "echo", no
// environment and body on stdin.
func guestOutput(body []byte) []byte {
	return append([]byte("arg[0]=echo\nenvc=0\n"), body...)
}

// wrunService is the handler an embedder writes with wrun's API: one
// Runtime, the guest compiled once, Program.Run per request with the
// request's context, body and response writer.
func wrunService(ctx context.Context, guest string, wasm []byte, cancel bool) (http.Handler, func(context.Context), error) {
	rt, err := wrun.New(ctx, wrunServiceConfig(cancel))
	if err != nil {
		return nil, nil, err
	}
	prog, err := rt.Compile(ctx, "echo", wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, nil, err
	}
	base := wrunServiceRunConfig(wrun.NewRunConfig(), cancel)
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := prog.Run(req.Context(), base.WithStdin(req.Body).WithStdout(w)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return h, func(ctx context.Context) { rt.Close(ctx) }, nil
}

// wrunServiceConfig and wrunServiceRunConfig are where the benchmark
// chooses cancellation for wrun: today on the Runtime's Config (a per-run
// option would go in wrunServiceRunConfig).
func wrunServiceConfig(cancel bool) wrun.Config {
	return wrun.NewConfig().WithInMemoryCache().WithCloseOnContextDone(cancel)
}

func wrunServiceRunConfig(c wrun.RunConfig, cancel bool) wrun.RunConfig {
	return c.WithCancellation(cancel)
}

// wazeroService is the same handler written against wazero directly.
func wazeroService(ctx context.Context, guest string, wasm []byte, cancel bool) (http.Handler, func(context.Context), error) {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(cancel))
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, nil, err
	}
	base := wazero.NewModuleConfig().WithName("").WithArgs("echo").
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(rand.Reader)
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mod, err := rt.InstantiateModule(req.Context(), cm, base.WithStdin(req.Body).WithStdout(w))
		if mod != nil {
			mod.Close(context.WithoutCancel(req.Context()))
		}
		if exit := (*sys.ExitError)(nil); errors.As(err, &exit) && exit.ExitCode() == 0 {
			err = nil
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return h, func(ctx context.Context) { rt.Close(ctx) }, nil
}

// serviceResult is one round of load.
type serviceResult struct {
	latencies []time.Duration
	elapsed   time.Duration
	cpu       time.Duration // the process's user+system time
}

// serviceLoad posts serviceBody to url from serviceWorkers goroutines
// until d has passed, checking every response.
func serviceLoad(url string, d time.Duration) (serviceResult, error) {
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: serviceWorkers,
		DisableCompression:  true,
	}}
	defer client.CloseIdleConnections()
	want := guestOutput(serviceBody)
	var (
		mu     sync.Mutex
		res    serviceResult
		errs   []error
		wg     sync.WaitGroup
		cpu0   = processCPU()
		start  = time.Now()
		finish = start.Add(d)
	)
	for range serviceWorkers {
		wg.Go(func() {
			var lat []time.Duration
			defer func() {
				mu.Lock()
				res.latencies = append(res.latencies, lat...)
				mu.Unlock()
			}()
			for time.Now().Before(finish) {
				t := time.Now()
				resp, err := client.Post(url, "application/octet-stream", bytes.NewReader(serviceBody))
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && (resp.StatusCode != http.StatusOK || !bytes.Equal(got, want)) {
					err = fmt.Errorf("status %d, body %q, want %q", resp.StatusCode, truncate(got), truncate(want))
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				lat = append(lat, time.Since(t))
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.cpu = processCPU() - cpu0
	return res, errors.Join(errs...)
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

// processCPU is the user+system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS resets VmHWM to the current RSS (Linux 4.0+).
func resetPeakRSS() error {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS is VmHWM in bytes, 0 where /proc/self/status has none.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }
