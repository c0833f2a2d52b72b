package vfstest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wrun-dev/wrun/vfs"
)

// Option declares what a layer is known not to do, or adds checks.
type Option func(*config)

type config struct {
	readOnly, noSymlinks, noHardLinks, noAtime bool
	guests                                     []Guest
	cache                                      wazero.CompilationCache
}

func newConfig(opts []Option) *config {
	c := &config{}
	for _, o := range opts {
		o(c)
	}
	return c
}

func (c *config) exceptions() bool { return c.noSymlinks || c.noHardLinks || c.noAtime }

// ReadOnly declares a read-only layer: every change must fail with EROFS,
// or with the error DirFS gives for that change on the unchanged fixture
// (EEXIST, ENOENT, ENOTDIR, ...: the name's existence may decide first, as
// on a read-only mount), and reads must then see the fixture unchanged.
func ReadOnly() Option { return func(c *config) { c.readOnly = true } }

// NoSymlinks declares a layer without symbolic links: the fixture holds
// none (see Fixture), operations on links are left out and Symlink must
// fail with ENOSYS, ENOTSUP or EPERM.
func NoSymlinks() Option { return func(c *config) { c.noSymlinks = true } }

// NoHardLinks declares a layer without hard links: Link must fail with
// ENOSYS, ENOTSUP or EPERM, and what would go through a link is left out.
func NoHardLinks() Option { return func(c *config) { c.noHardLinks = true } }

// NoAtime declares a layer that keeps no access time: Utimens may ignore
// it, and the access times are not compared.
func NoAtime() Option { return func(c *config) { c.noAtime = true } }

// Guest is a WASI program run over the layer, mounted at /m through
// vfs.FSConfig, and over DirFS; its stdout must match. It is run with the
// arguments (phase, "/m") for the phases "read", "write" and "cow" on a
// writable layer, "read" and "rofs" on a read-only one (the layer holds the
// fixture, with links, at the start of each). ReadOnly is the stdout
// expected for phase "rofs" (what the program prints on a read-only Linux
// mount); without it that phase is not run. Guests run only on layers that
// declare no exception other than ReadOnly.
type Guest struct {
	Name     string
	Wasm     []byte
	ReadOnly string
}

// Guests adds guests to run; cache, when not nil, keeps their compiled
// code between calls of TestFS.
func Guests(cache wazero.CompilationCache, guests ...Guest) Option {
	return func(c *config) {
		c.guests = append(c.guests, guests...)
		c.cache = cache
	}
}

