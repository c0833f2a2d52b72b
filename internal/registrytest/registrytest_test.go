package registrytest_test

import (
	"net/http"
	"testing"

	"github.com/wrun-dev/wrun/internal/registrytest"
)

func TestStartStop(t *testing.T) {
	r := registrytest.Start(t)
	resp, err := http.Get("http://" + r.Host + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/ = %s", resp.Status)
	}
	r.Stop()
	if _, err := http.Get("http://" + r.Host + "/v2/"); err == nil {
		t.Fatal("registry still answers after Stop")
	}
	r.Stop()
}
