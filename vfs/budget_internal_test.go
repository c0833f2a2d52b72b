package vfs

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"testing"

	"github.com/tetratelabs/wazero/experimental/sys"
)

// TestBudgetBalances runs every operation that charges or credits a
// writable tree, checking after each that the charge is never negative,
// then removes everything: nothing may stay charged. This is what keeps
// the cap from drifting (an unlink then ftruncate of an open file used to
// credit its bytes twice).
func TestBudgetBalances(t *testing.T) {
	lower, err := NewMapLayer(map[string]MapFile{
		"base/a.txt": {Data: []byte("base bytes")},
		"base/link":  {Data: []byte("a.txt"), Mode: fs.ModeSymlink},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fs   *tree
	}{
		{"memfs", NewMemFS(1 << 20).(*tree)},
		{"overlay", NewCopyOnWriteFS(lower).(*tree)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := tc.fs
			base := fsys.b.usage()
			check := func(step string) {
				t.Helper()
				if u := fsys.b.usage(); u < 0 {
					t.Fatalf("after %s: %d bytes charged", step, u)
				}
			}
			ok := func(step string, errno sys.Errno) {
				t.Helper()
				if errno != 0 {
					t.Fatalf("%s: %v", step, errno)
				}
				check(step)
			}
			ok("mkdir", fsys.Mkdir("d", 0o755))
			f, errno := fsys.OpenFile("d/f", sys.O_RDWR|sys.O_CREAT, 0o644)
			ok("create", errno)
			_, errno = f.Write(make([]byte, 5000))
			ok("write", errno)
			_, errno = f.Pwrite([]byte("x"), 70000)
			ok("pwrite past the end", errno)
			ok("truncate down", f.Truncate(10))
			ok("link", fsys.Link("d/f", "d/hard"))
			ok("symlink", fsys.Symlink("f", "d/s"))
			ok("rename to a longer name", fsys.Rename("d/s", "d/a-much-longer-link-name"))
			ok("rename over", fsys.Rename("d/hard", "d/a-much-longer-link-name"))
			ok("unlink while open", fsys.Unlink("d/f"))
			ok("unlink the last name while open", fsys.Unlink("d/a-much-longer-link-name"))
			ok("truncate unlinked", f.Truncate(0))
			ok("grow unlinked", f.Truncate(3000))
			ok("close", f.Close())
			for i := range 50 {
				g, errno := fsys.OpenFile(fmt.Sprint("d/g", i), sys.O_WRONLY|sys.O_CREAT, 0o644)
				ok("create many", errno)
				g.Write(make([]byte, i*100))
				g.Close()
			}
			for i := range 50 {
				ok("unlink many", fsys.Unlink(fmt.Sprint("d/g", i)))
			}
			ok("rmdir", fsys.Rmdir("d"))
			if tc.name == "overlay" {
				g, errno := fsys.OpenFile("base/a.txt", sys.O_RDWR, 0)
				ok("open base file", errno)
				_, errno = g.Write([]byte("copied up"))
				ok("copy up", errno)
				ok("unlink copied", fsys.Unlink("base/a.txt"))
				ok("close copied", g.Close())
				ok("unlink base link", fsys.Unlink("base/link"))
				ok("rmdir base", fsys.Rmdir("base"))
				base = 0 // the base entries are gone too
			}
			if u := fsys.b.usage(); u != base {
				t.Fatalf("after removing everything %d bytes are charged, want %d", u, base)
			}
		})
	}
}

// TestContentMatchesSlice runs random writes, truncates and reads on a
// block content and on a plain byte slice: they must always read the same,
// and the budget must hold exactly what the content holds.
func TestContentMatchesSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	bud := &budget{}
	var c content
	var model []byte
	for step := range 3000 {
		switch op := rng.IntN(10); {
		case op < 6:
			off := rng.Int64N(5 * blockSize)
			b := make([]byte, rng.IntN(2*blockSize))
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			if errno := c.writeAt(bud, b, off); errno != 0 {
				t.Fatal(errno)
			}
			if end := off + int64(len(b)); end > int64(len(model)) {
				model = append(model, make([]byte, end-int64(len(model)))...)
			}
			copy(model[off:], b)
		case op < 8:
			size := rng.Int64N(6 * blockSize)
			if errno := c.setSize(bud, size); errno != 0 {
				t.Fatal(errno)
			}
			if size < int64(len(model)) {
				model = model[:size]
			} else {
				model = append(model, make([]byte, size-int64(len(model)))...)
			}
		default:
			off := rng.Int64N(7 * blockSize)
			got := make([]byte, rng.IntN(3*blockSize))
			n := c.readAt(got, off)
			var want []byte
			if off < int64(len(model)) {
				want = model[off:min(int64(len(model)), off+int64(len(got)))]
			}
			if !bytes.Equal(got[:n], want) {
				t.Fatalf("step %d: read %d bytes at %d differ from the model", step, len(got), off)
			}
		}
		if c.size != int64(len(model)) {
			t.Fatalf("step %d: size %d, want %d", step, c.size, len(model))
		}
		if bud.usage() != c.charged() {
			t.Fatalf("step %d: budget holds %d, content %d", step, bud.usage(), c.charged())
		}
	}
	c.free(bud)
	if bud.usage() != 0 {
		t.Fatalf("after free the budget holds %d", bud.usage())
	}
}
