package serve

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The handler gets the request as RFC 3875 meta-variables and its body on
// stdin; HTTP_PROXY is never set (httpoxy).
func TestCGIMetaVariables(t *testing.T) {
	_, ts, _, _ := testServer(t, Options{})
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/echo?a=1&b=two", strings.NewReader("the body"))
	req.Header.Set("Content-Type", "text/x-test")
	req.Header.Set("X-Test", "yes")
	req.Header.Set("Proxy", "http://evil.example:8080")
	req.Header.Add("Cookie", "a=1")
	req.Header.Add("Cookie", "b=2")
	resp, body := do(t, req)
	wantStatus(t, resp, body, http.StatusOK)
	port := ts.URL[strings.LastIndex(ts.URL, ":")+1:]
	wantContains(t, "the handler's view", body,
		"GATEWAY_INTERFACE=CGI/1.1\n",
		"SERVER_PROTOCOL=HTTP/1.1\n",
		"SERVER_NAME=127.0.0.1\n",
		"SERVER_PORT="+port+"\n",
		"REQUEST_METHOD=POST\n",
		"SCRIPT_NAME=\n",
		"PATH_INFO=/echo\n",
		"QUERY_STRING=a=1&b=two\n",
		"REQUEST_URI=/echo?a=1&b=two\n",
		"REMOTE_ADDR=127.0.0.1\n",
		"CONTENT_TYPE=text/x-test\n",
		"CONTENT_LENGTH=8\n",
		"HTTP_HOST=127.0.0.1:"+port+"\n",
		"HTTP_X_TEST=yes\n",
		"HTTP_PROXY=(unset)\n",
		"HTTP_COOKIE=a=1; b=2\n",
		"body=the body\n",
	)
	if resp.Header.Get("X-Handler") != "cgi_modes" {
		t.Errorf("the handler's header X-Handler is %q", resp.Header.Get("X-Handler"))
	}
	// No host environment leaks into the guest.
	resp, body = get(t, ts.URL+"/env")
	wantStatus(t, resp, body, http.StatusOK)
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "PATH=") || strings.HasPrefix(line, "HOME=") {
			t.Errorf("host variable in the guest's environment: %q", line)
		}
	}
}

// Status, client and local redirects, X-Wrun-Asset, and malformed responses.
func TestCGIResponses(t *testing.T) {
	_, ts, log, _ := testServer(t, Options{})
	resp, body := get(t, ts.URL+"/status")
	wantStatus(t, resp, body, http.StatusNotFound)
	if body != "no such thing\n" {
		t.Errorf("body %q", body)
	}

	resp, body = get(t, ts.URL+"/away")
	wantStatus(t, resp, body, http.StatusFound)
	if resp.Header.Get("Location") != "http://example.com/elsewhere" {
		t.Errorf("Location %q", resp.Header.Get("Location"))
	}

	resp, body = get(t, ts.URL+"/local?/static/hello.txt")
	wantStatus(t, resp, body, http.StatusOK)
	if body != staticFiles["static/hello.txt"] {
		t.Errorf("local redirect served %q", body)
	}
	resp, body = get(t, ts.URL+"/local?/local?/local?/local?/static/hello.txt")
	wantStatus(t, resp, body, http.StatusBadGateway)

	js := staticFiles["static/app.js"]
	resp, body = get(t, ts.URL+"/asset?/static/app.js")
	wantStatus(t, resp, body, http.StatusOK)
	if body != js || resp.Header.Get("ETag") != `"sha256-`+sum(js)+`"` || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("X-Wrun-Asset: %q, ETag %q, Cache-Control %q", body, resp.Header.Get("ETag"), resp.Header.Get("Cache-Control"))
	}
	resp, body = get(t, ts.URL+"/asset?/static/app.js", "Range", "bytes=2-4")
	wantStatus(t, resp, body, http.StatusPartialContent)
	if body != js[2:5] {
		t.Errorf("ranged X-Wrun-Asset body %q", body)
	}
	// Only the package's read-only assets: not the asset manifest mount,
	// not /tmp, not a path that climbs.
	for _, bad := range []string{"/_wrun/asset-urls.json", "/tmp/x", "/static/../secret.txt", "/secret.txt", "static/app.js", "/static"} {
		resp, body = get(t, ts.URL+"/asset?"+bad)
		wantStatus(t, resp, body, http.StatusBadGateway)
	}

	for _, mode := range []string{"/bigheader", "/noblank"} {
		resp, body = get(t, ts.URL+mode)
		wantStatus(t, resp, body, http.StatusBadGateway)
	}
	wantContains(t, "log", log.String(), "header block is over 65536 bytes", `missing colon: \"this is not a header line\"`)
}

