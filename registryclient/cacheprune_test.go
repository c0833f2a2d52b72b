package registryclient_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/registryclient"
)

// compiledFiles lists the regular files under the compiled-code cache.
func compiledFiles(t *testing.T, home string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(home, "cache", "compiled"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestCachePruneCompiledAndPreinit: CachePrune empties the compiled-code
// and pre-initialization caches file by file: entries and stale temporary
// files go, a temporary file a writer may still rename into place stays,
// and the directories stay, so a run that is about to write finds them.
func TestCachePruneCompiledAndPreinit(t *testing.T) {
	home := t.TempDir()
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithHome(home))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.CompileFile(ctx, testenv.Guest(t, "c/hello")); err != nil {
		t.Fatal(err)
	}
	rt.Close(ctx)
	entries := compiledFiles(t, home)
	if len(entries) == 0 {
		t.Fatal("compiling wrote nothing to the compiled-code cache")
	}
	versionDir := filepath.Dir(entries[0])
	fresh := filepath.Join(versionDir, "0123.456.tmp")
	stale := filepath.Join(versionDir, "0123.789.tmp")
	preinit := filepath.Join(home, "cache", "preinit")
	snapshot := filepath.Join(preinit, "abc.wasm")
	staleSnapshot := filepath.Join(preinit, ".abc.wasm.tmp-1")
	for _, p := range []string{fresh, stale, snapshot, staleSnapshot} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(stale, old, old)
	os.Chtimes(staleSnapshot, old, old)

	c, err := registryclient.New(registryclient.Options{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.CacheList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int64{}
	for _, cd := range info.Caches {
		sizes[cd.Name] = cd.Bytes
	}
	if sizes["compiled"] < 1000 || sizes["preinit"] != 2 {
		t.Errorf("CacheList sizes %v, want compiled ≥ 1000 B and preinit 2 B", sizes)
	}
	freed, err := c.CachePrune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if freed < sizes["compiled"]+sizes["preinit"]-1 {
		t.Errorf("CachePrune freed %d B, want at least %d", freed, sizes["compiled"]+sizes["preinit"]-1)
	}
	left := compiledFiles(t, home)
	if len(left) != 1 || left[0] != fresh {
		t.Errorf("compiled-code cache after prune holds %v, want only the fresh temporary file %s", left, fresh)
	}
	for _, p := range []string{snapshot, staleSnapshot} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived the prune (%v)", p, err)
		}
	}
	for _, d := range []string{versionDir, preinit} {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			t.Errorf("prune removed the directory %s (%v)", d, err)
		}
	}
}

// TestCachePruneDuringCompiles: runtimes compile (writing the compiled-code
// cache) while CachePrune empties it over and over; every compile succeeds.
func TestCachePruneDuringCompiles(t *testing.T) {
	home := t.TempDir()
	ctx := context.Background()
	hello := testenv.Guest(t, "c/hello")
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := registryclient.New(registryclient.Options{Home: home})
		if err != nil {
			errs <- err
			return
		}
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := c.CachePrune(ctx); err != nil {
				errs <- err
				return
			}
		}
	}()
	for i := 0; i < 20; i++ {
		rt, err := wrun.New(ctx, wrun.NewConfig().WithHome(home))
		if err != nil {
			errs <- err
			break
		}
		if _, err := rt.CompileFile(ctx, hello); err != nil {
			errs <- err
		}
		rt.Close(ctx)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("compile during prune: %v", err)
	}
}
