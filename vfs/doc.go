// Package vfs assembles the one virtual filesystem a wrun guest sees: read-only
// asset layers shared by every instance, a per-instance copy-on-write overlay,
// an in-memory scratch area and the host directories the user grants, each an
// implementation of wazero's experimental/sys.FS.
//
// # Layers
//
// Every layer is a sys.FS; constructors take and return the interface, so
// layers compose the way afero's do:
//
//   - Host(dir, readOnly): a host directory, on os.Root, so nothing the guest
//     does (a "../" path, a symbolic link it creates) resolves outside dir;
//     a link whose target leads outside dir is not even created (EPERM).
//   - NewDirLayer(dir), NewMapLayer(files), NewTarLayer(r, size): read-only
//     asset layers. The tree is indexed once; file bytes stay in dir, in the
//     map or in the archive and are read on demand, shared by every
//     instance, never copied per instance. They are safe for concurrent use.
//   - NewIndexLayer(dir, files): a read-only layer whose tree is a list of
//     files and sizes verified before (a pulled package's index); nothing
//     is walked, and each file is checked when opened.
//   - NewUnion(layers...): one read-only layer out of several, later ones
//     winning.
//   - NewCopyOnWriteFS(base): a per-instance writable view of base; changes
//     live in memory and vanish with it; a base file is copied on its first
//     write. Deleting or renaming base files works (see the function).
//   - NewMemFS(maxBytes): scratch space (/tmp) with a cap on the host memory
//     it holds (file bytes, also of unlinked files still open, plus a
//     fixed cost per file and per name).
//   - Asset(dir): what `--asset DIR:GUEST` mounts, NewCopyOnWriteFS over
//     NewDirLayer.
//   - FromFS(fsys): any io/fs filesystem (embed.FS, fstest.MapFS, an
//     os.Root's FS) as a read-only layer, like wazero's WithFSMount.
//   - FromAfero(fsys): any afero filesystem (MemMapFs, BasePathFs, zip or
//     tar) as a read-write layer, with POSIX checks the backends lack,
//     errors as bare errnos and a backend's panic as EIO.
//
// FSConfig mounts layers at guest paths, nested mounts included
// (/usr/local/lib and /usr/local/lib/python3.11/site-packages from two
// layers both stay visible). A symbolic link in a mount with mounts below
// it is followed against the mount table, so a nested read-only mount
// stays read-only and a directory hidden under a mount stays hidden,
// whatever link the guest makes. Limits adds per-run limits: open files
// across every mount, and one memory budget for every copy-on-write
// overlay.
//
// # Semantics
//
// Every layer gives a guest the errno wazero's DirFS gives for the same
// operation on a host directory, and EROFS for changes to a read-only one;
// package vfstest checks it on each layer (scripted sys.FS calls and the
// fsops guests, in C and Go), and checks a layer of your own the same way. Paths and links never lead outside a layer: such an attempt fails
// with EPERM, and an asset source holding one is refused (ErrUnsafeEntry).
// Errors returned to the guest are bare errnos, never host paths.
//
// Directories list in name order, so readdir cookies stay stable. Inodes
// are stable per file: the host inode for host and directory layers, a hash
// of the path seeded per layer for map and tar layers (so two layers never
// share one), kept across copy-up and rename by the
// overlay. wazero's errno set has no ENOSPC, EBUSY, EXDEV or EMFILE: vfs
// returns its own sys.Errno values for them (ENOSPC, EXDEV, EMFILE, EBUSY,
// outside wazero's range). wrun's wasi package reports them to the guest
// as such; wazero's own WASI functions report them as EIO, as they do any
// errno they do not know. A symbolic link's own times change through the
// optional LutimensFS; NewDevFS serves /dev/null, /dev/zero and
// /dev/urandom.
//
// Every byte a layer keeps from a call (a link target, a name, written
// data) is copied: wazero passes views of guest memory, which the guest
// reuses.
package vfs