// A handler that traps, exits non-zero or loops gets a 502 or 504 and a log
// line; the server answers the next request.
func TestCGIFailures(t *testing.T) {
	_, ts, log, _ := testServer(t, Options{Timeout: 2 * time.Second, MaxResponseBytes: 1 << 20})
	for _, c := range []struct {
		mode string
		code int
		log  string
	}{
		{"/crash", http.StatusBadGateway, "the handler trapped: unreachable"},
		{"/exit", http.StatusBadGateway, "the handler exited with code 3"},
		{"/stderr", http.StatusBadGateway, "the handler exited with code 1; its stderr ends: something went wrong"},
		{"/loop", http.StatusGatewayTimeout, "the handler ran past its 2s timeout"},
		{"/big?2000000", http.StatusBadGateway, "the handler wrote more than 1048576 bytes"},
	} {
		start := time.Now()
		resp, body := get(t, ts.URL+c.mode)
		wantStatus(t, resp, body, c.code)
		if strings.Contains(body, "partial") {
			t.Errorf("%s: the failed handler's output was sent: %q", c.mode, body)
		}
		wantContains(t, "log", log.String(), `"GET `+c.mode+` HTTP/1.1" `+itoa(c.code), c.log)
		if c.code == http.StatusGatewayTimeout {
			t.Logf("%s answered after %s", c.mode, time.Since(start))
		}
		resp, body = get(t, ts.URL+"/echo")
		wantStatus(t, resp, body, http.StatusOK)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// A body over the cap gets 413, with a Content-Length or chunked.
func TestCGIBodyLimit(t *testing.T) {
	_, ts, _, _ := testServer(t, Options{MaxBodyBytes: 1024})
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/echo", strings.NewReader(strings.Repeat("x", 1024)))
	resp, body := do(t, req)
	wantStatus(t, resp, body, http.StatusOK)
	req, _ = http.NewRequest(http.MethodPost, ts.URL+"/echo", strings.NewReader(strings.Repeat("x", 1025)))
	resp, body = do(t, req)
	wantStatus(t, resp, body, http.StatusRequestEntityTooLarge)
	req, _ = http.NewRequest(http.MethodPost, ts.URL+"/echo", struct{ *strings.Reader }{strings.NewReader(strings.Repeat("x", 4096))})
	req.ContentLength = -1 // chunked
	resp, body = do(t, req)
	wantStatus(t, resp, body, http.StatusRequestEntityTooLarge)
}

// With one slot and a queue of one, a third concurrent request gets 503;
// the two others complete.
func TestCGIConcurrencyCap(t *testing.T) {
	s, ts, _, _ := testServer(t, Options{MaxConcurrent: 1, MaxQueue: 1})
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for start := time.Now(); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Since(start) > 20*time.Second {
				t.Fatalf("timed out waiting until %s", what)
			}
		}
	}
	var wg sync.WaitGroup
	codes := make([]int, 2)
	slow := func(i int) {
		defer wg.Done()
		resp, err := http.Get(ts.URL + "/slow?1500")
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		codes[i] = resp.StatusCode
	}
	wg.Add(2)
	go slow(0)
	waitFor("the first request holds the slot", func() bool { return len(s.slots) == 1 })
	go slow(1)
	waitFor("the second request waits in the queue", func() bool {
		s.qmu.Lock()
		defer s.qmu.Unlock()
		return s.queue == 1
	})
	resp, body := get(t, ts.URL+"/echo")
	wantStatus(t, resp, body, http.StatusServiceUnavailable)
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	wg.Wait()
	if codes[0] != http.StatusOK || codes[1] != http.StatusOK {
		t.Errorf("the running and the queued request got %v, want 200 200", codes)
	}
}

