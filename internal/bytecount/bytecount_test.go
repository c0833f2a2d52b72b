package bytecount

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReader(t *testing.T) {
	var calls, sum int64
	r := &Reader{R: iotest.OneByteReader(strings.NewReader("hello, world")), Progress: func(n int64) {
		if n <= 0 {
			t.Errorf("Progress(%d)", n)
		}
		calls++
		sum += n
	}}
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "hello, world" || r.N != 12 || sum != 12 || calls != 12 {
		t.Fatalf("read %q, %v: N %d, progress %d in %d calls", b, err, r.N, sum, calls)
	}
	// Bytes read with an error count too.
	e := errors.New("boom")
	r = NewReader(iotest.DataErrReader(iotest.ErrReader(e)))
	if _, err := io.ReadAll(r); !errors.Is(err, e) || r.N != 0 {
		t.Fatalf("err %v, N %d", err, r.N)
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	io.WriteString(w, "abc")
	io.WriteString(w, "de")
	if w.N != 5 || buf.String() != "abcde" {
		t.Fatalf("N %d, wrote %q", w.N, buf.String())
	}
	d := &Writer{}
	io.Copy(d, strings.NewReader(strings.Repeat("x", 1000)))
	if d.N != 1000 {
		t.Fatalf("discarding N %d", d.N)
	}
	// A short write counts only what was accepted.
	s := NewWriter(shortWriter{})
	if n, err := s.Write([]byte("abcdef")); n != 3 || err == nil || s.N != 3 {
		t.Fatalf("short write %d %v, N %d", n, err, s.N)
	}
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return min(len(p), 3), io.ErrShortWrite }
