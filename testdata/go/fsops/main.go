//go:build wasip1

// fsops performs a scripted sequence of file operations under a directory
// through Go's os package and prints one line per operation, so the
// transcript on a wrun vfs layer can be compared with the transcript on a
// host directory through wazero's DirFS. Usage: fsops PHASE DIR, PHASE one
// of read, write, cow, rofs.
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"
)

func ename(err error) string {
	if err == nil {
		return "ok"
	}
	if errors.Is(err, io.EOF) {
		return "EOF"
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return "error(" + err.Error() + ")"
	}
	names := map[syscall.Errno]string{
		syscall.EACCES: "EACCES", syscall.EBADF: "EBADF", syscall.EEXIST: "EEXIST",
		syscall.EINVAL: "EINVAL", syscall.EIO: "EIO", syscall.EISDIR: "EISDIR",
		syscall.ELOOP: "ELOOP", syscall.ENOENT: "ENOENT", syscall.ENOSYS: "ENOSYS",
		syscall.ENOTDIR: "ENOTDIR", syscall.ENOTEMPTY: "ENOTEMPTY", syscall.ENOTSUP: "ENOTSUP",
		syscall.EPERM: "EPERM", syscall.EROFS: "EROFS", syscall.EXDEV: "EXDEV",
		syscall.ENOSPC: "ENOSPC", syscall.EBUSY: "EBUSY",
	}
	if n, ok := names[errno]; ok {
		return n
	}
	return fmt.Sprintf("errno%d", int(errno))
}

func res(what string, err error) { fmt.Printf("%s: %s\n", what, ename(err)) }

func data(what string, b []byte, n int, err error) {
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Printf("%s: %s\n", what, ename(err))
		return
	}
	fmt.Printf("%s: n=%d %q eof=%v\n", what, n, b[:n], errors.Is(err, io.EOF))
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "file"
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "other"
}

func stat(p string, follow bool) {
	op, f := "lstat", os.Lstat
	if follow {
		op, f = "stat", os.Stat
	}
	fi, err := f(p)
	switch {
	case err != nil:
		fmt.Printf("%s %s: %s\n", op, p, ename(err))
	case fi.IsDir():
		fmt.Printf("%s %s: dir\n", op, p)
	default:
		fmt.Printf("%s %s: %s size=%d\n", op, p, kind(fi.Mode()), fi.Size())
	}
}

func ino(p string) uint64 {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return 0
	}
	return st.Ino
}

func cat(p string) {
	b, err := os.ReadFile(p)
	if err != nil {
		fmt.Printf("cat %s: %s\n", p, ename(err))
		return
	}
	fmt.Printf("cat %s: %q\n", p, b)
}

// list reads a directory two entries at a time (so the runtime continues
// from fd_readdir cookies) and prints the sorted names and types.
func list(p string) {
	f, err := os.Open(p)
	if err != nil {
		fmt.Printf("readdir %s: %s\n", p, ename(err))
		return
	}
	defer f.Close()
	var names []string
	for {
		ents, err := f.ReadDir(2)
		for _, e := range ents {
			names = append(names, e.Name()+"("+kind(e.Type())+")")
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Printf("readdir %s: %s\n", p, ename(err))
			return
		}
	}
	sort.Strings(names)
	fmt.Printf("readdir %s: %s\n", p, strings.Join(names, " "))
}

