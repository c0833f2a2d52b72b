package registryclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/registrytest"
)

// Network timeouts (issue 10 item 13) and endless listings (item 14),
// against servers of our own on 127.0.0.1. Timeouts are set short through
// Options so the tests stay fast; nothing here asserts a duration.

func TestTimeoutNoResponse(t *testing.T) {
	host := registrytest.Silent(t)
	c, _ := newClient(t, Options{Registry: host, Timeouts: Timeouts{Response: 200 * time.Millisecond}})
	for _, op := range []func() error{
		func() error { _, err := c.Pull(context.Background(), "example:app@1.0.0"); return err },
		func() error { _, err := c.List(context.Background(), "example:app"); return err },
		func() error {
			_, err := c.Publish(context.Background(), loadDir(t, plainPackage(t, "example:app", "1.0.0")))
			return err
		},
	} {
		err := op()
		if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "registry "+host) || !strings.Contains(err.Error(), "response headers") || !strings.Contains(err.Error(), "--response-timeout") {
			t.Errorf("got %v; want ErrTimeout naming %s and the response headers", err, host)
		}
	}
}

// TestTimeoutTrickle: a registry that sends the blob a byte at a time is
// cut off when it moves less than MinProgress bytes per Stall period, and
// leaves no partial blob behind.
func TestTimeoutTrickle(t *testing.T) {
	s := registrytest.NewServer(t)
	pub, _ := newClient(t, Options{Registry: s.Host})
	publishDir(t, pub, appPackage(t, "example:app", "1.0.0"))
	s.Hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
			return false
		}
		b := s.Blob(r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		for i := 0; i < len(b); i++ {
			if _, err := w.Write(b[i : i+1]); err != nil {
				return true
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return true
			case <-time.After(20 * time.Millisecond):
			}
		}
		return true
	}
	c, _ := newClient(t, Options{Registry: s.Host, Timeouts: Timeouts{Stall: 300 * time.Millisecond}})
	_, err := c.Pull(context.Background(), "example:app@1.0.0")
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "registry "+s.Host) || !strings.Contains(err.Error(), "stalled") || !strings.Contains(err.Error(), "--stall-timeout") {
		t.Fatalf("Pull from a trickling registry = %v; want ErrTimeout naming it and the stalled download", err)
	}
	if ps := c.cache.partials(); len(ps) != 0 {
		t.Errorf("partial blobs left: %v", ps)
	}
	if ents, _ := os.ReadDir(c.packagesDir()); len(ents) != 0 {
		t.Errorf("extracted: %v", ents)
	}
}

func TestTimeoutConfig(t *testing.T) {
	h := testHome(t)
	if err := os.WriteFile(h.Config(), []byte("[network]\nresponse_timeout = \"150ms\"\nstall_timeout = \"2m\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, Options{Home: h.Data, Registry: registrytest.Silent(t)})
	tr := c.http.Transport.(*transport)
	if want := (Timeouts{Connect: DefaultConnectTimeout, Response: 150 * time.Millisecond, Stall: 2 * time.Minute}); tr.timeouts != want {
		t.Errorf("timeouts from config = %+v, want %+v", tr.timeouts, want)
	}
	if _, err := c.Pull(context.Background(), "example:app@1.0.0"); !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "150ms") {
		t.Errorf("Pull = %v, want the config's 150ms response timeout", err)
	}
	// An option wins over the config.
	c, _ = newClient(t, Options{Home: h.Data, Timeouts: Timeouts{Stall: time.Second}})
	if got := c.http.Transport.(*transport).timeouts.Stall; got != time.Second {
		t.Errorf("Options.Timeouts.Stall = %v, want 1s", got)
	}
	if err := os.WriteFile(filepath.Join(h.Data, "bad.toml"), []byte("[network]\nconnect_timeout = \"soon\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Home: h.Data, ConfigPath: filepath.Join(h.Data, "bad.toml")}); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "connect_timeout") {
		t.Errorf("bad connect_timeout: %v", err)
	}
}

// TestEndlessTagList: a tag list whose Link: rel="next" points at itself,
// and one that sends new tags forever, are both stopped with ErrProtocol.
func TestEndlessTagList(t *testing.T) {
	for _, tc := range []struct {
		name string
		page func(r *http.Request) ([]string, string)
		want string
	}{
		{"self link", func(r *http.Request) ([]string, string) {
			return []string{"1.0.0", "1.1.0"}, r.URL.Path + "?" + r.URL.RawQuery
		}, "loops"},
		{"never ends", func(r *http.Request) ([]string, string) {
			n, _ := strconv.Atoi(r.URL.Query().Get("last"))
			tags := make([]string, 4000)
			for i := range tags {
				tags[i] = fmt.Sprintf("0.%d.%d", n, i)
			}
			return tags, fmt.Sprintf("%s?last=%d", r.URL.Path, n+1)
		}, "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := registrytest.NewServer(t)
			s.Hook = func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, "/tags/list") {
					return false
				}
				tags, next := tc.page(r)
				w.Header().Set("Link", "<"+next+`>; rel="next"`)
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"name":"example/app","tags":["%s"]}`, strings.Join(tags, `","`))
				return true
			}
			c, _ := newClient(t, Options{Registry: s.Host})
			_, err := c.List(context.Background(), "example:app")
			if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), s.Host) {
				t.Fatalf("List = %v; want ErrProtocol saying %q", err, tc.want)
			}
			if testing.Verbose() {
				t.Log(err)
			}
			_, err = c.Pull(context.Background(), "example:app@^1")
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("Pull of a range = %v; want ErrProtocol", err)
			}
		})
	}
}

func loadDir(t testing.TB, dir string) *bundle.Package {
	t.Helper()
	p, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
