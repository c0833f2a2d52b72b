package vfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
)

// IndexFile is one regular file of an index layer (NewIndexLayer): its
// slash-separated path relative to the layer's directory and its size in
// bytes.
type IndexFile struct {
	Path string
	Size int64
}

// Bounds on the list NewIndexLayer takes, which it treats as untrusted
// input: at most MaxIndexFiles files, whose paths hold at most
// MaxIndexPathBytes bytes in all and each at most maxIndexPathLen (the
// longest package path bundle.ValidatePath accepts).
const (
	MaxIndexFiles     = 1 << 20
	MaxIndexPathBytes = 64 << 20
	maxIndexPathLen   = 65535
)

// NewIndexLayer returns a read-only layer serving the regular files listed
// in files from the host directory dir, without walking the directory or
// looking at any file: the list is the layer's tree. It is for a directory
// whose content was verified against that list when it was written (a
// pulled package, extracted into wrun's cache and hashed once), where
// walking and stat-ing every file on every start would only repeat what is
// known.
//
// Directories are implied by the paths. Inode numbers are made up per
// layer (never the host's), every node has the time of dir's modification
// (one stat of dir, here), files have mode 0444 and directories dir's own
// permissions: what a guest saw of an extracted package through
// NewDirLayer, which reads them from the host. Directories list in byte
// order, as every layer lists them.
//
// Each path must be a clean relative path (not empty, not absolute, no
// empty, "." or ".." segment, no NUL, valid UTF-8), listed once, and not
// also a directory of another path; the list is bounded (MaxIndexFiles,
// MaxIndexPathBytes). A list breaking any rule is refused with an error
// naming the path (wrapping ErrUnsafeEntry for one that would leave dir).
// Sorted input (by path, as bundle.Package.Files returns it) builds
// fastest; any order is accepted.
//
// Every open of a file opens it beneath dir as NewDirLayer does (through
// openat2 confined to dir, following no symbolic link; through an os.Root,
// which follows links that stay inside dir, where the kernel lacks
// openat2) and checks, with fstat on what was opened, that it is a regular
// file of exactly its listed size; otherwise the guest's open fails with
// EIO: the directory changed since it was verified. (Host limits on open
// files still report EMFILE.) Stat and directory listings never touch the
// host. The layer keeps dir open; it implements io.Closer to release it.
func NewIndexLayer(dir string, files []IndexFile) (sys.FS, error) {
	if err := checkIndexBounds(files); err != nil {
		return nil, fmt.Errorf("index layer for %q: %w", dir, err)
	}
	root, beneath, fi, err := openAssetDir(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		closeAssetDir(root, beneath)
		return nil, fmt.Errorf("asset directory %q is not a directory", dir)
	}
	t, err := buildIndex(&indexDir{root: root, beneath: beneath}, files, fi.ModTime().UnixNano(), fi.Mode().Perm())
	if err != nil {
		closeAssetDir(root, beneath)
		return nil, fmt.Errorf("index layer for %q: %w", dir, err)
	}
	t.holdAssetDir(root, beneath)
	return t, nil
}

// checkIndexBounds checks the size of an index before anything is built.
func checkIndexBounds(files []IndexFile) error {
	if len(files) > MaxIndexFiles {
		return fmt.Errorf("%d files, more than the %d an index may list", len(files), MaxIndexFiles)
	}
	var total int
	for _, f := range files {
		if total += len(f.Path); total > MaxIndexPathBytes {
			return fmt.Errorf("the paths hold more than the %d bytes an index may list", MaxIndexPathBytes)
		}
	}
	return nil
}

// checkIndexPath applies bundle.ValidatePath's rules to p, in one pass.
func checkIndexPath(p string) error {
	bad := func(why string) error { return fmt.Errorf("%q: %s", p, why) }
	switch {
	case p == "":
		return errors.New("an empty path")
	case len(p) > maxIndexPathLen:
		return fmt.Errorf("a path of %d bytes is longer than %d bytes", len(p), maxIndexPathLen)
	case p[0] == '/':
		return fmt.Errorf("%q: absolute path: %w", p, ErrUnsafeEntry)
	}
	ascii := true
	seg := 0 // start of the current segment
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			switch c := p[i]; {
			case c == 0:
				return bad("contains a NUL byte")
			case c >= utf8.RuneSelf:
				ascii = false
			}
			continue
		}
		switch p[seg:i] {
		case "":
			if i == len(p) {
				return bad("trailing '/'")
			}
			return bad("empty segment ('//')")
		case ".":
			return bad(`"." segment`)
		case "..":
			return fmt.Errorf("%q: %w", p, ErrUnsafeEntry)
		}
		seg = i + 1
	}
	if !ascii && !utf8.ValidString(p) {
		return bad("not valid UTF-8")
	}
	return nil
}

