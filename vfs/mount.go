package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	wsys "github.com/tetratelabs/wazero/sys"
)

// Mount places a filesystem at a guest path.
type Mount struct {
	Guest string // absolute guest path, e.g. "/data"
	FS    sys.FS
}

// Host returns a layer serving the host directory dir, read-only when
// readOnly is set (writes fail with EROFS). It is built on os.Root: no guest
// path and no symbolic link, including one the guest creates itself, ever
// resolves outside dir; such an attempt fails with EPERM. It fails when dir
// is not an existing directory; the error names dir, since the user gave
// it, while errors returned to the guest are bare errnos. The layer keeps dir
// open; it implements io.Closer to release it.
func Host(dir string, readOnly bool) (sys.FS, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("mount %q: host directory does not exist: create it or fix the path", dir)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("mount %q: not a directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("mount %q: %w", dir, err)
	}
	return &hostFS{root: root, beneath: openBeneathDir(dir), readOnly: readOnly}, nil
}

// FSConfig returns the wazero filesystem configuration that mounts every
// layer at its guest path.
//
// wazero gives each mount its own pre-opened directory, and a guest
// resolves a path against the longest pre-open prefix; nothing would list
// /usr/local/lib/python3.11 when only /usr/local/lib and
// /usr/local/lib/python3.11/site-packages are mounts. So, unless the only
// mount is "/", FSConfig pre-opens a single root that routes every path to
// the mount with the longest matching prefix and synthesizes the
// directories leading to mount points: nested mounts from different layers
// both stay visible, and listing a parent shows the mount point. Renaming
// or linking across mounts fails (vfs.EXDEV); removing or renaming a mount
// point fails (vfs.EBUSY). Creating, removing or changing anything in a
// synthesized directory fails with EROFS, and they report mode 0555. A ".."
// at a mount's root is the directory above it in the mount table, and at
// the root of the table the root itself.
//
// A symbolic link in a mount that has other mounts below it is followed by
// the mount table, not by the mount's layer: a link to a directory where
// another mount is reaches that mount, with that mount's rights (a
// read-only mount stays read-only however the guest reaches it, and a
// directory of the host hidden under another mount stays hidden). A link
// never leads above the root of the mount it lives in (EPERM).
//
// FSConfig sets no limits; Limits.FSConfig does.
func FSConfig(mounts []Mount) (wazero.FSConfig, error) { return Limits{}.FSConfig(mounts) }

// FSConfig is FSConfig with the limits l.
func (l Limits) FSConfig(mounts []Mount) (wazero.FSConfig, error) {
	cfg := wazero.NewFSConfig()
	if len(mounts) == 0 {
		return cfg, nil
	}
	root, err := l.NewMountFS(mounts)
	if err != nil {
		return nil, err
	}
	return cfg.(sysfs.FSConfig).WithSysFSMount(root, "/"), nil
}

// ErrMountedTwice is returned (wrapped, naming the guest path) when two
// mounts share one guest path.
var ErrMountedTwice = errors.New("guest path is mounted twice")

// NewMountFS returns the one filesystem FSConfig pre-opens at "/": the
// mounts routed by longest guest-path prefix, with the directories leading
// to mount points synthesized (read-only). Two mounts at one guest path
// are an error (ErrMountedTwice); use NewUnion to stack layers. It sets no
// limits; Limits.NewMountFS does.
func NewMountFS(mounts []Mount) (sys.FS, error) { return Limits{}.NewMountFS(mounts) }

