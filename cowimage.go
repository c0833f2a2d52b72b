package wrun

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"sync/atomic"

	"github.com/wrun-dev/wrun/internal/linearmem"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// A module whose data segments all initialize its own memory at constant
// offsets (what pre-initialization writes: a snapshot's whole heap) does not
// need them copied into every instance: a Program builds the memory's
// initial contents once, in a sealed memfd (linearmem.Image), and compiles
// the module without those segments; every run's memory then maps the image
// copy-on-write (linearmem.NewWithImage), so a run pays only for the pages
// it writes. Anything else the module could do with its segments keeps the
// ordinary path: see imagePlan.

// cowImageEnv, set to "0", turns memory images off for the Programs of the
// process (for debugging: the results must not change).
const cowImageEnv = "WRUN_MEMORY_IMAGE"

// noCOWImage turns memory images off for Programs that have not yet
// prepared theirs (tests compare both paths).
var noCOWImage atomic.Bool

// imageMinBytes is the least data (the segments' bytes) worth an image:
// mapping one costs a few tens of microseconds per run (mmap, munmap, a
// page fault per page read), about what copying a few hundred KiB into
// fresh memory costs. Tests lower it.
var imageMinBytes atomic.Int64

func init() { imageMinBytes.Store(256 << 10) }

// imageMaxSegments is the most data segments a module may have and take an
// image: deciding walks every segment once per process, and Go's compiler
// emits tens of thousands of small ones (30,434 for a hello world: ~10 ms to
// plan, more than a one-shot run saves); pre-initialized snapshots have a
// few thousand at most (2,048 for CPython's).
const imageMaxSegments = 8192

func cowImageEnabled() bool {
	return !noCOWImage.Load() && os.Getenv(cowImageEnv) != "0"
}

// imagePlan decides whether m's memory can start from an image: it returns
// the module without its data segments (and removes them from m), the
// memory's initial size in bytes and the segments to apply, or why not (an
// empty why means yes, and m is left as it was otherwise). Every Compile
// asks, so it says no to a module with little data before decoding
// anything.
//
// It says yes only when every segment is provably applied at instantiation
// and never read again: the module has one memory of its own (not imported,
// not shared, 32-bit), every segment is active in that memory at an
// i32.const offset and lies within its initial size (else instantiation
// fails, and must keep failing the same way), and no code may refer to a
// segment (memory.init, data.drop: they need a data count section, and a
// module with one is scanned for them).
func imagePlan(m *wasmbin.Module) (stripped []byte, size uint64, segs []linearmem.Segment, why string) {
	ds := m.Section(wasmbin.SectionData)
	if ds == nil {
		return nil, 0, nil, "no data segments"
	}
	if int64(len(ds.Payload)) < imageMinBytes.Load() { // the segments' bytes and their headers
		return nil, 0, nil, "too little data to be worth an image"
	}
	if n, k := binary.Uvarint(ds.Payload); k > 0 && n > imageMaxSegments { // the count, LEB128
		return nil, 0, nil, "too many data segments"
	}
	if s := m.Section(wasmbin.SectionImport); s != nil {
		imps, err := wasmbin.DecodeImports(s.Payload, s.PayloadOffset)
		if err != nil {
			return nil, 0, nil, "the import section does not decode"
		}
		for _, imp := range imps {
			if imp.Kind == wasmbin.KindMemory {
				return nil, 0, nil, "imported memory"
			}
		}
	}
	ms := m.Section(wasmbin.SectionMemory)
	if ms == nil {
		return nil, 0, nil, "no memory"
	}
	mems, err := wasmbin.DecodeMemories(ms.Payload, ms.PayloadOffset)
	switch {
	case err != nil:
		return nil, 0, nil, "the memory section does not decode"
	case len(mems) != 1:
		return nil, 0, nil, "not exactly one memory"
	case mems[0].Shared || mems[0].Is64 || mems[0].PageSizeLog2 != nil:
		return nil, 0, nil, "a shared, 64-bit or custom-page-size memory"
	case mems[0].Min > 65536:
		return nil, 0, nil, "initial memory over 4 GiB"
	}
	size = mems[0].Min * linearmem.PageSize
	data, err := wasmbin.DecodeData(ds.Payload, ds.PayloadOffset)
	if err != nil {
		return nil, 0, nil, "the data section does not decode"
	}
	for _, s := range data.Segments {
		if s.Passive {
			return nil, 0, nil, "a passive data segment"
		}
		if s.Memory != 0 {
			return nil, 0, nil, "a data segment of another memory"
		}
		off, ok := wasmbin.ConstI64(s.Offset)
		if !ok || s.Offset[0] != 0x41 {
			return nil, 0, nil, "a data segment at a non-constant offset"
		}
		at := uint64(uint32(off))
		if at+uint64(len(s.Init)) > size {
			return nil, 0, nil, "a data segment outside the initial memory"
		}
		segs = append(segs, linearmem.Segment{Offset: at, Data: s.Init})
	}
	total := 0
	for _, s := range segs {
		total += len(s.Data)
	}
	if int64(total) < imageMinBytes.Load() {
		return nil, 0, nil, "too little data to be worth an image"
	}
	if dc := m.Section(wasmbin.SectionDataCount); dc != nil {
		if n, err := wasmbin.DecodeU32Section(dc.Payload, dc.PayloadOffset); err != nil || n != uint32(len(segs)) {
			return nil, 0, nil, "a data count section that does not match the data section"
		}
		if code := m.Section(wasmbin.SectionCode); code != nil && mayUseSegments(code.Payload) {
			return nil, 0, nil, "code that may use memory.init or data.drop"
		}
	}
	m.RemoveSection(wasmbin.SectionData)
	m.RemoveSection(wasmbin.SectionDataCount)
	return m.Encode(), size, segs, ""
}

// mayUseSegments reports whether code (a code section's payload) may hold a
// memory.init or data.drop instruction: 0xfc followed by the LEB128 8 or 9.
// It does not decode instructions, so it can say yes for immediates that
// happen to look like one (the module then keeps the ordinary path), never
// no for a real one.
func mayUseSegments(code []byte) bool {
	for i := 0; ; i++ {
		j := bytes.IndexByte(code[i:], 0xfc)
		if j < 0 {
			return false
		}
		i += j
		if op, _, err := wasmbin.DecodeU32(code[i+1:]); err == nil && (op == 8 || op == 9) {
			return true
		}
	}
}

// splitImage returns wasm (parsed as m) without its data segments and the
// image of its memory, or wasm and nil when the module does not qualify
// (imagePlan), memory images are off, or the system has none. It may
// remove the data sections from m.
func splitImage(wasm []byte, m *wasmbin.Module) (*linearmem.Image, []byte) {
	if !cowImageEnabled() {
		return nil, wasm
	}
	stripped, size, segs, why := imagePlan(m)
	if why != "" {
		return nil, wasm
	}
	img, err := linearmem.NewImage(size, segs)
	if err != nil {
		return nil, wasm // the ordinary path works everywhere
	}
	return img, stripped
}

// adoptImage makes img (nil: none) the image p's memory starts from, p.wasm
// being the module without its data segments, and closes it with p or p's
// Runtime. The caller has not published p.
func (p *Program) adoptImage(img *linearmem.Image) {
	p.image = img
	if img != nil {
		// A Runtime's Close ends the program without its Close.
		context.AfterFunc(p.closing, func() { img.Close() })
	}
}
