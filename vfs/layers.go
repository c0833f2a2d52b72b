package vfs

import (
	"archive/tar"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
	"github.com/wrun-dev/wrun/internal/bytecount"
)

// ErrUnsafeEntry is returned (wrapped, naming the entry) when an asset
// source holds a path or a symbolic link that would lead outside the layer:
// an absolute path, a ".." that climbs above the root, or a link whose
// target does. Such a source is refused as a whole.
var ErrUnsafeEntry = errors.New("entry escapes the layer")

// Inode numbers. Host and directory layers report the host's inodes. Map
// and tar layers hash each path with a seed drawn per layer, with the top
// bit set: stable per file, and two layers mounted side by side do not
// report the same inode for their own "a.txt" (os.SameFile compares them).
// Index layers count from such a random base, one number per file and
// directory (no hashing: they are built on every start).
// Writable trees count from a random base between 2^62 and 2^63, above
// host inodes and below hashed ones.

func randomSeed() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

func writableInoBase() wsys.Inode {
	return 1<<62 | (randomSeed()>>3)&^(1<<32-1)
}

// pathIno is the inode of path p in a layer seeded with seed.
func pathIno(seed uint64, p string) wsys.Inode {
	h := fnv.New64a()
	binary.Write(h, binary.LittleEndian, seed)
	h.Write([]byte(p))
	return h.Sum64() | 1<<63
}

// frozen builds read-only trees from a list of entries.
type frozen struct {
	t    *tree
	seed uint64
}

func newFrozen(mtim int64) *frozen {
	seed := randomSeed()
	root := &node{ino: pathIno(seed, ""), mode: fs.ModeDir | 0o755, nlink: 2, kids: map[string]*node{}, atim: mtim, mtim: mtim, ctim: mtim}
	return &frozen{t: &tree{readOnly: true, root: root}, seed: seed}
}

// cleanEntry validates an entry name from an asset source and returns it
// clean and relative, "" for the root.
func cleanEntry(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%q: absolute path: %w", name, ErrUnsafeEntry)
	}
	c := path.Clean(name)
	if c == "." {
		return "", nil
	}
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%q: %w", name, ErrUnsafeEntry)
	}
	return c, nil
}

// checkTarget refuses a symbolic link at p whose target leaves the layer.
func checkTarget(p, target string) error {
	if path.IsAbs(target) {
		return fmt.Errorf("%q: absolute symbolic link: %w", p, ErrUnsafeEntry)
	}
	j := path.Join(path.Dir(p), target)
	if j == ".." || strings.HasPrefix(j, "../") {
		return fmt.Errorf("%q: symbolic link target %q: %w", p, target, ErrUnsafeEntry)
	}
	return nil
}

// dir returns the directory node at clean path p, creating missing
// directories.
func (b *frozen) dir(p string) (*node, error) {
	d := b.t.root
	if p == "" {
		return d, nil
	}
	walked := ""
	for _, c := range strings.Split(p, "/") {
		walked = path.Join(walked, c)
		k := d.kids[c]
		if k == nil {
			k = &node{ino: pathIno(b.seed, walked), mode: fs.ModeDir | 0o755, nlink: 2, kids: map[string]*node{}, atim: d.mtim, mtim: d.mtim, ctim: d.mtim}
			d.kids[c] = k
			d.nlink++
		} else if !k.isDir() {
			return nil, fmt.Errorf("%q: %q is not a directory", p, walked)
		}
		d = k
	}
	return d, nil
}

// put places n at clean path p (not the root), replacing what was there
// unless both are directories.
func (b *frozen) put(p string, n *node) error {
	parent, name := path.Split(p)
	d, err := b.dir(strings.TrimSuffix(parent, "/"))
	if err != nil {
		return err
	}
	if old := d.kids[name]; old != nil && old.isDir() && n.isDir() {
		old.mode, old.atim, old.mtim, old.ctim = n.mode, n.atim, n.mtim, n.ctim
		if n.ino != 0 {
			old.ino = n.ino
		}
		return nil
	}
	if n.isDir() {
		n.kids = map[string]*node{}
		n.nlink = 2
		d.nlink++
	}
	if n.ino == 0 {
		n.ino = pathIno(b.seed, p)
	}
	d.kids[name] = n
	return nil
}

// MapFile is one entry of a map layer, like testing/fstest's MapFile: a
// regular file holding Data, a directory (Mode has fs.ModeDir) or a
// symbolic link whose target is Data (Mode has fs.ModeSymlink). A zero
// permission means 0o444 for files, 0o555 for directories.
type MapFile struct {
	Data    []byte
	Mode    fs.FileMode
	ModTime time.Time
}

