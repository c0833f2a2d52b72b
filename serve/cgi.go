package serve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/sys"

	"github.com/wrun-dev/wrun"
)

// AssetHeader is the CGI response header that hands the host a guest path
// of the package's read-only assets to send: the program returns a handle,
// not the bytes.
const AssetHeader = "X-Wrun-Asset"

// serveCGI answers a request with one run of the program: the request's
// meta-variables in its environment (RFC 3875 section 4.1), its body on
// stdin, and a CGI response on stdout (section 6). pathInfo is the request
// path below the route's prefix.
func (s *Server) serveCGI(w http.ResponseWriter, r *http.Request, rt *route, pathInfo string, depth int) {
	if r.ContentLength > s.opts.MaxBodyBytes {
		s.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Errorf("request body of %d bytes is over the %d-byte limit", r.ContentLength, s.opts.MaxBodyBytes))
		return
	}
	ctx := r.Context()
	if s.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.Timeout)
		defer cancel()
	}
	release, err := s.acquire(ctx)
	if err != nil {
		w.Header().Set("Retry-After", "1")
		s.fail(w, r, http.StatusServiceUnavailable, fmt.Errorf("no handler slot: %w", err))
		return
	}
	// The body is read once a slot is taken, by the request's deadline: a
	// queued request holds a connection, not its body in memory, and a
	// slow upload holds its slot no longer than a run may.
	var body []byte
	if r.Body != nil {
		var err error
		if d, ok := ctx.Deadline(); ok {
			rc := http.NewResponseController(w)
			rc.SetReadDeadline(d)
			body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
			if err == nil { // else the server must not wait for the rest of the body
				rc.SetReadDeadline(time.Time{})
			}
		} else {
			body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
		}
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			release()
			s.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Errorf("request body over the %d-byte limit", s.opts.MaxBodyBytes))
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			release()
			w.Header().Set("Connection", "close")
			s.fail(w, r, http.StatusRequestTimeout, fmt.Errorf("the request body did not arrive within the %s timeout", s.opts.Timeout))
			return
		case err != nil:
			release()
			s.fail(w, r, http.StatusBadRequest, fmt.Errorf("reading the request body: %w", err))
			return
		}
	}

	out := &cappedBuffer{max: s.opts.MaxResponseBytes}
	errTail := &tailBuffer{max: 2048}
	rc := s.base.WithStdin(bytes.NewReader(body)).WithStdout(out).WithStderr(errTail)
	for _, kv := range s.cgiEnv(r, rt, pathInfo, len(body)) {
		rc = rc.WithEnv(kv[0], kv[1])
	}
	err = s.run(ctx, rc)
	release()

	switch {
	case err == nil && out.over:
		err = fmt.Errorf("the handler wrote more than %d bytes", s.opts.MaxResponseBytes)
		fallthrough
	case err != nil:
		status := http.StatusBadGateway
		if errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil {
			status = http.StatusGatewayTimeout
			err = fmt.Errorf("the handler ran past its %s timeout: %w", s.opts.Timeout, err)
		}
		s.fail(w, r, status, guestError(err, errTail))
		return
	}
	s.respond(w, r, out.Bytes(), depth)
}

// guestError is a failed run's error for the log, with the end of its stderr.
func guestError(err error, stderr *tailBuffer) error {
	var exit *sys.ExitError
	var trap *wrun.TrapError
	switch {
	case errors.As(err, &exit):
		err = fmt.Errorf("the handler exited with code %d", exit.ExitCode())
	case errors.As(err, &trap):
		err = fmt.Errorf("the handler trapped: %s", trap.Message)
	}
	if tail := strings.TrimSpace(stderr.String()); tail != "" {
		err = fmt.Errorf("%w; its stderr ends: %s", err, tail)
	}
	return err
}

