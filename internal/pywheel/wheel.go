package pywheel

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/wrun-dev/wrun/internal/lazyregexp"
)

// Caps on what a wheel may unpack to (a zip bomb stops at the first entry
// that passes one, declared or actual).
const (
	MaxFileSize  = 128 << 20 // one file, uncompressed
	MaxTotalSize = 512 << 20 // all files, uncompressed
	MaxEntries   = 100_000
)

// Sentinel errors, wrapped with the wheel's file name and what to do.
var (
	ErrWheel  = errors.New("invalid wheel")
	ErrNative = errors.New("native extension")
	ErrRecord = errors.New("RECORD mismatch")
)

// Wheel is a checked wheel, held in memory.
type Wheel struct {
	File     string   // base name of the wheel file
	Name     string   // METADATA Name, as written
	Version  PEP440   // METADATA Version
	Tags     []string // WHEEL Tag values (py-abi-platform)
	Metadata Headers
	DistInfo string            // the .dist-info directory, e.g. six-1.16.0.dist-info
	Files    map[string][]byte // site-packages path → content (.data/purelib and platlib moved in)
	Dropped  []string          // .data/scripts, headers and data files, left out
}

var extRE = lazyregexp.New(`(?i)\.(so|pyd|dylib|dll)(\.[0-9.]*)?$`)