// TestFS checks the layer newFS returns against DirFS. newFS is called for
// every comparison and must return a fresh layer holding Fixture(opts...).
func TestFS(t *testing.T, newFS func() sys.FS, opts ...Option) {
	t.Helper()
	c := newConfig(opts)
	t.Run("api", func(t *testing.T) { testAPI(t, c, newFS) })
	if len(c.guests) == 0 || c.exceptions() {
		return
	}
	cache := c.cache
	ctx := context.Background()
	rc := wazero.NewRuntimeConfig()
	if cache != nil {
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	for _, g := range c.guests {
		t.Run(g.Name, func(t *testing.T) {
			cm, err := rt.CompileModule(ctx, g.Wasm)
			if err != nil {
				t.Fatalf("compiling %s: %v", g.Name, err)
			}
			phases := []string{"read", "write", "cow"}
			if c.readOnly {
				phases = []string{"read"}
				if g.ReadOnly != "" {
					phases = append(phases, "rofs")
				}
			}
			for _, phase := range phases {
				want := g.ReadOnly
				if phase != "rofs" {
					dir := t.TempDir()
					if err := WriteFixture(dir, Fixture()); err != nil {
						t.Fatal(err)
					}
					cfg := wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(sysfs.DirFS(dir), "/m")
					want = runGuest(t, rt, cm, g.Name, cfg, phase)
				}
				cfg, err := vfs.FSConfig([]vfs.Mount{{Guest: "/m", FS: newFS()}})
				if err != nil {
					t.Fatal(err)
				}
				if got := runGuest(t, rt, cm, g.Name, cfg, phase); got != want {
					t.Errorf("phase %s differs from DirFS:\n%s", phase, Diff(want, got))
				}
			}
		})
	}
}

func runGuest(t *testing.T, rt wazero.Runtime, cm wazero.CompiledModule, name string, cfg wazero.FSConfig, phase string) string {
	t.Helper()
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	mc := wazero.NewModuleConfig().WithName("").WithArgs("fsops", phase, "/m").
		WithStdout(&stdout).WithStderr(&stderr).WithFSConfig(cfg).WithSysWalltime()
	mod, err := rt.InstantiateModule(ctx, cm, mc)
	if mod != nil {
		mod.Close(ctx)
	}
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, phase, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// testAPI compares transcripts of the scripted calls.
func testAPI(t *testing.T, c *config, newFS func() sys.FS) {
	dir := t.TempDir()
	if err := WriteFixture(dir, Fixture(optionsOf(c)...)); err != nil {
		t.Fatal(err)
	}
	ops := opsFor(c)
	want := transcript(reference{sysfs.DirFS(dir)}, ops, false)
	var roWant, unchanged []string
	if c.readOnly {
		fresh := func() sys.FS {
			dir := t.TempDir()
			if err := WriteFixture(dir, Fixture(optionsOf(c)...)); err != nil {
				t.Fatal(err)
			}
			return reference{sysfs.DirFS(dir)}
		}
		roWant = transcript(fresh(), ops, true)
		// What each change gives on the unchanged fixture: a read-only
		// layer may answer with that error instead of EROFS.
		unchanged = make([]string, len(ops))
		for i, op := range ops {
			if op.mutate {
				unchanged[i] = op.do(fresh())
			}
		}
	}
	got := transcript(newFS(), ops, false)
	var b strings.Builder
	for i, op := range ops {
		w := want[i]
		switch {
		case op.unsupported:
			if g := got[i]; g != sys.ENOSYS.Error() && g != sys.ENOTSUP.Error() && g != sys.EPERM.Error() && (!c.readOnly || g != sys.EROFS.Error()) {
				fmt.Fprintf(&b, "  %s: %s, want ENOSYS, ENOTSUP or EPERM (declared unsupported)\n", op.name, g)
			}
			continue
		case c.readOnly && op.mutate:
			w = unchanged[i]
			if g := got[i]; g != sys.EROFS.Error() && (g != w || !isErrno(w)) {
				fmt.Fprintf(&b, "  %s: %s, want %s or %s\n", op.name, g, sys.EROFS.Error(), w)
			}
			continue
		case c.readOnly:
			w = roWant[i]
		}
		if got[i] != w {
			fmt.Fprintf(&b, "  %s:\n    want: %s\n    got:  %s\n", op.name, w, got[i])
		}
	}
	if b.Len() > 0 {
		t.Errorf("differs from DirFS:\n%s", b.String())
	}
}

func optionsOf(c *config) []Option {
	if c.noSymlinks {
		return []Option{NoSymlinks()}
	}
	return nil
}

func isErrno(s string) bool {
	return !strings.HasPrefix(s, "ok") && s != "success" && !strings.HasSuffix(s, " success")
}

// transcript runs ops on f, leaving out the changes when skipChanges is
// set (their results are then empty) and, on the reference, what the
// layer declares unsupported.
func transcript(f sys.FS, ops []apiOp, skipChanges bool) []string {
	out := make([]string, len(ops))
	for i, op := range ops {
		if skipChanges && op.mutate || op.unsupported && isReference(f) {
			continue
		}
		out[i] = op.do(f)
	}
	return out
}

func isReference(f sys.FS) bool { _, ok := f.(reference); return ok }

// reference marks the DirFS the layer is compared with.
type reference struct{ sys.FS }

// Diff shows the lines of got that differ from want.
func Diff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			b.WriteString("  want: " + w + "\n  got:  " + g + "\n")
		}
	}
	return b.String()
}

// apiOp is one sys.FS call; it returns what a transcript line shows.
type apiOp struct {
	name        string
	mutate      bool
	needs       string // "symlink", "hardlink", "atime": left out when declared unsupported; "…-make": must fail
	unsupported bool   // declared unsupported: must fail with ENOSYS, ENOTSUP or EPERM
	do          func(sys.FS) string
}

func opsFor(c *config) []apiOp {
	var out []apiOp
	for _, op := range apiOps() {
		leave := false
		for _, n := range strings.Fields(op.needs) {
			switch {
			case n == "symlink" && c.noSymlinks, n == "hardlink" && c.noHardLinks, n == "atime" && c.noAtime:
				leave = true
			case n == "symlink-make" && c.noSymlinks, n == "hardlink-make" && c.noHardLinks:
				op.unsupported = true
			}
		}
		if !leave {
			out = append(out, op)
		}
	}
	return out
}

