// Package vfs assembles the one virtual filesystem a wrun guest sees: read-only
// asset layers shared by every instance, a per-instance copy-on-write overlay,
// an in-memory scratch area and the host directories the user grants, each an
// implementation of wazero's experimental/sys.FS.
package vfs