// NewMountFS is NewMountFS with the limits l: every file opened through
// the result counts against l.MaxOpenFiles until closed, and every
// copy-on-write overlay among the mounts (NewCopyOnWriteFS, Asset; not one
// wrapped in another layer) is charged to one budget of l.OverlayBytes,
// which replaces its own.
func (l Limits) NewMountFS(mounts []Mount) (sys.FS, error) {
	m := &mountFS{dirs: map[string]map[string]bool{}, seed: randomSeed(), maxOpen: l.MaxOpenFiles}
	seen := map[string]bool{}
	for _, mt := range mounts {
		if !path.IsAbs(mt.Guest) || path.Clean(mt.Guest) != mt.Guest {
			return nil, fmt.Errorf("guest path %q must be absolute and clean, like /data", mt.Guest)
		}
		if mt.FS == nil {
			return nil, fmt.Errorf("guest path %q: no filesystem to mount", mt.Guest)
		}
		rel := strings.TrimPrefix(mt.Guest, "/")
		if seen[rel] {
			return nil, fmt.Errorf("%q: %w: mount one layer there (vfs.NewUnion stacks several)", mt.Guest, ErrMountedTwice)
		}
		seen[rel] = true
		m.mounts = append(m.mounts, mountPoint{prefix: rel, fs: mt.FS})
		for p := rel; p != ""; {
			parent := path.Dir(p)
			if parent == "." {
				parent = ""
			}
			if m.dirs[parent] == nil {
				m.dirs[parent] = map[string]bool{}
			}
			m.dirs[parent][path.Base(p)] = true
			p = parent
		}
	}
	if l.OverlayBytes > 0 {
		shared := &budget{max: l.OverlayBytes}
		for _, mt := range m.mounts {
			if t, ok := mt.fs.(*tree); ok && t.lower != nil {
				t.mu.Lock()
				shared.force(t.b.usage())
				t.b = shared
				t.mu.Unlock()
			}
		}
	}
	sort.SliceStable(m.mounts, func(i, j int) bool { return len(m.mounts[i].prefix) > len(m.mounts[j].prefix) })
	for i := range m.mounts {
		for j := range m.mounts {
			if i != j && under(m.mounts[j].prefix, m.mounts[i].prefix) {
				m.mounts[i].covered = true
			}
		}
	}
	return m, nil
}

// under reports whether the guest path p lies strictly below dir (both
// relative and clean, "" being the root).
func under(p, dir string) bool {
	if dir == "" {
		return p != ""
	}
	return strings.HasPrefix(p, dir+"/")
}

type mountPoint struct {
	prefix  string // guest path without the leading slash; "" is the root
	fs      sys.FS
	covered bool // another mount lies below this one
}

// mountFS routes paths to mounts; see NewMountFS.
type mountFS struct {
	sys.UnimplementedFS
	mounts []mountPoint               // longest prefix first
	dirs   map[string]map[string]bool // synthesized directory → names of mount points or their ancestors
	seed   uint64                     // inodes of synthesized directories

	mu      sync.Mutex
	open    int // files open through this filesystem
	maxOpen int // 0: no limit
}

var _ sys.FS = (*mountFS)(nil)

// route returns the mount serving p and the path within it ("." for its
// root), or -1 when p is served by no mount. key is p clean, relative and
// without a trailing slash.
func (m *mountFS) route(p string) (i int, rel, key string, errno sys.Errno) {
	slash := strings.HasSuffix(p, "/") && strings.Trim(p, "/") != ""
	// A ".." at the root of the routing tree is the root itself, as "/.."
	// is on Linux; a ".." at a mount's root is the directory above it in
	// the mount table.
	key = path.Clean("/" + p)[1:]
	for i, mt := range m.mounts {
		switch {
		case mt.prefix == "":
			rel = key
		case key == mt.prefix:
			rel = ""
		case strings.HasPrefix(key, mt.prefix+"/"):
			rel = key[len(mt.prefix)+1:]
		default:
			continue
		}
		if rel == "" {
			rel = "."
		}
		if slash {
			rel += "/"
		}
		return i, rel, key, 0
	}
	return -1, "", key, 0
}

