package vfs_test

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// apiOp is one sys.FS call; it returns what a transcript line shows.
type apiOp struct {
	name   string
	mutate bool
	do     func(sys.FS) string
}

func open(p string, flag sys.Oflag) apiOp {
	return apiOp{fmt.Sprintf("OpenFile(%q, %#x)", p, flag), flag&(sys.O_WRONLY|sys.O_RDWR|sys.O_CREAT|sys.O_TRUNC) != 0, func(f sys.FS) string {
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

func stat(p string, follow bool) apiOp {
	return apiOp{fmt.Sprintf("Stat(%q, follow=%v)", p, follow), false, func(f sys.FS) string {
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

func errOp(name string, mutate bool, do func(sys.FS) sys.Errno) apiOp {
	return apiOp{name, mutate, func(f sys.FS) string { return fmt.Sprint(do(f)) }}
}

var apiOps = []apiOp{
	stat("hello.txt", true), stat("link", false), stat("link", true), stat("dangling", true),
	stat("dlink/sub/c.txt", true), stat("hello.txt/", true), stat("dir/", true), stat("missing/x", true),
	stat(".", true), stat("/dir", true),
	open("hello.txt", sys.O_RDONLY), open("dir", sys.O_RDONLY|sys.O_DIRECTORY), open("hello.txt", sys.O_RDONLY|sys.O_DIRECTORY),
	open("link", sys.O_RDONLY|sys.O_NOFOLLOW), open("dlink", sys.O_RDONLY), open("missing", sys.O_RDONLY),
	open("dir", sys.O_WRONLY), open("hello.txt/", sys.O_RDONLY), open(".", sys.O_RDONLY),
	{"Readlink(link)", false, func(f sys.FS) string { s, e := f.Readlink("link"); return s + " " + fmt.Sprint(e) }},
	{"Readlink(hello.txt)", false, func(f sys.FS) string { s, e := f.Readlink("hello.txt"); return s + " " + fmt.Sprint(e) }},
	open("new", sys.O_WRONLY|sys.O_CREAT|sys.O_EXCL), open("new", sys.O_WRONLY|sys.O_CREAT|sys.O_EXCL),
	open("dir/a.txt", sys.O_RDWR|sys.O_TRUNC), open("missing/new", sys.O_WRONLY|sys.O_CREAT),
	errOp("Mkdir(dir)", true, func(f sys.FS) sys.Errno { return f.Mkdir("dir", 0o755) }),
	errOp("Mkdir(hello.txt/x)", true, func(f sys.FS) sys.Errno { return f.Mkdir("hello.txt/x", 0o755) }),
	errOp("Mkdir(m)", true, func(f sys.FS) sys.Errno { return f.Mkdir("m", 0o755) }),
	errOp("Rmdir(dir)", true, func(f sys.FS) sys.Errno { return f.Rmdir("dir") }),
	errOp("Rmdir(hello.txt)", true, func(f sys.FS) sys.Errno { return f.Rmdir("hello.txt") }),
	errOp("Unlink(dir)", true, func(f sys.FS) sys.Errno { return f.Unlink("dir") }),
	errOp("Unlink(link)", true, func(f sys.FS) sys.Errno { return f.Unlink("link") }),
	stat("hello.txt", false),
	errOp("Rename(dir/b.txt, dir/sub)", true, func(f sys.FS) sys.Errno { return f.Rename("dir/b.txt", "dir/sub") }),
	errOp("Rename(empty, dir)", true, func(f sys.FS) sys.Errno { return f.Rename("empty", "dir") }),
	errOp("Rename(empty, m)", true, func(f sys.FS) sys.Errno { return f.Rename("empty", "m") }),
	errOp("Rename(dir, dir/sub/x)", true, func(f sys.FS) sys.Errno { return f.Rename("dir", "dir/sub/x") }),
	errOp("Rename(hello.txt, dir/b.txt)", true, func(f sys.FS) sys.Errno { return f.Rename("hello.txt", "dir/b.txt") }),
	stat("dir/b.txt", true),
	errOp("Symlink(/abs, s)", true, func(f sys.FS) sys.Errno { return f.Symlink("/abs", "s") }),
	errOp("Symlink(dir/b.txt, s)", true, func(f sys.FS) sys.Errno { return f.Symlink("dir/b.txt", "s") }),
	errOp("Symlink(x, s)", true, func(f sys.FS) sys.Errno { return f.Symlink("x", "s") }),
	errOp("Link(dir/b.txt, h)", true, func(f sys.FS) sys.Errno { return f.Link("dir/b.txt", "h") }),
	errOp("Link(dir, h2)", true, func(f sys.FS) sys.Errno { return f.Link("dir", "h2") }),
	errOp("Utimens(h)", true, func(f sys.FS) sys.Errno { return f.Utimens("h", 1e9, sys.UTIME_OMIT) }),
	{"Stat(h).Atim", false, func(f sys.FS) string { st, e := f.Stat("h"); return fmt.Sprint(st.Atim, e) }},
	errOp("Chmod(h, 0600)", true, func(f sys.FS) sys.Errno { return f.Chmod("h", 0o600) }),
	{"Stat(h).Mode", false, func(f sys.FS) string { st, e := f.Stat("h"); return fmt.Sprint(st.Mode&fs.ModePerm, e) }},
}

// TestAPIConformance calls every layer's sys.FS methods directly with the
// same sequence as wazero's DirFS on a host directory and compares.
func TestAPIConformance(t *testing.T) {
	transcript := func(f sys.FS, mutating bool) string {
		var b strings.Builder
		for _, op := range apiOps {
			if op.mutate && !mutating {
				continue
			}
			fmt.Fprintf(&b, "%s: %s\n", op.name, op.do(f))
		}
		return b.String()
	}
	wantRW := transcript(sysfs.DirFS(hostFixture(t)), true)
	wantRO := transcript(sysfs.DirFS(hostFixture(t)), false)
	t.Logf("DirFS:\n%s", wantRW)
	for _, l := range writableLayers() {
		t.Run(l.name, func(t *testing.T) {
			if got := transcript(l.new(t), true); got != wantRW {
				t.Errorf("differs from DirFS:\n%s", diff(wantRW, got))
			}
		})
	}
	for _, l := range readOnlyLayers() {
		t.Run(l.name, func(t *testing.T) {
			if got := transcript(l.new(t), false); got != wantRO {
				t.Errorf("differs from DirFS:\n%s", diff(wantRO, got))
			}
		})
	}
}