// NewMapLayer returns a read-only layer holding files, keyed by slash
// separated relative paths; missing parent directories are implied. The
// byte slices are shared by every instance, never copied: do not modify
// them afterwards. A path that is absolute or climbs out with "..", or a
// link that leads outside, is refused with ErrUnsafeEntry.
func NewMapLayer(files map[string]MapFile) (sys.FS, error) {
	b := newFrozen(0)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names) // parents before children, so explicit directories keep their mode
	for _, name := range names {
		f := files[name]
		p, err := cleanEntry(name)
		if err != nil {
			return nil, fmt.Errorf("map layer: %w", err)
		}
		var mt int64
		if !f.ModTime.IsZero() {
			mt = f.ModTime.UnixNano()
		}
		n := &node{mode: f.Mode, nlink: 1, atim: mt, mtim: mt, ctim: mt}
		switch {
		case f.Mode.IsDir():
			if f.Mode.Perm() == 0 {
				n.mode |= 0o555
			}
		case f.Mode&fs.ModeSymlink != 0:
			n.mode, n.target = fs.ModeSymlink|0o777, string(f.Data)
			if err := checkTarget(p, n.target); err != nil {
				return nil, fmt.Errorf("map layer: %w", err)
			}
		case f.Mode.Type() != 0:
			return nil, fmt.Errorf("map layer: %q: %v is not a regular file, directory or symbolic link", name, f.Mode.Type())
		default:
			if f.Mode.Perm() == 0 {
				n.mode |= 0o444
			}
			n.src, n.size = bytesSource(f.Data), int64(len(f.Data))
		}
		if p == "" {
			if !n.isDir() {
				return nil, fmt.Errorf("map layer: %q names the root, not a file", name)
			}
			b.t.root.mode, b.t.root.mtim = n.mode, mt
			continue
		}
		if err := b.put(p, n); err != nil {
			return nil, fmt.Errorf("map layer: %w", err)
		}
	}
	finish(b.t.root)
	return b.t, nil
}

// NewDirLayer returns a read-only layer serving the host directory dir. The
// tree (names, types, sizes, times, host inodes) is read once, here; file
// bytes are read from dir on demand through an os.Root, so they are never
// copied, and every instance shares the same layer. The directory must not
// change while the layer is in use (it is package content). A symbolic link
// that leads outside dir is refused with ErrUnsafeEntry; other special files
// (devices, sockets, pipes) are refused too. The layer keeps dir open; it
// implements io.Closer to release it.
func NewDirLayer(dir string) (sys.FS, error) {
	root, beneath, fi, err := openAssetDir(dir)
	if err != nil {
		return nil, err
	}
	b := newFrozen(0)
	st := wsys.NewStat_t(fi)
	b.t.root.ino, b.t.root.mode = st.Ino, st.Mode
	b.t.root.atim, b.t.root.mtim, b.t.root.ctim = st.Atim, st.Mtim, st.Ctim
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := wsys.NewStat_t(fi)
		n := &node{ino: st.Ino, mode: st.Mode, nlink: st.Nlink, atim: st.Atim, mtim: st.Mtim, ctim: st.Ctim}
		switch t := fi.Mode().Type(); {
		case t == 0:
			n.src, n.size = fileSource(root, beneath, p), st.Size
		case t == fs.ModeDir:
		case t == fs.ModeSymlink:
			if n.target, err = root.Readlink(p); err != nil {
				return err
			}
			if err := checkTarget(p, n.target); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%q: %v is not a regular file, directory or symbolic link", p, t)
		}
		return b.put(p, n)
	})
	if err != nil {
		closeAssetDir(root, beneath)
		return nil, fmt.Errorf("asset directory %q: %w", dir, err)
	}
	b.t.holdAssetDir(root, beneath)
	finish(b.t.root)
	return b.t, nil
}

// openAssetDir opens the host directory of a directory or index layer: an
// os.Root, the directory for openat2 when the kernel has it (nil
// otherwise), and the directory's own file info.
func openAssetDir(dir string) (*os.Root, *os.File, fs.FileInfo, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("asset directory %q: %w: create it or fix the path", dir, err)
	}
	fi, err := root.Stat(".")
	if err != nil {
		root.Close()
		return nil, nil, nil, fmt.Errorf("asset directory %q: %w", dir, err)
	}
	return root, openBeneathDir(dir), fi, nil
}

func closeAssetDir(root *os.Root, beneath *os.File) {
	root.Close()
	if beneath != nil {
		beneath.Close()
	}
}

// holdAssetDir makes t's Close release what openAssetDir opened.
func (t *tree) holdAssetDir(root *os.Root, beneath *os.File) {
	t.closers = append(t.closers, root)
	if beneath != nil {
		t.closers = append(t.closers, beneath)
	}
}