// resolve is route for an operation that follows symbolic links in every
// component but the last, and in the last one too when follow is set. In a
// mount with other mounts below it, it follows the links itself, against
// the mount table, so that no layer resolves a link to a place another
// mount serves (see FSConfig); the layer then gets a path whose
// directories hold no link. A link's ".." never climbs above the root of
// the mount the link lives in (EPERM), as no layer lets it.
func (m *mountFS) resolve(p string, follow bool) (i int, rel, key string, errno sys.Errno) {
	i, rel, key, errno = m.route(p)
	if errno != 0 || i < 0 || !m.mounts[i].covered {
		return i, rel, key, errno
	}
	slash := strings.HasSuffix(p, "/") && key != ""
	follow = follow || slash
	type comp struct {
		name string
		min  int // ".." may not make done shorter than this
	}
	var rest []comp
	for _, c := range splitPath(key) {
		rest = append(rest, comp{name: c})
	}
	var done []string // resolved components, no link among them
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		if c.name == ".." {
			if len(done) == 0 && c.min == 0 {
				continue // "/.." is "/"
			}
			if len(done) <= c.min {
				return -1, "", "", sys.EPERM
			}
			done = done[:len(done)-1]
			continue
		}
		cur := path.Join(path.Join(done...), c.name)
		if len(rest) == 0 && !follow {
			done = append(done, c.name)
			break
		}
		j, jrel, _, _ := m.route(cur)
		if j < 0 {
			done = append(done, c.name) // a synthesized directory, or nothing
			continue
		}
		st, errno := m.mounts[j].fs.Lstat(jrel)
		if errno != 0 || st.Mode&fs.ModeSymlink == 0 {
			// Not a link: resolved, or missing, which the layer reports.
			done = append(done, c.name)
			continue
		}
		if links++; links > maxSymlinks {
			return -1, "", "", sys.ELOOP
		}
		target, errno := m.mounts[j].fs.Readlink(jrel)
		if errno != 0 {
			return -1, "", "", errno
		}
		if path.IsAbs(target) {
			return -1, "", "", sys.EPERM
		}
		min := len(splitPath(m.mounts[j].prefix))
		var expanded []comp
		for _, t := range splitPath(target) {
			expanded = append(expanded, comp{name: t, min: min})
		}
		rest = append(expanded, rest...)
	}
	resolved := path.Join(done...)
	if slash {
		resolved += "/"
	}
	return m.route(resolved)
}

// inSynth reports whether key, served by no mount, names an entry of a
// synthesized directory: creating it fails with EROFS, not ENOENT, since
// the directory exists but cannot change.
func (m *mountFS) inSynth(key string) bool {
	if key == "" {
		return false
	}
	parent := path.Dir(key)
	if parent == "." {
		parent = ""
	}
	return m.dirs[parent] != nil
}

// parentSynthesized reports whether key's parent directory is one the
// table makes up, served by no mount.
func (m *mountFS) parentSynthesized(key string) bool {
	if key == "" {
		return false
	}
	parent := path.Dir(key)
	if parent == "." {
		parent = ""
	}
	if m.dirs[parent] == nil {
		return false
	}
	i, _, _, _ := m.route(parent)
	return i < 0
}

func (m *mountFS) synthStat(key string) wsys.Stat_t {
	return wsys.Stat_t{Ino: pathIno(m.seed, key), Mode: fs.ModeDir | 0o555, Nlink: 2, Size: 4096}
}

// OpenFile implements sys.FS. Past the open-file limit it fails with
// EMFILE.
func (m *mountFS) OpenFile(p string, flag sys.Oflag, perm fs.FileMode) (sys.File, sys.Errno) {
	if errno := m.acquire(); errno != 0 {
		return nil, errno
	}
	return m.count(m.openFile(p, flag, perm))
}

