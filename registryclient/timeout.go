package registryclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Default network timeouts (Timeouts, config.toml [network], --connect-timeout,
// --response-timeout, --stall-timeout).
const (
	DefaultConnectTimeout  = 10 * time.Second
	DefaultResponseTimeout = 30 * time.Second
	DefaultStallTimeout    = 30 * time.Second
)

// Timeouts bound every exchange with a remote registry. A zero field takes
// config.toml's [network] value, then the default.
type Timeouts struct {
	// Connect bounds opening a connection (TCP and TLS). Default 10s.
	Connect time.Duration
	// Response bounds the wait for a response's headers once the request
	// is sent. Default 30s.
	Response time.Duration
	// Stall fails a transfer, upload or download, that moves less than
	// MinProgress bytes (and does not finish) in this long: a registry that
	// trickles a byte every few seconds is cut, a slow transfer that keeps
	// moving is not. Default 30s.
	Stall time.Duration
}

// or fills t's zero fields from o.
func (t Timeouts) or(o Timeouts) Timeouts {
	if t.Connect <= 0 {
		t.Connect = o.Connect
	}
	if t.Response <= 0 {
		t.Response = o.Response
	}
	if t.Stall <= 0 {
		t.Stall = o.Stall
	}
	return t
}

// MinProgress is the least a transfer must move per Stall period.
const MinProgress = 1024

var defaultTimeouts = Timeouts{Connect: DefaultConnectTimeout, Response: DefaultResponseTimeout, Stall: DefaultStallTimeout}

// timeoutError is a registry that took too long: which registry, at what
// step, after how long, and which setting raises the limit.
type timeoutError struct {
	host    string
	what    string // "connecting", "waiting for response headers", …
	d       time.Duration
	setting string
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("registry %s timed out %s (limit %s; raise %s if it is just slow)", e.host, e.what, e.d, e.setting)
}

func (e *timeoutError) Is(target error) bool { return target == ErrTimeout }

// Timeout reports true, as net.Error does.
func (e *timeoutError) Timeout() bool { return true }

// newBaseTransport is http.DefaultTransport with the connect timeout.
func newBaseTransport(connect time.Duration) http.RoundTripper {
	dt, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	tr := dt.Clone()
	tr.DialContext = (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = connect
	return tr
}

// watchdog cancels one request when its current step makes no progress
// within that step's limit.
type watchdog struct {
	mu     sync.Mutex
	timer  *time.Timer
	err    *timeoutError
	moved  int64 // bytes since the clock last restarted
	cancel context.CancelCauseFunc
}

// arm (re)starts the clock for a step.
func (w *watchdog) arm(host, what, setting string, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.err = &timeoutError{host: host, what: what, d: d, setting: setting}
	w.moved = 0
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.expire)
	} else {
		w.timer.Reset(d)
	}
}

// kick records n bytes moved in the current step; every MinProgress bytes
// restart the clock.
func (w *watchdog) kick(n int) {
	w.mu.Lock()
	w.moved += int64(n)
	if w.timer != nil && w.moved >= MinProgress {
		w.moved = 0
		w.timer.Reset(w.err.d)
	}
	w.mu.Unlock()
}

func (w *watchdog) stop() {
	w.mu.Lock()
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
}

func (w *watchdog) expire() {
	w.mu.Lock()
	err := w.err
	w.mu.Unlock()
	w.cancel(err)
}

// timedOut returns the timeout that canceled ctx, if any.
func timedOut(ctx context.Context) (*timeoutError, bool) {
	var te *timeoutError
	if errors.As(context.Cause(ctx), &te) {
		return te, true
	}
	return nil, false
}

// watchedBody is a request or response body whose reads are progress.
type watchedBody struct {
	rc    io.ReadCloser
	ctx   context.Context
	w     *watchdog
	onEOF func()
	done  func()
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.w.kick(n)
	}
	if err != nil {
		if te, ok := timedOut(b.ctx); ok && err != io.EOF {
			return n, te
		}
		if err == io.EOF && b.onEOF != nil {
			b.onEOF()
			b.onEOF = nil
		}
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.rc.Close()
	if b.done != nil {
		b.done()
		b.done = nil
	}
	return err
}

// roundTrip runs one request under the watchdog: the upload must keep
// moving (Stall), the response headers must come (Response), the download
// must keep moving (Stall). Connect is the dialer's.
func (t *transport) roundTrip(req *http.Request) (*http.Response, error) {
	to := t.timeouts
	host := req.URL.Host
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watchdog{cancel: cancel}
	waitHeaders := func() {
		w.arm(host, "waiting for response headers", "--response-timeout or [network] response_timeout", to.Response)
	}
	req = req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		w.arm(host, "sending the request (upload stalled)", "--stall-timeout or [network] stall_timeout", to.Stall)
		req.Body = &watchedBody{rc: req.Body, ctx: ctx, w: w, onEOF: waitHeaders}
	} else {
		waitHeaders()
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		w.stop()
		if te, ok := timedOut(ctx); ok {
			cancel(nil)
			return nil, te
		}
		cancel(nil)
		var ne net.Error
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" && errors.As(err, &ne) && ne.Timeout() {
			return nil, &timeoutError{host: host, what: "connecting", d: to.Connect, setting: "--connect-timeout or [network] connect_timeout"}
		}
		return nil, err
	}
	w.arm(host, "sending the response (download stalled)", "--stall-timeout or [network] stall_timeout", to.Stall)
	resp.Body = &watchedBody{rc: resp.Body, ctx: ctx, w: w, done: func() { w.stop(); cancel(nil) }}
	return resp, nil
}