func phaseRead() {
	for _, p := range []string{"hello.txt", "dir", "dir/sub/c.txt", "missing", "dir/missing/x", "hello.txt/x", "link", "dlink/a.txt", "dangling"} {
		stat(p, true)
	}
	stat("link", false)
	stat("dangling", false)
	if fi, err := os.Stat("hello.txt"); err == nil {
		fmt.Println("mtime hello.txt:", fi.ModTime().Unix())
	}
	fmt.Println("ino stable:", ino("hello.txt") == ino("hello.txt") && ino("hello.txt") != 0, "distinct:", ino("hello.txt") != ino("dir/a.txt"))

	f, err := os.Open("hello.txt")
	res("open hello.txt", err)
	b := make([]byte, 64)
	n, err := f.Read(b[:5])
	data("read 5", b, n, err)
	n, err = f.Read(b)
	data("read rest", b, n, err)
	n, err = f.Read(b)
	data("read eof", b, n, err)
	n, err = f.ReadAt(b[:5], 7)
	data("readat 7+5", b, n, err)
	n, err = f.ReadAt(b[:5], 100)
	data("readat past end", b, n, err)
	off, err := f.Seek(-3, io.SeekEnd)
	fmt.Println("seek end-3:", off, ename(err))
	n, err = f.Read(b)
	data("read after seek", b, n, err)
	_, err = f.Seek(-1, io.SeekStart)
	res("seek -1", err)
	fi, err := f.Stat()
	if err == nil {
		fmt.Println("fstat:", kind(fi.Mode()), fi.Size(), fi.Sys().(*syscall.Stat_t).Ino == ino("hello.txt"))
	}
	_, err = f.Write([]byte("x"))
	res("write rdonly", err)
	res("close", f.Close())

	_, err = os.Open("missing")
	res("open missing", err)
	_, err = os.Open("hello.txt/")
	res("open hello.txt/", err)
	_, err = os.OpenFile("dir", os.O_WRONLY, 0)
	res("open dir wronly", err)
	d, err := os.Open("dir")
	res("open dir", err)
	_, err = d.Read(b)
	res("read dir", err)
	d.Close()
	cat("link")
	cat("dlink/b.txt")
	cat("dir/sub/c.txt")
	for _, p := range []string{"link", "dlink", "hello.txt", "missing"} {
		t, err := os.Readlink(p)
		fmt.Printf("readlink %s: %q %s\n", p, t, ename(err))
	}
	for _, p := range []string{".", "dir", "empty", "dlink", "hello.txt", "missing"} {
		list(p)
	}
}