func (m *mountFS) openFile(p string, flag sys.Oflag, perm fs.FileMode) (sys.File, sys.Errno) {
	// O_CREAT|O_EXCL does not follow a last link, as open(2).
	follow := flag&sys.O_NOFOLLOW == 0 && flag&(sys.O_CREAT|sys.O_EXCL) != sys.O_CREAT|sys.O_EXCL
	i, rel, key, errno := m.resolve(p, follow)
	if errno != 0 {
		return nil, errno
	}
	extra := m.dirs[key]
	errno = sys.ENOENT
	if i < 0 && extra == nil && flag&sys.O_CREAT != 0 && m.inSynth(key) {
		return nil, sys.EROFS
	}
	if i >= 0 {
		var f sys.File
		if f, errno = m.mounts[i].fs.OpenFile(rel, flag, perm); errno == 0 {
			if isDir, _ := f.IsDir(); isDir && extra != nil {
				return &mountDir{File: f, m: m, key: key}, 0
			}
			return f, 0
		}
	}
	if extra == nil || (errno != sys.ENOENT && errno != sys.ENOTDIR) {
		return nil, errno
	}
	switch {
	case flag&(sys.O_CREAT|sys.O_EXCL) == sys.O_CREAT|sys.O_EXCL:
		return nil, sys.EEXIST
	case flag&(sys.O_WRONLY|sys.O_RDWR) != 0:
		return nil, sys.EISDIR
	}
	return &mountDir{File: &synthDir{st: m.synthStat(key)}, m: m, key: key}, 0
}

func (m *mountFS) stat(p string, follow bool) (wsys.Stat_t, sys.Errno) {
	i, rel, key, errno := m.resolve(p, follow)
	if errno != 0 {
		return wsys.Stat_t{}, errno
	}
	errno = sys.ENOENT
	if i >= 0 {
		var st wsys.Stat_t
		if follow {
			st, errno = m.mounts[i].fs.Stat(rel)
		} else {
			st, errno = m.mounts[i].fs.Lstat(rel)
		}
		if errno == 0 {
			return st, 0
		}
	}
	if m.dirs[key] != nil && (errno == sys.ENOENT || errno == sys.ENOTDIR) {
		return m.synthStat(key), 0
	}
	return wsys.Stat_t{}, errno
}

// Lstat implements sys.FS.
func (m *mountFS) Lstat(p string) (wsys.Stat_t, sys.Errno) { return m.stat(p, false) }

// Stat implements sys.FS.
func (m *mountFS) Stat(p string) (wsys.Stat_t, sys.Errno) { return m.stat(p, true) }

// target routes a path that an operation creates, changes or removes,
// following a last link when follow is set. A synthesized directory or a
// mount point cannot be the object.
func (m *mountFS) target(p string, remove, follow bool) (sys.FS, string, sys.Errno) {
	i, rel, key, errno := m.resolve(p, follow)
	if errno != 0 {
		return nil, "", errno
	}
	// Removing a mount point or a synthesized directory: EROFS when its
	// parent is a synthesized (read-only) directory, as Linux checks the
	// parent's mount is writable first; EBUSY under a writable mount.
	busy := errBusy
	if m.parentSynthesized(key) {
		busy = sys.EROFS
	}
	if m.dirs[key] != nil {
		if remove {
			return nil, "", busy
		}
		if i < 0 {
			return nil, "", sys.EROFS
		}
	}
	if i < 0 {
		if m.inSynth(key) && (remove || !follow) {
			// Creating, renaming or removing an entry of a synthesized
			// directory; a chmod or utimens of a missing one is ENOENT.
			return nil, "", sys.EROFS
		}
		return nil, "", sys.ENOENT
	}
	if remove && strings.TrimSuffix(rel, "/") == "." {
		return nil, "", busy
	}
	return m.mounts[i].fs, rel, 0
}

// Mkdir implements sys.FS.
func (m *mountFS) Mkdir(p string, perm fs.FileMode) sys.Errno {
	if _, errno := m.stat(p, false); errno == 0 {
		return sys.EEXIST
	}
	f, rel, errno := m.target(p, false, false)
	if errno != 0 {
		return errno
	}
	return f.Mkdir(rel, perm)
}

// Chmod implements sys.FS.
func (m *mountFS) Chmod(p string, perm fs.FileMode) sys.Errno {
	f, rel, errno := m.target(p, false, true)
	if errno != 0 {
		return errno
	}
	return f.Chmod(rel, perm)
}

