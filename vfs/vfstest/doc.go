// Package vfstest checks that a layer (an implementation of wazero's
// experimental/sys.FS) behaves as a host directory does under wazero's
// DirFS, in the spirit of testing/fstest.TestFS. TestFS calls the layer's
// methods in a scripted sequence (opens with every kind of flag, stats
// through links, directory listings, reads, writes, renames, removals,
// links, times and modes) and compares the transcript, line by line, with
// the one DirFS gives for the same sequence on a temporary host directory
// holding the same Fixture. Guest runs the same comparison with a WASI
// program reading and writing the layer through wazero.
//
// A layer that cannot express something declares it (NoSymlinks,
// NoHardLinks, NoAtime) and TestFS leaves those operations out, checking
// instead that they fail with ENOSYS, ENOTSUP or EPERM; ReadOnly expects
// every change to fail with EROFS (or with the error that the name's
// existence decides first, as on a read-only mount).
//
// It is meant for tests, the package's and an embedder's own: it imports
// testing and creates host directories.
package vfstest
