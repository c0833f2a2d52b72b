package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/internal/testenv"
)

// jcoVersion is the jco release whose embedded wasm-tools metadata code the
// metadata sections are checked against (jco metadata-show / metadata-add
// are `wasm-tools metadata show / add` compiled to wasm; they handle the
// name and producers sections).
const jcoVersion = "1.35.0"

// jco returns the jco binary `make tools` installed (JCO_VERSION there);
// the test never installs it.
func jco(t *testing.T) string {
	t.Helper()
	return testenv.NpmTool(t, "jco", "@bytecodealliance/jco", jcoVersion, "node_modules/.bin/jco")
}

func TestBundleMetadataInteropWasmTools(t *testing.T) {
	j := jco(t)
	c := newCLI(t)
	tmp := t.TempDir()

	// wrun writes, wasm-tools (jco) reads.
	ours := filepath.Join(tmp, "ours.wasm")
	if r := c.run("wasm", "metadata", "add", guest(t, "c/hello"), "-o", ours, "--name", "hello-app",
		"--language", "C=17", "--processed-by", "wrun=0.1.0", "--sdk", "wasi-sdk=25"); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	out, err := exec.Command(j, "metadata-show", "--json", ours).CombinedOutput()
	if err != nil {
		t.Fatalf("jco metadata-show: %v\n%s", err, out)
	}
	var shown []struct {
		Name      string
		Producers [][]json.RawMessage
	}
	if err := json.Unmarshal(out, &shown); err != nil || len(shown) != 1 {
		t.Fatalf("%v\n%s", err, out)
	}
	if shown[0].Name != "hello-app" {
		t.Fatalf("wasm-tools reads name %q", shown[0].Name)
	}
	prod := string(out)
	for _, want := range []string{`"C"`, `"17"`, `"wrun"`, `"0.1.0"`, `"wasi-sdk"`, `"25"`, `"processed-by"`, `"sdk"`} {
		if !strings.Contains(prod, want) {
			t.Fatalf("wasm-tools does not see %s:\n%s", want, out)
		}
	}

	// wasm-tools (jco) writes, wrun reads.
	theirs := filepath.Join(tmp, "theirs.wasm")
	if out, err := exec.Command(j, "metadata-add", guest(t, "c/hello"), "-m", "language=Rust@1.80", "-m", "processed-by=jco@"+jcoVersion, "-o", theirs).CombinedOutput(); err != nil {
		t.Fatalf("jco metadata-add: %v\n%s", err, out)
	}
	r := c.run("wasm", "metadata", "show", "--json", theirs)
	var md struct {
		Producers []struct {
			Name   string
			Values []struct{ Name, Version string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &md); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	found := map[string]string{}
	for _, f := range md.Producers {
		for _, v := range f.Values {
			found[f.Name+"/"+v.Name] = v.Version
		}
	}
	if found["language/Rust"] != "1.80" || found["processed-by/jco"] != jcoVersion {
		t.Fatalf("wrun reads %v from wasm-tools' producers section", found)
	}
	// And the round trip through both keeps every value.
	both := filepath.Join(tmp, "both.wasm")
	if r := c.run("wasm", "metadata", "add", theirs, "-o", both, "--sdk", "wrun=0.1.0"); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	out, err = exec.Command(j, "metadata-show", both).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Rust1.80") || !strings.Contains(string(out), "wrun0.1.0") {
		t.Fatalf("jco metadata-show after both: %v\n%s", err, out)
	}
}