// respond turns a CGI response into the HTTP response.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, out []byte, depth int) {
	hdr, body, err := parseCGI(out, s.opts.MaxHeaderBytes)
	if err != nil {
		s.fail(w, r, http.StatusBadGateway, err)
		return
	}
	status := http.StatusOK
	if st := hdr.Get("Status"); st != "" {
		code, _, _ := strings.Cut(strings.TrimSpace(st), " ")
		n, err := strconv.Atoi(code)
		if err != nil || len(code) != 3 || n < 200 || n > 599 {
			s.fail(w, r, http.StatusBadGateway, fmt.Errorf("the handler's Status header %q is not a status code from 200 to 599", st))
			return
		}
		status = n
	}
	loc := hdr.Get("Location")
	if asset := hdr.Get(AssetHeader); asset != "" {
		s.sendAsset(w, r, hdr, asset)
		return
	}
	if strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") && hdr.Get("Status") == "" && len(body) == 0 {
		s.localRedirect(w, r, loc, depth)
		return
	}
	if loc != "" && hdr.Get("Status") == "" {
		status = http.StatusFound
	}
	h := w.Header()
	for k, vs := range hdr {
		if k == "Status" || hopByHop[k] {
			continue
		}
		h[k] = vs
	}
	if len(body) > 0 && h.Get("Content-Type") == "" {
		h.Set("Content-Type", http.DetectContentType(body))
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// hopByHop are headers of one connection, never a CGI program's to set.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Content-Length": true,
}

// sendAsset answers with a file of the package's read-only asset layers
// that the program named with X-Wrun-Asset. Its Content-Type, when given,
// wins; Cache-Control and other headers it sets are kept.
func (s *Server) sendAsset(w http.ResponseWriter, r *http.Request, hdr textproto.MIMEHeader, guest string) {
	if !strings.HasPrefix(guest, "/") || path.Clean(guest) != guest || strings.ContainsRune(guest, 0) {
		s.fail(w, r, http.StatusBadGateway, fmt.Errorf("the handler's %s %q is not a clean absolute guest path", AssetHeader, guest))
		return
	}
	f, _ := s.assets.lookup(guest)
	if f == nil {
		s.fail(w, r, http.StatusBadGateway, fmt.Errorf("the handler's %s %q names no file of the package's assets", AssetHeader, guest))
		return
	}
	h := w.Header()
	for k, vs := range hdr {
		if k == "Status" || k == AssetHeader || k == "Location" || hopByHop[k] {
			continue
		}
		h[k] = vs
	}
	s.serveAsset(w, r, f, path.Base(guest), h.Get("Cache-Control"))
}

// localRedirect serves loc as if it had been requested, with GET: RFC 3875
// section 6.2.2.
func (s *Server) localRedirect(w http.ResponseWriter, r *http.Request, loc string, depth int) {
	if depth+1 >= maxLocalRedirects {
		s.fail(w, r, http.StatusBadGateway, fmt.Errorf("more than %d local redirects", maxLocalRedirects-1))
		return
	}
	u, err := url.ParseRequestURI(loc)
	if err != nil {
		s.fail(w, r, http.StatusBadGateway, fmt.Errorf("the handler's Location %q: %w", loc, err))
		return
	}
	r2 := r.Clone(r.Context())
	r2.Method = http.MethodGet
	r2.URL = u
	r2.RequestURI = loc
	r2.Body = http.NoBody
	r2.ContentLength = 0
	r2.Header.Del("Content-Type")
	r2.Header.Del("Content-Length")
	s.dispatch(w, r2, depth+1)
}

// parseCGI splits a CGI response into its header fields and body. The
// header block ends at the first empty line and holds at most max bytes.
func parseCGI(out []byte, max int) (textproto.MIMEHeader, []byte, error) {
	end, sep := -1, 0
	for i := 0; i < len(out) && i <= max; i++ {
		if out[i] != '\n' {
			continue
		}
		if i == 0 {
			return nil, nil, errors.New("the handler's response starts with an empty line: it has no header fields (want e.g. Content-Type: text/html)")
		}
		if i+1 < len(out) && out[i+1] == '\n' {
			end, sep = i+1, 1
			break
		}
		if i+2 < len(out) && out[i+1] == '\r' && out[i+2] == '\n' {
			end, sep = i+1, 2
			break
		}
		if i+1 == len(out) { // headers only, no blank line: no body
			end, sep = len(out), 0
			break
		}
	}
	switch {
	case end < 0 && len(out) > max:
		return nil, nil, fmt.Errorf("the handler's response header block is over %d bytes", max)
	case end < 0 && len(out) == 0:
		return nil, nil, errors.New("the handler wrote no response on stdout")
	case end < 0:
		return nil, nil, errors.New("the handler's response has no empty line after its header fields")
	}
	block := append(bytes.ReplaceAll(out[:end], []byte("\r\n"), []byte("\n")), '\n')
	hdr, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(block))).ReadMIMEHeader()
	if err != nil {
		return nil, nil, fmt.Errorf("the handler's response header fields: %w", err)
	}
	if len(hdr) == 0 {
		return nil, nil, errors.New("the handler's response has no header fields")
	}
	if hdr.Get("Content-Type") == "" && hdr.Get("Location") == "" && hdr.Get("Status") == "" && hdr.Get(AssetHeader) == "" {
		return nil, nil, errors.New("the handler's response has none of Content-Type, Location, Status or " + AssetHeader)
	}
	return hdr, out[min(end+sep, len(out)):], nil
}