// Rename implements sys.FS.
func (m *mountFS) Rename(from, to string) sys.Errno {
	ff, frel, errno := m.target(from, true, false)
	if errno != 0 {
		return errno
	}
	tf, trel, errno := m.target(to, true, false)
	if errno != 0 {
		return errno
	}
	if ff != tf {
		return errCrossDevice
	}
	return ff.Rename(frel, trel)
}

// Rmdir implements sys.FS.
func (m *mountFS) Rmdir(p string) sys.Errno {
	f, rel, errno := m.target(p, true, false)
	if errno != 0 {
		return errno
	}
	return f.Rmdir(rel)
}

// Unlink implements sys.FS.
func (m *mountFS) Unlink(p string) sys.Errno {
	f, rel, errno := m.target(p, true, false)
	if errno != 0 {
		return errno
	}
	return f.Unlink(rel)
}

// Link implements sys.FS.
func (m *mountFS) Link(oldPath, newPath string) sys.Errno {
	if st, errno := m.stat(oldPath, false); errno == 0 && st.Mode.IsDir() {
		return sys.EPERM // link(2) refuses directories, synthesized ones too
	}
	of, orel, errno := m.target(oldPath, false, false)
	if errno != 0 {
		return errno
	}
	nf, nrel, errno := m.target(newPath, false, false)
	if errno != 0 {
		return errno
	}
	if of != nf {
		return errCrossDevice
	}
	return of.Link(orel, nrel)
}

// Symlink implements sys.FS. The target is copied: wazero hands it over as
// a view of guest memory, which the guest may reuse once the call returns.
func (m *mountFS) Symlink(oldPath, linkName string) sys.Errno {
	oldPath = strings.Clone(oldPath)
	f, rel, errno := m.target(linkName, false, false)
	if errno != 0 {
		return errno
	}
	return f.Symlink(oldPath, rel)
}

// Readlink implements sys.FS.
func (m *mountFS) Readlink(p string) (string, sys.Errno) {
	i, rel, key, errno := m.resolve(p, false)
	if errno != 0 {
		return "", errno
	}
	if i < 0 {
		if m.dirs[key] != nil {
			return "", sys.EINVAL
		}
		return "", sys.ENOENT
	}
	return m.mounts[i].fs.Readlink(rel)
}

// Utimens implements sys.FS.
func (m *mountFS) Utimens(p string, atim, mtim int64) sys.Errno {
	f, rel, errno := m.target(p, false, true)
	if errno != 0 {
		return errno
	}
	return f.Utimens(rel, atim, mtim)
}

// Lutimens implements LutimensFS: the times of a last symbolic link itself,
// through the layer's Lutimens. A layer without one is served when the
// path is no link (Utimens) and fails with ENOSYS on a link.
func (m *mountFS) Lutimens(p string, atim, mtim int64) sys.Errno {
	if _, errno := m.stat(p, false); errno != 0 {
		return errno
	}
	f, rel, errno := m.target(p, false, false)
	if errno != 0 {
		return errno
	}
	if l, ok := f.(LutimensFS); ok {
		return l.Lutimens(rel, atim, mtim)
	}
	st, errno := f.Lstat(rel)
	if errno != 0 {
		return errno
	}
	if st.Mode&fs.ModeSymlink != 0 {
		return sys.ENOSYS
	}
	return f.Utimens(rel, atim, mtim)
}

// mountDir is a directory that leads to mount points: a layer's own
// directory (or a synthesized one) whose listing also shows the names of
// the mount points below it. It pages the layer's listing through, then
// adds the mount point names the layer did not list, so an open directory
// holds no copy of the listing.
type mountDir struct {
	sys.File
	m         *mountFS
	key       string
	seen      map[string]bool // mount point names the layer listed in this pass
	layerDone bool            // the layer's listing is exhausted in this pass
	extra     []string        // mount point names still to list; nil until computed
}

