package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBundleWasmExplodeAssemble(t *testing.T) {
	c := newCLI(t)
	for _, g := range []string{"c/hello", "go/hello"} {
		in := guest(t, g)
		tmp := t.TempDir()
		dir := filepath.Join(tmp, "exploded")
		if r := c.run("wasm", "explode", in, "-o", dir); r.code != 0 {
			t.Fatalf("%+v", r)
		}
		out := filepath.Join(tmp, "back.wasm")
		if r := c.run("wasm", "assemble", dir, "-o", out); r.code != 0 {
			t.Fatalf("%+v", r)
		}
		a, _ := os.ReadFile(in)
		b, _ := os.ReadFile(out)
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: assemble(explode) differs", g)
		}
		din, ddir := c.run("digest", in), c.run("digest", dir)
		if din.code != 0 || din.stdout != ddir.stdout {
			t.Fatalf("%s: digest of IN %q, of DIR %q", g, din.stdout, ddir.stdout)
		}
		if r := c.run("wasm", "digest", in); r.stdout != din.stdout {
			t.Fatalf("wasm digest %q, digest %q", r.stdout, din.stdout)
		}
		if r := c.run("wasm", "digest", "--canonical", in); r.code != 0 || r.stdout == din.stdout {
			t.Fatalf("canonical: %+v", r)
		}
	}
}

func TestBundleWasmBadInput(t *testing.T) {
	c := newCLI(t)
	tmp := t.TempDir()
	pre := "\x00asm\x01\x00\x00\x00"
	for _, tc := range []struct{ name, data, want string }{
		{"past-end", pre + "\x01\x10\x00", "type section (id 1) declares 16 bytes but 1 remain"},
		{"bad-length", pre + "\x01\x80\x80\x80\x80\x80", "section size at offset 9"},
	} {
		in := filepath.Join(tmp, tc.name+".wasm")
		os.WriteFile(in, []byte(tc.data), 0o644)
		c.run("wasm", "explode", in, "-o", filepath.Join(tmp, tc.name+".d")).wantError(t, tc.name+".wasm", tc.want, "offset")
		c.run("wasm", "metadata", "add", in, "-o", filepath.Join(tmp, tc.name+".out"), "--name", "x").wantError(t, tc.want)
		c.run("digest", in).wantError(t, tc.want)
	}
	if l := entries(t, tmp); len(l) != 3 {
		t.Fatalf("something was written: %v", l)
	}
	// Exploding into a non-empty directory is refused and writes nothing.
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "keep"), []byte("x"), 0o644)
	c.run("wasm", "explode", guest(t, "c/hello"), "-o", full).wantError(t, "not empty")
	if l := entries(t, filepath.Dir(full)); len(l) != 3 {
		t.Fatalf("stray files: %v", l)
	}
}

func TestBundleWasmMetadata(t *testing.T) {
	c := newCLI(t)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "meta.wasm")
	r := c.run("wasm", "metadata", "add", guest(t, "c/hello"), "-o", out,
		"--name", "hello", "--description", "Says hello", "--authors", "A. Author", "--licenses", "MIT",
		"--source", "https://example.com/src", "--homepage", "https://example.com", "--revision", "abc",
		"--version", "1.2.3", "--language", "C=17", "--processed-by", "clang=19", "--sdk", "wasi-sdk=25")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	r = c.run("wasm", "metadata", "show", out)
	for _, want := range []string{"name", "hello", "Says hello", "A. Author", "MIT", "https://example.com/src", "abc", "1.2.3", "C 17", "clang 19", "wasi-sdk 25"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("show does not say %q:\n%s", want, r.stdout)
		}
	}
	r = c.run("wasm", "metadata", "show", "--json", out)
	var md struct {
		Name      string
		Producers []struct {
			Name   string
			Values []struct{ Name, Version string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &md); err != nil || md.Name != "hello" || len(md.Producers) < 3 {
		t.Fatalf("%v %+v\n%s", err, md, r.stdout)
	}
	c.run("wasm", "metadata", "add", out, "-o", filepath.Join(tmp, "x.wasm"), "--language", "=1").wantError(t, "--language", "NAME=VERSION")
	c.run("wasm", "metadata", "add", out).wantError(t, "--output")
}

func TestBundleInspectWasm(t *testing.T) {
	c := newCLI(t)
	in := guest(t, "go/hello")
	r := c.run("inspect", in)
	for _, want := range []string{"core module", "MB", "sections", "code", "data", "custom:producers", "imports",
		"wasi_snapshot_preview1.fd_write", "exports", "_start", "memory 0", "data segments", "language", "Go"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("inspect does not show %q:\n%s", want, r.stdout)
		}
	}
	d := c.run("digest", in)
	if !strings.Contains(r.stdout, strings.TrimSpace(d.stdout)) {
		t.Fatalf("inspect does not show the digest %s", d.stdout)
	}
	r = c.run("inspect", "--json", in)
	var rep struct {
		Wasm struct {
			Imports  []struct{ Module, Name, Kind string }
			Memories []struct{ Min uint64 }
			Metadata struct{ Producers []struct{ Name string } }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Wasm.Imports) == 0 || rep.Wasm.Imports[0].Kind != "func" ||
		len(rep.Wasm.Memories) != 1 || len(rep.Wasm.Metadata.Producers) == 0 {
		t.Fatalf("%v %+v", err, rep)
	}
}