// Read opens and checks the wheel file at p (see the package comment for
// what is checked).
func Read(p string) (*Wheel, error) {
	base := filepath.Base(p)
	w := &Wheel{File: base, Files: map[string][]byte{}}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("wheel %s: %w: %s", printable(base), ErrWheel, fmt.Sprintf(format, args...))
	}
	fnName, fnVersion, err := parseFileName(base)
	if err != nil {
		return nil, bad("%v", err)
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("wheel %s: %w", printable(p), err)
		}
		return nil, bad("not a zip file (%v); a wheel is a zip archive as `pip wheel` or `pip download` writes it", err)
	}
	defer zr.Close()
	if len(zr.File) > MaxEntries {
		return nil, bad("%d entries, more than the %d allowed", len(zr.File), MaxEntries)
	}
	// The sizes the entries declare are the sizes they unpack to
	// (archive/zip fails a read past them): refuse too much before
	// reading any.
	var declared uint64
	for _, f := range zr.File {
		if f.UncompressedSize64 > MaxTotalSize-declared {
			return nil, bad("it unpacks to more than the %d MiB allowed in all", MaxTotalSize>>20)
		}
		declared += f.UncompressedSize64
	}
	raw := map[string][]byte{}
	folded := map[string]string{}
	var total int64
	for _, f := range zr.File {
		name := f.Name
		if err := checkEntryName(name); err != nil {
			return nil, bad("entry %q: %v; rebuild the wheel", printable(name), err)
		}
		mode := f.Mode()
		if mode&fs.ModeSymlink != 0 {
			return nil, bad("entry %q is a symbolic link; wheels hold regular files only", printable(name))
		}
		if f.FileInfo().IsDir() || strings.HasSuffix(name, "/") {
			continue
		}
		if mode&fs.ModeType != 0 {
			return nil, bad("entry %q is not a regular file", printable(name))
		}
		if _, dup := raw[name]; dup {
			return nil, bad("entry %q appears twice", printable(name))
		}
		if other, dup := folded[strings.ToLower(name)]; dup {
			return nil, bad("entries %q and %q differ only in case; they would collide on a case-insensitive filesystem", printable(other), printable(name))
		}
		folded[strings.ToLower(name)] = name
		if f.UncompressedSize64 > MaxFileSize {
			return nil, bad("entry %q unpacks to %d bytes, more than the %d MiB per file allowed", printable(name), f.UncompressedSize64, MaxFileSize>>20)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, bad("entry %q: %v", printable(name), err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, MaxFileSize+1))
		rc.Close()
		if err != nil {
			return nil, bad("entry %q: %v", printable(name), err)
		}
		if len(b) > MaxFileSize {
			return nil, bad("entry %q unpacks to more than the %d MiB per file allowed", printable(name), MaxFileSize>>20)
		}
		if total += int64(len(b)); total > MaxTotalSize {
			return nil, bad("it unpacks to more than the %d MiB allowed in all", MaxTotalSize>>20)
		}
		raw[name] = b
	}

	// The .dist-info directory: exactly one, at the top.
	var infos []string
	for name := range raw {
		top, _, _ := strings.Cut(name, "/")
		if strings.HasSuffix(top, ".dist-info") && !slices.Contains(infos, top) {
			infos = append(infos, top)
		}
	}
	slices.Sort(infos)
	switch len(infos) {
	case 0:
		return nil, bad("no .dist-info directory; a wheel holds NAME-VERSION.dist-info/ with METADATA, WHEEL and RECORD")
	case 1:
	default:
		return nil, bad("several .dist-info directories (%s); a wheel holds one", printable(strings.Join(infos, ", ")))
	}
	w.DistInfo = infos[0]
	for _, f := range []string{"METADATA", "WHEEL", "RECORD"} {
		if _, ok := raw[w.DistInfo+"/"+f]; !ok {
			return nil, bad("%s/%s is missing", printable(w.DistInfo), f)
		}
	}
	if err := checkRecord(raw, w.DistInfo); err != nil {
		return nil, fmt.Errorf("wheel %s: %w", printable(base), err)
	}

	wh, err := ParseHeaders(raw[w.DistInfo+"/WHEEL"])
	if err != nil {
		return nil, bad("%s/WHEEL: %v", printable(w.DistInfo), err)
	}
	if v := wh.Get("Wheel-Version"); !strings.HasPrefix(v, "1.") {
		return nil, bad("Wheel-Version %q; wrun reads wheels of version 1.x", printable(v))
	}
	w.Tags = wh["tag"]
	if len(w.Tags) == 0 {
		return nil, bad("%s/WHEEL has no Tag", printable(w.DistInfo))
	}
	var native []string
	for name := range raw {
		if extRE().MatchString(name) {
			native = append(native, name)
		}
	}
	slices.Sort(native)
	if len(native) > 0 {
		return nil, fmt.Errorf("wheel %s: %w: it holds compiled extension modules (%s) with tags %s; CPython on wasm32-wasi loads no native code: use a pure-Python wheel (py3-none-any) of %s, or a pure-Python fallback",
			printable(base), ErrNative, printable(strings.Join(native, ", ")), printable(strings.Join(w.Tags, ", ")), printable(fnName))
	}
	if why := checkTags(w.Tags); why != "" {
		return nil, fmt.Errorf("wheel %s: %w: tags %s (Root-Is-Purelib: %s): %s; use a pure-Python wheel (py3-none-any)",
			printable(base), ErrNative, printable(strings.Join(w.Tags, ", ")), printable(wh.Get("Root-Is-Purelib")), why)
	}

	if w.Metadata, err = ParseHeaders(raw[w.DistInfo+"/METADATA"]); err != nil {
		return nil, bad("%s/METADATA: %v", printable(w.DistInfo), err)
	}
	w.Name = w.Metadata.Get("Name")
	if w.Name == "" || w.Metadata.Get("Version") == "" {
		return nil, bad("%s/METADATA has no Name or no Version", printable(w.DistInfo))
	}
	if w.Version, err = ParseVersion(w.Metadata.Get("Version")); err != nil {
		return nil, bad("METADATA: %v", err)
	}
	if NormalizeName(w.Name) != NormalizeName(fnName) {
		return nil, bad("its file name says distribution %q, its METADATA says %q; rename the file or rebuild the wheel", printable(fnName), printable(w.Name))
	}
	if fv, err := ParseVersion(fnVersion); err != nil || Compare(fv, w.Version) != 0 {
		return nil, bad("its file name says version %q, its METADATA says %q; rename the file or rebuild the wheel", printable(fnVersion), printable(w.Metadata.Get("Version")))
	}
	stem := strings.TrimSuffix(w.DistInfo, ".dist-info")
	if i := strings.LastIndexByte(stem, '-'); i < 0 || NormalizeName(stem[:i]) != NormalizeName(w.Name) {
		return nil, bad("its .dist-info directory %q does not name distribution %q", printable(w.DistInfo), printable(w.Name))
	}
	if rp := w.Metadata.Get("Requires-Python"); rp != "" {
		specs, err := ParseSpecifiers(rp)
		if err != nil {
			return nil, bad("Requires-Python: %v", err)
		}
		if py, _ := ParseVersion(WASI()["python_full_version"]); !Matches(specs, py) {
			return nil, bad("it requires Python %s; the runtime is CPython %s: use a release of %s that supports it", printable(rp), WASI()["python_full_version"], printable(w.Name))
		}
	}

	data := stem + ".data/"
	for name, b := range raw {
		rest, ok := strings.CutPrefix(name, data)
		if !ok {
			w.Files[name] = b
			continue
		}
		kind, file, _ := strings.Cut(rest, "/")
		switch kind {
		case "purelib", "platlib":
			if _, dup := w.Files[file]; dup {
				return nil, bad("%s and %s are the same file once installed", printable(name), printable(file))
			}
			w.Files[file] = b
		case "scripts", "headers", "data":
			w.Dropped = append(w.Dropped, name)
		default:
			return nil, bad("entry %q: unknown .data directory %q (want purelib, platlib, scripts, headers or data)", printable(name), printable(kind))
		}
	}
	// Two entries that meet once .data is moved in (one in purelib, one at
	// the root): checked above only exactly; check case too.
	seen := map[string]string{}
	for name := range w.Files {
		if other, ok := seen[strings.ToLower(name)]; ok && other != name {
			return nil, bad("%q and %q differ only in case once installed", printable(other), printable(name))
		}
		seen[strings.ToLower(name)] = name
	}
	slices.Sort(w.Dropped)
	return w, nil
}