// NewTarLayer returns a read-only layer serving the tar archive held by r
// (size bytes) without extracting it: the headers are indexed once, here,
// and file bytes are read from r at their offset on demand, shared by every
// instance. r must allow concurrent ReadAt calls (an *os.File or a
// *bytes.Reader does). Entries with an absolute path, a ".." that climbs
// out, or a symbolic link leading outside are refused with ErrUnsafeEntry;
// so are sparse files, devices and pipes. Hard links share the bytes of
// their target entry; a later entry for the same path replaces an earlier
// one, as tar extraction does. When r is an *os.File the archive is mapped
// into memory (read-only, shared), so reads need no system call; the file
// must then not be truncated while the layer lives, and the layer's Close
// (it implements io.Closer) unmaps it.
//
// wrun itself does not use it: a bundle's assets are served through
// bundle.Package.FS, whose reads are checked against the package's digests,
// and a pulled package's through NewIndexLayer over its extracted directory.
// It is for an embedder that holds a tar archive it trusts.
func NewTarLayer(r io.ReaderAt, size int64) (sys.FS, error) {
	cr := bytecount.NewReader(io.NewSectionReader(r, 0, size))
	tr := tar.NewReader(cr)
	b := newFrozen(0)
	mapped, unmap := mapFile(r, size)
	if unmap != nil {
		b.t.closers = append(b.t.closers, closerFunc(unmap))
	}
	fail := func(err error) (sys.FS, error) {
		b.t.Close()
		return nil, err
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(fmt.Errorf("tar layer: reading header at byte %d: %w", cr.N, err))
		}
		p, err := cleanEntry(h.Name)
		if err != nil {
			return fail(fmt.Errorf("tar layer: %w", err))
		}
		mt := h.ModTime.UnixNano()
		at := mt
		if !h.AccessTime.IsZero() {
			at = h.AccessTime.UnixNano()
		}
		n := &node{mode: fs.FileMode(h.Mode).Perm(), nlink: 1, atim: at, mtim: mt, ctim: mt}
		switch h.Typeflag {
		case tar.TypeReg: // archive/tar reports old-style TypeRegA entries as TypeReg
			if h.Size < 0 || h.Size > size-cr.N {
				return fail(fmt.Errorf("tar layer: %q: %d bytes at byte %d run past the end of the %d-byte archive", h.Name, h.Size, cr.N, size))
			}
			if mapped != nil {
				n.src = bytesSource(mapped[cr.N : cr.N+h.Size : cr.N+h.Size])
			} else {
				n.src = sectionSource{r: r, off: cr.N, size: h.Size}
			}
			n.size = h.Size
		case tar.TypeDir:
			n.mode |= fs.ModeDir
		case tar.TypeSymlink:
			if err := checkTarget(p, h.Linkname); err != nil {
				return fail(fmt.Errorf("tar layer: %w", err))
			}
			n.mode, n.target = fs.ModeSymlink|0o777, h.Linkname
		case tar.TypeLink:
			lp, err := cleanEntry(h.Linkname)
			if err != nil {
				return fail(fmt.Errorf("tar layer: hard link %q: %w", h.Name, err))
			}
			res, errno := b.t.resolve(lp, false)
			if errno != 0 || res.n.src == nil {
				return fail(fmt.Errorf("tar layer: hard link %q: target %q is not an earlier regular file", h.Name, h.Linkname))
			}
			res.n.nlink++
			n = res.n
			parent, name := path.Split(p)
			d, err := b.dir(strings.TrimSuffix(parent, "/"))
			if err != nil {
				return fail(fmt.Errorf("tar layer: %w", err))
			}
			d.kids[name] = n
			continue
		default:
			return fail(fmt.Errorf("tar layer: %q: unsupported entry type %q", h.Name, h.Typeflag))
		}
		if p == "" {
			if !n.isDir() {
				return fail(fmt.Errorf("tar layer: %q names the root, not a file", h.Name))
			}
			continue
		}
		if err := b.put(p, n); err != nil {
			return fail(fmt.Errorf("tar layer: %w", err))
		}
	}
	finish(b.t.root)
	return b.t, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// NewMemFS returns an empty in-memory filesystem, the guest's scratch space
// (/tmp), holding at most maxBytes bytes of the host's memory (0: no
// limit). What counts is everything the guest makes there: file content,
// also of files unlinked while still open (until their last close), and a
// fixed 256 bytes per file, directory or link plus 64 bytes and the name
// per directory entry and the target of each link. A change past the cap
// fails with ENOSPC (vfs.ENOSPC; wazero's own WASI functions report it to
// the guest as EIO, wrun's as ENOSPC).
func NewMemFS(maxBytes int64) sys.FS {
	t := &tree{b: &budget{max: maxBytes}, nextIno: writableInoBase()}
	t.root = t.makeNode(fs.ModeDir | 0o777)
	return t
}