// buildIndex makes the frozen tree of an index layer in two passes: the
// first finds (or makes) each file's directory, the second gives every
// directory its map and sorted list at their final sizes and fills them
// (growing maps and slices entry by entry was half of the time).
func buildIndex(d *indexDir, files []IndexFile, mtim int64, dirPerm fs.FileMode) (*tree, error) {
	ino := wsys.Inode(randomSeed()|1<<63) &^ (1<<32 - 1) // room for MaxIndexFiles files and their directories
	type dirInfo struct {
		n       *node
		name    string // its name in its parent
		parent  int    // index in dirs, -1 for the root
		entries int    // files and subdirectories
	}
	newDir := func() *node {
		ino++
		return &node{ino: ino, mode: fs.ModeDir | dirPerm, nlink: 2, atim: mtim, mtim: mtim, ctim: mtim}
	}
	t := &tree{readOnly: true, root: newDir()}
	dirs := []dirInfo{{n: t.root, parent: -1}}
	subdirs := map[string]int{} // a directory's path → its index in dirs
	parents := make([]int, len(files))
	lastParent, lastDir := "", 0 // consecutive sorted paths share their directory
	for i, f := range files {
		if err := checkIndexPath(f.Path); err != nil {
			return nil, err
		}
		if f.Size < 0 {
			return nil, fmt.Errorf("%q: negative size %d", f.Path, f.Size)
		}
		parent := ""
		if j := strings.LastIndexByte(f.Path, '/'); j >= 0 {
			parent = f.Path[:j]
		}
		if parent != lastParent {
			// Find the directory, or make it and its missing ancestors.
			at, ok := subdirs[parent]
			if !ok {
				at = 0
				for walked := 0; walked < len(parent); {
					c, _, _ := strings.Cut(parent[walked:], "/")
					walked += len(c) + 1
					sub, ok := subdirs[parent[:walked-1]]
					if !ok {
						sub = len(dirs)
						dirs = append(dirs, dirInfo{n: newDir(), name: c, parent: at})
						dirs[at].entries++
						subdirs[parent[:walked-1]] = sub
					}
					at = sub
				}
			}
			lastParent, lastDir = parent, at
		}
		parents[i] = lastDir
		dirs[lastDir].entries++
	}
	names := make([]string, 0, len(files)+len(dirs)-1) // every directory's sorted list, in one allocation
	for i := range dirs {
		di := &dirs[i]
		di.n.kids = make(map[string]*node, di.entries)
		di.n.sorted = names[len(names) : len(names) : len(names)+di.entries]
		names = names[:len(names)+di.entries]
		if di.parent >= 0 {
			p := dirs[di.parent].n
			p.kids[di.name] = di.n
			p.sorted = append(p.sorted, di.name)
			p.nlink++
		}
	}
	nodes := make([]node, len(files)) // one allocation for every file
	srcs := make([]indexSource, len(files))
	for i, f := range files {
		dir, name := dirs[parents[i]].n, f.Path
		if j := strings.LastIndexByte(name, '/'); j >= 0 {
			name = name[j+1:]
		}
		if k := dir.kids[name]; k != nil {
			if k.isDir() {
				return nil, fmt.Errorf("%q is listed as a file and is also a directory", f.Path)
			}
			return nil, fmt.Errorf("%q is listed twice", f.Path)
		}
		ino++
		// Field by field: assigning whole structs into the slabs costs a
		// bulk write barrier each while the GC runs.
		src := &srcs[i]
		src.d, src.name, src.size = d, f.Path, f.Size
		n := &nodes[i]
		n.ino, n.mode, n.nlink, n.atim, n.mtim, n.ctim = ino, 0o444, 1, mtim, mtim, mtim
		n.src, n.size = src, f.Size
		dir.kids[name] = n
		dir.sorted = append(dir.sorted, name)
	}
	for i := range dirs {
		if s := dirs[i].n.sorted; !slices.IsSorted(s) {
			slices.Sort(s)
		}
	}
	return t, nil
}

// indexDir is the host directory of an index layer.
type indexDir struct {
	root    *os.Root
	beneath *os.File // nil without openat2
}

// indexSource is a file of an index layer: opened beneath the layer's
// directory and checked against its listed size on every open.
type indexSource struct {
	d    *indexDir
	name string
	size int64
}

var _ checkedSource = (*indexSource)(nil)

func (*indexSource) checksOnOpen() {}

func (s *indexSource) open() (reader, sys.Errno) {
	r, errno := fileSource(s.d.root, s.d.beneath, s.name).open()
	if errno != 0 {
		if errno == errTooManyOpen {
			return nil, errno // the host's limit, not the file's fault
		}
		return nil, sys.EIO // gone, or a link or a special file put in its place
	}
	f, ok := r.(*os.File)
	if !ok {
		r.Close()
		return nil, sys.EIO
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != s.size {
		f.Close()
		return nil, sys.EIO // changed since it was verified
	}
	return f, 0
}