// cgiEnv is the request's meta-variables (RFC 3875 section 4.1), with the
// HTTP_* variables of its header fields.
func (s *Server) cgiEnv(r *http.Request, rt *route, pathInfo string, bodyLen int) [][2]string {
	env := [][2]string{
		{"GATEWAY_INTERFACE", "CGI/1.1"},
		{"SERVER_SOFTWARE", "wrun"},
		{"SERVER_PROTOCOL", r.Proto},
		{"REQUEST_METHOD", r.Method},
		{"SCRIPT_NAME", rt.prefix},
		{"PATH_INFO", pathInfo},
		{"QUERY_STRING", r.URL.RawQuery},
		{"REQUEST_URI", r.URL.RequestURI()},
	}
	host, port := r.Host, ""
	if h, p, err := net.SplitHostPort(r.Host); err == nil {
		host, port = h, p
	}
	if port == "" {
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			if _, p, err := net.SplitHostPort(a.String()); err == nil {
				port = p
			}
		}
	}
	if port == "" {
		port = "80"
	}
	env = append(env, [2]string{"SERVER_NAME", host}, [2]string{"SERVER_PORT", port})
	if ra, rp, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		env = append(env, [2]string{"REMOTE_ADDR", ra}, [2]string{"REMOTE_PORT", rp})
	} else {
		env = append(env, [2]string{"REMOTE_ADDR", r.RemoteAddr})
	}
	if r.TLS != nil {
		env = append(env, [2]string{"HTTPS", "on"})
	}
	if bodyLen > 0 || r.ContentLength >= 0 && r.Method != http.MethodGet && r.Method != http.MethodHead {
		env = append(env, [2]string{"CONTENT_LENGTH", strconv.Itoa(bodyLen)})
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		env = append(env, [2]string{"CONTENT_TYPE", ct})
	}
	if r.Host != "" {
		env = append(env, [2]string{"HTTP_HOST", r.Host})
	}
	for k, vs := range r.Header {
		name, ok := headerVar(k)
		if !ok {
			continue
		}
		sep := ", "
		if k == "Cookie" {
			sep = "; "
		}
		env = append(env, [2]string{name, strings.Join(vs, sep)})
	}
	return env
}

// headerVar is the meta-variable of a request header field, HTTP_ and its
// name upper-cased with "-" as "_"; ok is false for the fields that have
// variables of their own (Content-Type, Content-Length, Host), for Proxy
// (httpoxy: HTTP_PROXY would be taken for a proxy setting), and for names
// with "_" or other characters than letters, digits and "-" (two fields
// would map to one variable).
func headerVar(k string) (string, bool) {
	switch textproto.CanonicalMIMEHeaderKey(k) {
	case "Content-Type", "Content-Length", "Host", "Proxy":
		return "", false
	}
	var b strings.Builder
	b.WriteString("HTTP_")
	for _, c := range k {
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteRune(c - 'a' + 'A')
		case c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == '-':
			b.WriteByte('_')
		default:
			return "", false
		}
	}
	return b.String(), true
}

// cappedBuffer keeps up to max bytes; past that, writes fail.
type cappedBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	max  int64
	over bool
}

func (c *cappedBuffer) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int64(c.buf.Len()+len(b)) > c.max {
		c.over = true
		return 0, errors.New("response too large")
	}
	return c.buf.Write(b)
}

func (c *cappedBuffer) Bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Bytes()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(b)
	if n >= t.max { // only its end is kept: never copy the whole write
		t.buf, b = t.buf[:0], b[n-t.max:]
	} else if drop := len(t.buf) + n - t.max; drop > 0 {
		t.buf = append(t.buf[:0], t.buf[drop:]...)
	}
	t.buf = append(t.buf, b...)
	return n, nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