// Seek implements sys.File.
func (d *mountDir) Seek(offset seekOffset, whence int) (int64, sys.Errno) {
	if offset == 0 && whence == io.SeekStart {
		d.seen, d.layerDone, d.extra = nil, false, nil
	}
	return d.File.Seek(offset, whence)
}

// Readdir implements sys.File.
func (d *mountDir) Readdir(n int) ([]sys.Dirent, sys.Errno) {
	var out []sys.Dirent
	if !d.layerDone {
		ents, errno := d.File.Readdir(n)
		if errno != 0 {
			return nil, errno
		}
		for _, e := range ents {
			if d.m.dirs[d.key][e.Name] {
				if d.seen == nil {
					d.seen = map[string]bool{}
				}
				d.seen[e.Name] = true
			}
		}
		if n > 0 && len(ents) >= n {
			return ents, 0
		}
		out, d.layerDone = ents, true
	}
	if d.extra == nil {
		d.extra = []string{}
		for name := range d.m.dirs[d.key] {
			if !d.seen[name] {
				d.extra = append(d.extra, name)
			}
		}
		sort.Strings(d.extra)
	}
	for len(d.extra) > 0 && (n <= 0 || len(out) < n) {
		name := d.extra[0]
		d.extra = d.extra[1:]
		st, _ := d.m.stat(path.Join(d.key, name), false)
		out = append(out, sys.Dirent{Name: name, Ino: st.Ino, Type: fs.ModeDir})
	}
	return out, 0
}

// synthDir is a read-only directory that exists only because a mount
// point lies below it (empty), or the directory of NewDevFS (ents).
type synthDir struct {
	sys.UnimplementedFile
	st     wsys.Stat_t
	ents   []sys.Dirent
	pos    int // entries of ents listed
	closed bool
}

// IsDir implements sys.File.
func (d *synthDir) IsDir() (bool, sys.Errno) { return true, 0 }

// SetAppend implements sys.File.
func (d *synthDir) SetAppend(bool) sys.Errno { return sys.EISDIR }

// Read implements sys.File.
func (d *synthDir) Read([]byte) (int, sys.Errno) { return 0, sys.EISDIR }

// Pread implements sys.File.
func (d *synthDir) Pread([]byte, int64) (int, sys.Errno) { return 0, sys.EISDIR }

// Write implements sys.File.
func (d *synthDir) Write([]byte) (int, sys.Errno) { return 0, sys.EISDIR }

// Pwrite implements sys.File.
func (d *synthDir) Pwrite([]byte, int64) (int, sys.Errno) { return 0, sys.EISDIR }

// Truncate implements sys.File.
func (d *synthDir) Truncate(int64) sys.Errno { return sys.EISDIR }

// Ino implements sys.File.
func (d *synthDir) Ino() (wsys.Inode, sys.Errno) { return d.st.Ino, 0 }

// Stat implements sys.File.
func (d *synthDir) Stat() (wsys.Stat_t, sys.Errno) {
	if d.closed {
		return wsys.Stat_t{}, sys.EBADF
	}
	return d.st, 0
}

// Seek implements sys.File.
func (d *synthDir) Seek(offset seekOffset, whence int) (int64, sys.Errno) {
	if offset == 0 && whence == io.SeekStart {
		d.pos = 0
		return 0, 0
	}
	return 0, sys.EISDIR
}

// Readdir implements sys.File.
func (d *synthDir) Readdir(n int) ([]sys.Dirent, sys.Errno) {
	if d.closed {
		return nil, sys.EBADF
	}
	rest := d.ents[d.pos:]
	if n > 0 && len(rest) > n {
		rest = rest[:n]
	}
	d.pos += len(rest)
	return rest, 0
}

// Utimens implements sys.File.
func (d *synthDir) Utimens(int64, int64) sys.Errno { return sys.EROFS }

// Close implements sys.File.
func (d *synthDir) Close() sys.Errno {
	d.closed = true
	return 0
}
