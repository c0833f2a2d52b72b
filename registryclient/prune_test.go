package registryclient

import (
	"context"
	"sync"
	"testing"
)

// TestPruneDuringPulls: `wrun cache prune` while other clients (as other
// processes would) pull: every pull succeeds, because prune waits for the
// pulls in progress and pulls that start meanwhile wait for it.
func TestPruneDuringPulls(t *testing.T) {
	h := testHome(t)
	pub, _ := newClient(t, Options{Home: h.Data})
	publishDir(t, pub, appPackage(t, "example:app", "1.0.0"))
	publishDir(t, pub, plainPackage(t, "example:hello", "1.0.0"))
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				c, _ := newClient(t, Options{Home: h.Data})
				for _, ref := range []string{"example:app@1.0.0", "example:hello@1.0.0"} {
					r, err := c.Pull(context.Background(), ref)
					if err != nil {
						errs <- err
						return
					}
					r.Root.Close()
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 30; i++ {
			c, _ := newClient(t, Options{Home: h.Data})
			if _, err := c.CachePrune(context.Background()); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent pull/prune: %v", err)
	}
}