func phaseWrite() {
	b := make([]byte, 64)
	res("mkdir w", os.Mkdir("w", 0o755))
	res("mkdir w again", os.Mkdir("w", 0o755))
	res("mkdir w/x/y", os.Mkdir("w/x/y", 0o755))
	f, err := os.OpenFile("w/f", os.O_CREATE|os.O_WRONLY, 0o644)
	res("creat w/f", err)
	n, err := f.Write([]byte("0123456789"))
	fmt.Println("write:", n, ename(err))
	_, err = f.Read(b)
	res("read wronly", err)
	f.Close()
	_, err = os.OpenFile("w/f", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	res("creat excl", err)
	_, err = os.Open("w/nope")
	res("open w/nope", err)
	f, err = os.OpenFile("w/f", os.O_RDWR, 0)
	res("open rdwr", err)
	n, err = f.WriteAt([]byte("AB"), 2)
	fmt.Println("writeat:", n, ename(err))
	n, err = f.ReadAt(b[:4], 0)
	data("readat 4", b, n, err)
	_, err = f.Seek(20, io.SeekStart)
	res("seek 20", err)
	_, err = f.Write([]byte("E"))
	res("write E", err)
	n, err = f.ReadAt(b[:16], 6)
	data("readat 16@6", b, n, err)
	res("truncate 8", f.Truncate(8))
	fi, _ := f.Stat()
	fmt.Println("size:", fi.Size())
	res("truncate -1", f.Truncate(-1))
	f.Close()
	f, _ = os.Open("w/f")
	res("truncate rdonly", f.Truncate(0))
	f.Close()
	f, err = os.OpenFile("w/f", os.O_WRONLY|os.O_APPEND, 0)
	res("open append", err)
	f.Write([]byte("!!"))
	f.Close()
	cat("w/f")
	f, _ = os.OpenFile("w/f", os.O_WRONLY|os.O_TRUNC, 0)
	f.Write([]byte("xyz"))
	f.Close()
	cat("w/f")
	res("truncate path", os.Truncate("w/f", 2))
	cat("w/f")
	res("truncate missing", os.Truncate("w/nope", 2))
	res("chtimes", os.Chtimes("w/f", time.Unix(1000, 0), time.Unix(2000, 7)))
	if fi, err := os.Stat("w/f"); err == nil {
		fmt.Println("mtime:", fi.ModTime().UnixNano())
	}
	res("chtimes missing", os.Chtimes("w/nope", time.Unix(1000, 0), time.Unix(2000, 0)))

	res("symlink", os.Symlink("f", "w/l"))
	res("symlink again", os.Symlink("f", "w/l"))
	res("symlink absolute", os.Symlink("/etc/passwd", "w/abs"))
	res("symlink dangling", os.Symlink("nope", "w/dang"))
	stat("w/l", false)
	stat("w/l", true)
	stat("w/dang", true)
	t, err := os.Readlink("w/l")
	fmt.Printf("readlink: %q %s\n", t, ename(err))
	cat("w/l")
	res("link", os.Link("w/f", "w/h"))
	fmt.Println("hard link same inode:", ino("w/f") == ino("w/h"))
	res("link existing", os.Link("w/f", "w/h"))

	res("mkdir w/d", os.Mkdir("w/d", 0o755))
	os.WriteFile("w/d/inner", []byte("in"), 0o644)
	res("rmdir nonempty", syscall.Rmdir("w/d"))
	res("unlink dir", syscall.Unlink("w/d"))
	res("rmdir file", syscall.Rmdir("w/f"))
	res("rmdir missing", syscall.Rmdir("w/nope"))
	res("unlink missing", syscall.Unlink("w/nope"))
	i := ino("w/f")
	res("rename f g", os.Rename("w/f", "w/g"))
	fmt.Println("ino kept:", ino("w/g") == i)
	res("rename d d2", os.Rename("w/d", "w/d2"))
	res("rename file onto dir", os.Rename("w/g", "w/d2"))
	res("rename dir onto file", os.Rename("w/d2", "w/g"))
	res("mkdir w/e", os.Mkdir("w/e", 0o755))
	res("rename onto nonempty", os.Rename("w/e", "w/d2"))
	res("rename onto empty", os.Rename("w/d2", "w/e"))
	res("rename into itself", os.Rename("w/e", "w/e/sub"))
	res("rename missing", os.Rename("w/nope", "w/z"))
	list("w")
	list("w/e")
	res("removeall w", os.RemoveAll("w"))
	stat("w", true)
}

func phaseCow() {
	f, err := os.OpenFile("hello.txt", os.O_WRONLY|os.O_APPEND, 0)
	res("open append", err)
	f.Write([]byte("more\n"))
	f.Close()
	cat("hello.txt")
	res("unlink dir/a.txt", os.Remove("dir/a.txt"))
	stat("dir/a.txt", true)
	res("rename dir/b.txt", os.Rename("dir/b.txt", "b2.txt"))
	cat("b2.txt")
	cat("dir/b.txt")
	res("rmdir dir/sub", syscall.Rmdir("dir/sub"))
	res("removeall dir/sub", os.RemoveAll("dir/sub"))
	list("dir")
	res("rmdir empty", syscall.Rmdir("empty"))
	res("mkdir empty", os.Mkdir("empty", 0o755))
	list("empty")
	res("write dir/a.txt", os.WriteFile("dir/a.txt", []byte("new"), 0o644))
	res("rename dir", os.Rename("dir", "renamed"))
	list("renamed")
	cat("renamed/a.txt")
	res("remove link", os.Remove("link"))
	cat("link")
	cat("dlink/a.txt")
	res("truncate hello.txt", os.Truncate("hello.txt", 0))
	stat("hello.txt", true)
	list(".")
}

func phaseRofs() {
	_, err := os.Open("hello.txt")
	res("open rdonly", err)
	_, err = os.OpenFile("hello.txt", os.O_WRONLY, 0)
	res("open wronly", err)
	_, err = os.OpenFile("new", os.O_CREATE|os.O_WRONLY, 0o644)
	res("creat", err)
	_, err = os.OpenFile("hello.txt", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	res("creat excl existing", err)
	res("mkdir new", os.Mkdir("newdir", 0o755))
	res("mkdir existing", os.Mkdir("dir", 0o755))
	res("unlink", syscall.Unlink("hello.txt"))
	res("rmdir", syscall.Rmdir("empty"))
	res("rename", os.Rename("hello.txt", "renamed"))
	res("symlink", os.Symlink("hello.txt", "newlink"))
	res("link", os.Link("hello.txt", "newhard"))
	res("truncate", os.Truncate("hello.txt", 0))
	res("chtimes", os.Chtimes("hello.txt", time.Unix(1000, 0), time.Unix(2000, 0)))
	cat("hello.txt")
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: fsops read|write|cow|rofs DIR")
		os.Exit(2)
	}
	if err := os.Chdir(os.Args[2]); err != nil {
		fmt.Println("chdir:", ename(err))
		os.Exit(1)
	}
	switch os.Args[1] {
	case "read":
		phaseRead()
	case "write":
		phaseWrite()
	case "cow":
		phaseCow()
	case "rofs":
		phaseRofs()
	default:
		fmt.Fprintln(os.Stderr, "fsops: unknown phase", os.Args[1])
		os.Exit(2)
	}
}