func open(p string, flag sys.Oflag, needs string) apiOp {
	return apiOp{fmt.Sprintf("OpenFile(%q, %#x)", p, flag), flag&(sys.O_WRONLY|sys.O_RDWR|sys.O_CREAT|sys.O_TRUNC) != 0, needs, false, func(f sys.FS) string {
		file, errno := f.OpenFile(p, flag, 0o644)
		if errno != 0 {
			return errno.Error()
		}
		defer file.Close()
		isDir, _ := file.IsDir()
		st, errno := file.Stat()
		size := st.Size
		if isDir {
			size = -1 // directory sizes differ between host filesystems
		}
		buf := make([]byte, 4)
		n, rerr := file.Read(buf)
		return fmt.Sprintf("ok dir=%v size=%d stat=%v read=%q/%v", isDir, size, errno, buf[:n], rerr)
	}}
}

func stat(p string, follow bool, needs string) apiOp {
	return apiOp{fmt.Sprintf("Stat(%q, follow=%v)", p, follow), false, needs, false, func(f sys.FS) string {
		st, errno := f.Lstat(p)
		if follow {
			st, errno = f.Stat(p)
		}
		if errno != 0 {
			return errno.Error()
		}
		if st.Mode.IsDir() {
			return "dir"
		}
		return fmt.Sprintf("%v size=%d", st.Mode.Type(), st.Size)
	}}
}

func errOp(name, needs string, do func(sys.FS) sys.Errno) apiOp {
	return apiOp{name, true, needs, false, func(f sys.FS) string { return fmt.Sprint(do(f)) }}
}

func query(name, needs string, do func(sys.FS) string) apiOp {
	return apiOp{name, false, needs, false, do}
}

// list reads directory p in pages of n entries and shows it sorted.
func list(p string, n int, needs string) apiOp {
	return query(fmt.Sprintf("Readdir(%q, %d)", p, n), needs, func(f sys.FS) string {
		d, errno := f.OpenFile(p, sys.O_RDONLY|sys.O_DIRECTORY, 0)
		if errno != 0 {
			return errno.Error()
		}
		defer d.Close()
		var names []string
		for range 100 {
			ents, errno := d.Readdir(n)
			if errno != 0 {
				return errno.Error()
			}
			if len(ents) == 0 {
				break
			}
			for _, e := range ents {
				if e.Name != "." && e.Name != ".." {
					names = append(names, fmt.Sprintf("%s:%v", e.Name, e.Type))
				}
			}
		}
		sort.Strings(names)
		return strings.Join(names, " ")
	})
}

// readAt reads p whole and at an offset.
func readAt(p string, off int64) apiOp {
	return query(fmt.Sprintf("Read(%q, @%d)", p, off), "", func(f sys.FS) string {
		file, errno := f.OpenFile(p, sys.O_RDONLY, 0)
		if errno != 0 {
			return errno.Error()
		}
		defer file.Close()
		all, err := readAll(file)
		buf := make([]byte, 3)
		n, perr := file.Pread(buf, off)
		if isDir, _ := file.IsDir(); isDir {
			return fmt.Sprintf("%q/%v pread=%q/%v", all, err, buf[:n], perr)
		}
		end, serr := file.Seek(0, io.SeekEnd)
		return fmt.Sprintf("%q/%v pread=%q/%v end=%d/%v", all, err, buf[:n], perr, end, serr)
	})
}

func readAll(file sys.File) (string, sys.Errno) {
	var b bytes.Buffer
	buf := make([]byte, 5)
	for range 1000 {
		n, errno := file.Read(buf)
		if errno != 0 {
			return b.String(), errno
		}
		if n == 0 {
			break
		}
		b.Write(buf[:n])
	}
	return b.String(), 0
}

// writeRead writes to p with flag, then (unless off is negative: Go's
// os.File refuses WriteAt on an O_APPEND file, so DirFS fails it with EIO)
// writes "P" at off, then reads it back.
func writeRead(p string, flag sys.Oflag, data string, off int64) apiOp {
	return apiOp{fmt.Sprintf("Write(%q, %#x, %q, @%d)", p, flag, data, off), true, "", false, func(f sys.FS) string {
		file, errno := f.OpenFile(p, sys.O_RDWR|flag, 0o644)
		if errno != 0 {
			return errno.Error()
		}
		n, werr := file.Write([]byte(data))
		var pn int
		var perr sys.Errno
		if off >= 0 {
			pn, perr = file.Pwrite([]byte("P"), off)
		}
		file.Close()
		file, errno = f.OpenFile(p, sys.O_RDONLY, 0)
		if errno != 0 {
			return errno.Error()
		}
		defer file.Close()
		all, rerr := readAll(file)
		return fmt.Sprintf("ok %d/%v pwrite=%d/%v now %q/%v", n, werr, pn, perr, all, rerr)
	}}
}