// parseFileName splits NAME-VERSION(-BUILD)?-PY-ABI-PLATFORM.whl.
func parseFileName(base string) (name, version string, err error) {
	stem, ok := strings.CutSuffix(base, ".whl")
	if !ok {
		return "", "", fmt.Errorf("the file name does not end in .whl")
	}
	parts := strings.Split(stem, "-")
	if len(parts) != 5 && len(parts) != 6 {
		return "", "", fmt.Errorf("the file name is not NAME-VERSION-PYTHON-ABI-PLATFORM.whl (PEP 427)")
	}
	return parts[0], parts[1], nil
}

// checkEntryName refuses zip entry names that could leave the package
// directory or mean different files on different systems.
func checkEntryName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case strings.ContainsRune(name, '\\'):
		return errors.New("holds a backslash")
	case strings.HasPrefix(name, "/"):
		return errors.New("absolute path")
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New("holds a control character")
	case len(name) > 1 && name[1] == ':':
		return errors.New("a drive letter")
	}
	for _, seg := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		switch seg {
		case "..":
			return errors.New("a \"..\" segment")
		case ".", "":
			return errors.New("an empty or \".\" segment")
		}
	}
	return nil
}

// checkTags returns why no tag fits CPython 3.11 on wasm32-wasi, or "".
func checkTags(tags []string) string {
	for _, t := range tags {
		parts := strings.Split(t, "-")
		if len(parts) != 3 {
			return fmt.Sprintf("tag %q is not PYTHON-ABI-PLATFORM", t)
		}
		pyOK, abiOK, platOK := false, false, false
		for _, py := range strings.Split(parts[0], ".") {
			if py == "py3" || py == "py2.py3" {
				pyOK = true
			}
			for _, pre := range []string{"py3", "cp3"} {
				if n, err := strconv.Atoi(strings.TrimPrefix(py, pre)); strings.HasPrefix(py, pre) && err == nil && n <= 11 {
					pyOK = true
				}
			}
		}
		for _, abi := range strings.Split(parts[1], ".") {
			abiOK = abiOK || abi == "none" || abi == "abi3" || abi == "cp311"
		}
		for _, plat := range strings.Split(parts[2], ".") {
			platOK = platOK || plat == "any" || strings.HasPrefix(plat, "wasi")
		}
		if pyOK && abiOK && platOK {
			return ""
		}
	}
	return "none is for CPython 3.11 on wasm32-wasi (platform any or wasi)"
}

// checkRecord checks every file of the wheel against its RECORD entry
// (PEP 427: installers must), and that RECORD lists nothing that is missing.
func checkRecord(raw map[string][]byte, distInfo string) error {
	recName := distInfo + "/RECORD"
	rows, err := csv.NewReader(bytes.NewReader(raw[recName])).ReadAll()
	if err != nil {
		return fmt.Errorf("%w: %s is not CSV: %v", ErrRecord, printable(recName), err)
	}
	listed := map[string]string{}
	for _, row := range rows {
		if len(row) == 0 || (len(row) == 1 && row[0] == "") {
			continue
		}
		if len(row) < 2 {
			return fmt.Errorf("%w: %s: row %q has no hash column", ErrRecord, printable(recName), printable(strings.Join(row, ",")))
		}
		listed[path.Clean(row[0])] = row[1]
	}
	var missing, unlisted, wrong []string
	for name, b := range raw {
		if name == recName || name == distInfo+"/RECORD.jws" || name == distInfo+"/RECORD.p7s" {
			continue
		}
		h, ok := listed[name]
		if !ok {
			unlisted = append(unlisted, name)
			continue
		}
		if !hashMatches(h, b) {
			wrong = append(wrong, name)
		}
	}
	for name := range listed {
		if _, ok := raw[name]; !ok && name != recName && !strings.HasSuffix(name, "/") {
			missing = append(missing, name)
		}
	}
	for _, l := range [][]string{missing, unlisted, wrong} {
		slices.Sort(l)
	}
	switch {
	case len(wrong) > 0:
		return fmt.Errorf("%w: the content of %s does not match its RECORD hash; the wheel was altered or damaged: download or build it again", ErrRecord, printable(strings.Join(wrong, ", ")))
	case len(unlisted) > 0:
		return fmt.Errorf("%w: %s not listed in RECORD; the wheel was altered: download or build it again", ErrRecord, printable(strings.Join(unlisted, ", ")))
	case len(missing) > 0:
		return fmt.Errorf("%w: RECORD lists %s, which the wheel does not hold", ErrRecord, printable(strings.Join(missing, ", ")))
	}
	return nil
}

// hashMatches checks a RECORD hash (algo=urlsafe-base64-nopad digest);
// sha256, sha384 and sha512 are accepted, weaker ones are not.
func hashMatches(field string, b []byte) bool {
	algo, want, ok := strings.Cut(field, "=")
	if !ok {
		return false
	}
	var h hash.Hash
	switch algo {
	case "sha256":
		h = sha256.New()
	case "sha384":
		h = sha512.New384()
	case "sha512":
		h = sha512.New()
	default:
		return false
	}
	h.Write(b)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)) == strings.TrimRight(want, "=")
}

// RecordHash is the RECORD hash field of b: sha256=<urlsafe-base64-nopad>.
func RecordHash(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256=" + base64.RawURLEncoding.EncodeToString(s[:])
}