// --json logs one JSON object per request.
func TestJSONLog(t *testing.T) {
	log := &syncBuffer{}
	_, ts, _, _ := testServer(t, Options{Log: log, JSONLog: true})
	get(t, ts.URL+"/static/app.js", "User-Agent", "tester \"1\"\xff")
	get(t, ts.URL+"/crash")
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), log)
	}
	var recs [2]map[string]any
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &recs[i]); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
	}
	if recs[0]["status"] != 200.0 || recs[0]["uri"] != "/static/app.js" || recs[0]["method"] != "GET" || recs[0]["remote"] != "127.0.0.1" {
		t.Errorf("first record %v", recs[0])
	}
	if recs[1]["status"] != 502.0 || !strings.Contains(recs[1]["error"].(string), "trapped") {
		t.Errorf("second record %v", recs[1])
	}
}

// The combined log format, with what the client sent escaped.
func TestCombinedLog(t *testing.T) {
	_, ts, log, _ := testServer(t, Options{})
	get(t, ts.URL+"/static/hello.txt", "User-Agent", "agent \"x\"\xff", "Referer", "http://ref/")
	line := log.String()
	wantContains(t, "log", line, `127.0.0.1 - - [`, `] "GET /static/hello.txt HTTP/1.1" 200 20 "http://ref/" "agent \"x\"\xff"`)
	if strings.Contains(line, "\xff") {
		t.Errorf("raw control character in the log: %q", line)
	}
}

// A body that does not arrive holds its slot no longer than the timeout:
// 408, and the slot is free for the next request.
func TestCGISlowBody(t *testing.T) {
	s, ts, log, _ := testServer(t, Options{Timeout: time.Second, MaxConcurrent: 1, MaxQueue: -1})
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nonly ten b")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d, want 408", resp.StatusCode)
	}
	if len(s.slots) != 0 {
		t.Errorf("%d slots still taken", len(s.slots))
	}
	r2, body := get(t, ts.URL+"/echo")
	wantStatus(t, r2, body, http.StatusOK)
	wantContains(t, "log", log.String(), "the request body did not arrive within the 1s timeout")
}

// The stderr tail keeps its bound however much one write carries: a
// guest's single large write leaves no large buffer behind.
func TestStderrTailBounded(t *testing.T) {
	tb := &tailBuffer{max: 2048}
	big := bytes.Repeat([]byte("x"), 1<<20)
	if n, err := tb.Write(big); n != len(big) || err != nil {
		t.Fatalf("Write: %d, %v", n, err)
	}
	tb.Write([]byte("end"))
	if got := tb.String(); len(got) != 2048 || !strings.HasSuffix(got, "xend") {
		t.Errorf("tail of %d bytes ending %q, want 2048 ending \"xend\"", len(got), got[max(0, len(got)-8):])
	}
	if cap(tb.buf) > 2*tb.max {
		t.Errorf("tail buffer keeps %d bytes of capacity for a %d-byte tail", cap(tb.buf), tb.max)
	}
}

// What a client sends is escaped in the log, bidirectional controls too
// (they would reorder how the line is shown).
func TestCombinedLogBidi(t *testing.T) {
	_, ts, log, _ := testServer(t, Options{})
	get(t, ts.URL+"/static/hello.txt", "User-Agent", "agent\u202egnp.exe")
	line := log.String()
	wantContains(t, "log", line, `"agent\u202egnp.exe"`)
	if strings.ContainsRune(line, '\u202e') {
		t.Errorf("raw U+202E in the log: %q", line)
	}
}