// NewRun returns the layer a new run should mount in t's place, so that a
// layer built once and given to many runs (wrun.RunConfig.WithMount)
// never carries one run's writes into the next: a read-only tree is
// shared as it is; a MemFS comes back new and empty with the same cap; a
// copy-on-write overlay comes back as a new overlay of the same base.
func (t *tree) NewRun() sys.FS {
	switch {
	case t.readOnly:
		return t
	case t.lower != nil:
		return NewCopyOnWriteFS(t.lower)
	default:
		return NewMemFS(t.b.max)
	}
}

// NewCopyOnWriteFS returns a per-instance writable view of base, which is
// never modified. The guest may create, write, rename and delete anything;
// the changes live in memory in the returned filesystem only and vanish
// with it. A base file is copied only when first written (or truncated to
// a non-zero size); until then reads go to base.
//
// Deleting or renaming a name that lives in base (whiteouts): each
// directory the guest touches is copied, names only, from base on first
// use; from then on the overlay's copy is authoritative. Unlink, rmdir and
// rename edit that copy, so a deleted base file stays deleted and a renamed
// one appears only under its new name, for the life of the overlay, while
// base keeps both. A renamed base file keeps its inode and is still not
// copied until written. Base files are visible at their base inode.
//
// The overlay counts the host memory it holds as NewMemFS does (the names
// of base directories it has copied included) but sets no cap of its own:
// mounted with Limits.NewMountFS, it shares the run's OverlayBytes budget.
func NewCopyOnWriteFS(base sys.FS) sys.FS {
	t := &tree{lower: base, b: &budget{}, nextIno: writableInoBase()}
	root := &node{mode: fs.ModeDir | 0o755, nlink: 2, kids: map[string]*node{}, pending: true}
	if lt, ok := base.(*tree); ok && lt.readOnly {
		lr := lt.root
		root.ino, root.mode, root.atim, root.mtim, root.ctim = lr.ino, lr.mode, lr.atim, lr.mtim, lr.ctim
		root.lowerNode = lr
	} else {
		if st, errno := base.Stat("."); errno == 0 {
			root.ino, root.mode, root.atim, root.mtim, root.ctim = st.Ino, st.Mode, st.Atim, st.Mtim, st.Ctim
		}
	}
	t.root = root
	return t
}

// Asset returns what `--asset DIR:GUEST` mounts: the host directory dir as
// a read-only asset layer (NewDirLayer) under a fresh copy-on-write overlay.
// The guest can write; dir is never changed. Build the layer once and call
// NewCopyOnWriteFS per instance when running many instances of one program.
func Asset(dir string) (sys.FS, error) {
	layer, err := NewDirLayer(dir)
	if err != nil {
		return nil, err
	}
	return NewCopyOnWriteFS(layer), nil
}

// NewUnion returns one read-only layer made of layers, later ones winning:
// a name present in several layers is served by the last one that has it,
// and a directory present in several lists the entries of all of them
// (down to a layer where the name is not a directory). Layers built by this
// package (NewMapLayer, NewDirLayer, NewIndexLayer, NewTarLayer, NewUnion)
// are merged once, here, into one index sharing their file bytes.
func NewUnion(layers ...sys.FS) sys.FS {
	b := newFrozen(0)
	var generic []sys.FS
	for _, l := range layers {
		lt, ok := l.(*tree)
		if !ok || !lt.readOnly || len(generic) > 0 {
			generic = append(generic, l)
			continue
		}
		merge(b.t.root, lt.root)
	}
	finish(b.t.root)
	if len(generic) == 0 {
		return b.t
	}
	return &unionFS{layers: append([]sys.FS{b.t}, generic...)}
}

// merge lays src over dst: directories merge, anything else replaces.
func merge(dst, src *node) {
	dst.ino, dst.mode, dst.atim, dst.mtim, dst.ctim = src.ino, src.mode, src.atim, src.mtim, src.ctim
	for name, k := range src.kids {
		old := dst.kids[name]
		if k.isDir() {
			if old == nil || !old.isDir() {
				if old != nil && !old.isDir() {
					delete(dst.kids, name)
				} else {
					dst.nlink++
				}
				old = &node{kids: map[string]*node{}, nlink: 2}
				dst.kids[name] = old
			}
			merge(old, k)
			continue
		}
		if old != nil && old.isDir() {
			dst.nlink--
		}
		dst.kids[name] = k // shared: frozen nodes are never modified
	}
}
