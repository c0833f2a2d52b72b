package preinit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/wrun-dev/wrun/internal/atomicfile"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// CacheKey is the name under which Cached stores the pre-initialization of
// wasm: a SHA-256 over the module's digest, inputs (the caller's digest of
// everything the init reads through its mounts, e.g. a package's content
// digest) and the options that change the output (init function, kept
// exports, environment, arguments, segment limits). It is a hex string.
func CacheKey(wasm []byte, inputs string, opts Options) string {
	return CacheKeyOf(sha256.Sum256(wasm), inputs, opts)
}

// CacheKeyOf is CacheKey for the module whose SHA-256 is sum: a caller that
// knows the module's digest (a package's verified file index) looks its
// snapshot up without reading or hashing the module.
func CacheKeyOf(sum [sha256.Size]byte, inputs string, opts Options) string {
	opts, _ = opts.withDefaults()
	h := sha256.New()
	field := func(name, value string) {
		fmt.Fprintf(h, "%s %d:%s\n", name, len(value), value)
	}
	field("version", "wrun-preinit-1")
	field("wasm", "sha256:"+hex.EncodeToString(sum[:]))
	field("inputs", inputs)
	field("init", opts.InitFunc)
	field("keep", strconv.FormatBool(opts.KeepInitFunc))
	for _, kv := range opts.Env {
		field("env", kv)
	}
	for _, a := range opts.Args {
		field("arg", a)
	}
	field("maxgap", strconv.Itoa(opts.MaxGap))
	field("maxsegments", strconv.Itoa(opts.MaxSegments))
	return hex.EncodeToString(h.Sum(nil))
}

// Lookup returns the snapshot Cached stored in dir under key (CacheKey or
// CacheKeyOf), or ok false when there is none or what is there does not
// parse as a module (Cached then makes it again).
func Lookup(dir, key string) (snapshot []byte, ok bool, err error) {
	b, release, ok, err := LookupMapped(dir, key)
	if !ok || err != nil {
		return nil, ok, err
	}
	defer release()
	return slices.Clone(b), true, nil
}

// LookupMapped is Lookup with the snapshot's file mapped read-only rather
// than read: snapshot is valid until release is called, and must not be
// kept past it (compile a copy of what must live on).
func LookupMapped(dir, key string) (snapshot []byte, release func(), ok bool, err error) {
	b, release, err := mapFile(filepath.Join(dir, key+".wasm"))
	switch {
	case err == nil:
		if _, perr := wasmbin.Parse(b); perr == nil {
			return b, release, true, nil
		}
		release()
		return nil, nil, false, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, false, nil
	}
	return nil, nil, false, fmt.Errorf("preinit: reading the snapshot cache: %w", err)
}

// Cached returns the pre-initialized module for wasm, from dir when an
// earlier call stored it (home.Dirs.Snapshots() is the place), else by
// running Preinit and storing the result under CacheKey(wasm, inputs, opts)
// with a temporary file renamed into place, so concurrent runs never see a
// partial entry. inputs must change whenever what the init reads through
// opts.Mounts changes. An entry that does not parse as Wasm is replaced. An
// output over opts.MaxCachedBytes (default 256 MiB) is returned but never
// stored. A failed init (an error, a timeout, the memory cap) stores nothing.
//
// The report of a cache hit has Cached set and only the sizes; the warnings
// were returned when the entry was made.
func Cached(ctx context.Context, dir string, wasm []byte, inputs string, opts Options) ([]byte, *Report, error) {
	key := CacheKey(wasm, inputs, opts)
	path := filepath.Join(dir, key+".wasm")
	if b, ok, err := Lookup(dir, key); err != nil {
		return nil, nil, err
	} else if ok {
		d, _ := opts.withDefaults()
		return b, &Report{InitFunc: d.InitFunc, Cached: true, InputBytes: len(wasm), OutputBytes: len(b)}, nil
	}
	out, rep, err := Preinit(ctx, wasm, opts)
	if err != nil {
		return nil, nil, err
	}
	if d, _ := opts.withDefaults(); d.MaxCachedBytes > 0 && int64(len(out)) > d.MaxCachedBytes {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf(
			"the pre-initialized module is %s, over the snapshot cache's limit of %s: it was not cached, so the init runs again next time; pre-initialize at build time (wrun build) instead",
			sizeString(uint64(len(out))), sizeString(uint64(d.MaxCachedBytes))))
		return out, rep, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("preinit: snapshot cache: %w", err)
	}
	if err := atomicfile.WriteBytes(path, 0o644, out); err != nil {
		return nil, nil, fmt.Errorf("preinit: writing the snapshot cache: %w", err)
	}
	return out, rep, nil
}