// inodes checks that inodes are non-zero, stable and distinct.
func inodes(needs string, paths ...string) apiOp {
	return query(fmt.Sprintf("Ino%q", paths), needs, func(f sys.FS) string {
		seen := map[uint64]string{}
		var b strings.Builder
		for _, p := range paths {
			st1, e1 := f.Lstat(p)
			st2, e2 := f.Lstat(p)
			fmt.Fprintf(&b, "%s:%v/%v", p, e1, e2)
			if e1 != 0 || e2 != 0 {
				continue
			}
			if st1.Ino == 0 || st1.Ino != st2.Ino {
				fmt.Fprintf(&b, " unstable")
			}
			if q, dup := seen[st1.Ino]; dup {
				fmt.Fprintf(&b, " same as %s", q)
			}
			seen[st1.Ino] = p
			b.WriteString(" ")
		}
		return b.String()
	})
}

func apiOps() []apiOp {
	return []apiOp{
		stat("hello.txt", true, ""), stat("link", false, "symlink"), stat("link", true, "symlink"), stat("dangling", true, "symlink"),
		stat("dlink/sub/c.txt", true, "symlink"), stat("hello.txt/", true, ""), stat("dir/", true, ""), stat("missing/x", true, ""),
		stat(".", true, ""), stat("/dir", true, ""),
		inodes("", "hello.txt", "dir", "dir/a.txt", "dir/sub/c.txt"),
		list(".", -1, ""), list("dir", 1, ""), list("empty", -1, ""), list("hello.txt", -1, ""),
		readAt("hello.txt", 7), readAt("dir/sub/c.txt", 5), readAt("dir", 0),
		open("hello.txt", sys.O_RDONLY, ""), open("dir", sys.O_RDONLY|sys.O_DIRECTORY, ""), open("hello.txt", sys.O_RDONLY|sys.O_DIRECTORY, ""),
		open("link", sys.O_RDONLY|sys.O_NOFOLLOW, "symlink"), open("dlink", sys.O_RDONLY, "symlink"), open("missing", sys.O_RDONLY, ""),
		open("dir", sys.O_WRONLY, ""), open("hello.txt/", sys.O_RDONLY, ""), open(".", sys.O_RDONLY, ""),
		query("Readlink(link)", "symlink", func(f sys.FS) string { s, e := f.Readlink("link"); return s + " " + fmt.Sprint(e) }),
		query("Readlink(hello.txt)", "", func(f sys.FS) string { s, e := f.Readlink("hello.txt"); return s + " " + fmt.Sprint(e) }),
		open("new", sys.O_WRONLY|sys.O_CREAT|sys.O_EXCL, ""), open("new", sys.O_WRONLY|sys.O_CREAT|sys.O_EXCL, ""),
		open("dir/a.txt", sys.O_RDWR|sys.O_TRUNC, ""), open("missing/new", sys.O_WRONLY|sys.O_CREAT, ""),
		writeRead("new", 0, "abcdef", 2), writeRead("new", sys.O_APPEND, "gh", -1), writeRead("dir/sub/c.txt", sys.O_TRUNC, "xy", 4),
		errOp("Mkdir(dir)", "", func(f sys.FS) sys.Errno { return f.Mkdir("dir", 0o755) }),
		errOp("Mkdir(hello.txt/x)", "", func(f sys.FS) sys.Errno { return f.Mkdir("hello.txt/x", 0o755) }),
		errOp("Mkdir(m)", "", func(f sys.FS) sys.Errno { return f.Mkdir("m", 0o755) }),
		errOp("Rmdir(dir)", "", func(f sys.FS) sys.Errno { return f.Rmdir("dir") }),
		errOp("Rmdir(hello.txt)", "", func(f sys.FS) sys.Errno { return f.Rmdir("hello.txt") }),
		errOp("Unlink(dir)", "", func(f sys.FS) sys.Errno { return f.Unlink("dir") }),
		errOp("Unlink(link)", "symlink", func(f sys.FS) sys.Errno { return f.Unlink("link") }),
		errOp("Unlink(new)", "", func(f sys.FS) sys.Errno { return f.Unlink("new") }),
		stat("hello.txt", false, ""), stat("new", false, ""),
		errOp("Rename(dir/b.txt, dir/sub)", "", func(f sys.FS) sys.Errno { return f.Rename("dir/b.txt", "dir/sub") }),
		errOp("Rename(empty, dir)", "", func(f sys.FS) sys.Errno { return f.Rename("empty", "dir") }),
		errOp("Rename(empty, m)", "", func(f sys.FS) sys.Errno { return f.Rename("empty", "m") }),
		errOp("Rename(dir, dir/sub/x)", "", func(f sys.FS) sys.Errno { return f.Rename("dir", "dir/sub/x") }),
		errOp("Rename(dir, dir)", "", func(f sys.FS) sys.Errno { return f.Rename("dir", "dir") }),
		errOp("Rename(hello.txt, dir/b.txt)", "", func(f sys.FS) sys.Errno { return f.Rename("hello.txt", "dir/b.txt") }),
		stat("dir/b.txt", true, ""), stat("hello.txt", true, ""),
		errOp("Rename(dir/sub, sub2)", "", func(f sys.FS) sys.Errno { return f.Rename("dir/sub", "sub2") }),
		readAt("sub2/c.txt", 0), list("dir", -1, ""),
		errOp("Symlink(/abs, s)", "symlink-make", func(f sys.FS) sys.Errno { return f.Symlink("/abs", "s") }),
		errOp("Symlink(dir/b.txt, s)", "symlink-make", func(f sys.FS) sys.Errno { return f.Symlink("dir/b.txt", "s") }),
		errOp("Symlink(x, s)", "symlink", func(f sys.FS) sys.Errno { return f.Symlink("x", "s") }),
		errOp("Symlink(../b.txt, dir/s)", "symlink", func(f sys.FS) sys.Errno { return f.Symlink("b.txt", "dir/s") }),
		query("Readlink(s)", "symlink", func(f sys.FS) string { s, e := f.Readlink("s"); return s + " " + fmt.Sprint(e) }),
		query("Readlink(dir/s)", "symlink", func(f sys.FS) string { s, e := f.Readlink("dir/s"); return s + " " + fmt.Sprint(e) }),
		readAt("dir/s", 0),
		errOp("Link(dir/b.txt, h)", "hardlink-make", func(f sys.FS) sys.Errno { return f.Link("dir/b.txt", "h") }),
		errOp("Link(dir, h2)", "hardlink", func(f sys.FS) sys.Errno { return f.Link("dir", "h2") }),
		errOp("Utimens(h)", "hardlink", func(f sys.FS) sys.Errno { return f.Utimens("h", 1e9, sys.UTIME_OMIT) }),
		query("Stat(h).Atim", "hardlink atime", func(f sys.FS) string { st, e := f.Stat("h"); return fmt.Sprint(st.Atim, e) }),
		errOp("Chmod(h, 0600)", "hardlink", func(f sys.FS) sys.Errno { return f.Chmod("h", 0o600) }),
		query("Stat(h).Mode", "hardlink", func(f sys.FS) string { st, e := f.Stat("h"); return fmt.Sprint(st.Mode&fs.ModePerm, e) }),
		errOp("Utimens(dir/b.txt)", "", func(f sys.FS) sys.Errno { return f.Utimens("dir/b.txt", 1e9, 2e9) }),
		query("Stat(dir/b.txt).Atim", "atime", func(f sys.FS) string { st, e := f.Stat("dir/b.txt"); return fmt.Sprint(st.Atim, e) }),
		query("Stat(dir/b.txt).Mtim", "", func(f sys.FS) string { st, e := f.Stat("dir/b.txt"); return fmt.Sprint(st.Mtim, e) }),
		errOp("Chmod(dir/b.txt, 0640)", "", func(f sys.FS) sys.Errno { return f.Chmod("dir/b.txt", 0o640) }),
		query("Stat(dir/b.txt).Mode", "", func(f sys.FS) string { st, e := f.Stat("dir/b.txt"); return fmt.Sprint(st.Mode&fs.ModePerm, e) }),
		errOp("Rmdir(m)", "", func(f sys.FS) sys.Errno { return f.Rmdir("m") }),
		list(".", -1, ""),
	}
}
