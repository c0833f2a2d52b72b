package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/component"
	"github.com/wrun-dev/wrun/internal/home"
	"github.com/wrun-dev/wrun/internal/printable"
	"github.com/wrun-dev/wrun/internal/wasmbin"
	"github.com/wrun-dev/wrun/registryclient"
	"github.com/wrun-dev/wrun/serve"
)

// inspectOptions are the flags of `wrun inspect`.
type inspectOptions struct {
	json bool
}

// inspectReport is what `wrun inspect --json` prints.
type inspectReport struct {
	Path     string           `json:"path"`
	Manifest *bundle.Manifest `json:"manifest,omitempty"`
	Digest   bundle.Digest    `json:"digest"`
	Signed   bool             `json:"signed"`
	// Signature says whether the signature verifies against the content
	// and with which trusted key; nil when unsigned.
	Signature *signatureReport `json:"signature,omitempty"`
	Release   json.RawMessage  `json:"release,omitempty"`
	Files     []bundle.Entry   `json:"files,omitempty"`
	Wasm      *bundle.WasmInfo `json:"wasm,omitempty"`
	WasmPath  string           `json:"wasmPath,omitempty"`
	// Component describes a wasm that is a component.
	Component *componentReport `json:"component,omitempty"`
	// ContentURLs maps the URL path of each file the package's [http]
	// static routes serve to its content-hash URL (see wrun serve); only the
	// package's own assets, a dependency's are known once resolved.
	ContentURLs map[string]string `json:"content_urls,omitempty"`
}

// signatureReport is what inspect established about a signature.
type signatureReport struct {
	// Status: "verified" (by a trusted key), "unverified" (no key is
	// trusted for the namespace, so the signature cannot be checked; the
	// release manifest matches the content) or "invalid" (it does not
	// match the content, or no trusted key verifies it).
	Status string `json:"status"`
	KeyID  string `json:"keyId,omitempty"`
	Detail string `json:"detail"`
}

func newInspectCmd(g *globalOptions) *cobra.Command {
	o := &inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect PATH|REF [--json]",
		Short: "Show a package's manifest, digest and entries, and its wasm's sections",
		Long: `Show what PATH holds. For a package (a directory with wrun.toml or a bundle):
the manifest, the content digest, the signature, the entries with sizes and
the [run] wasm. For a .wasm: its sections, imports, exports, memories and
metadata. A component also shows its world (imported and exported
interfaces with versions), its core modules with sizes and roles, its
nested components, and whether wrun runs it and why. REF, a package
reference (example:hello@1.0.0) where no file PATH exists, is pulled as
wrun run pulls it, and inspected.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := inspectTarget(cmd.Context(), g, args[0])
			if err != nil {
				return err
			}
			if o.json {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			printInspect(cmd.OutOrStdout(), r)
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON")
	return cmd
}

// inspectTarget inspects PATH, or, when no file PATH exists and it parses
// as a package reference, the package it resolves to (pulled into the
// cache as `wrun run REF` pulls it).
func inspectTarget(ctx context.Context, g *globalOptions, path string) (*inspectReport, error) {
	kind, err := bundle.DetectPath(path)
	if err != nil {
		if _, statErr := os.Lstat(path); g != nil && errors.Is(statErr, fs.ErrNotExist) {
			if _, refErr := registryclient.ParseRef(path); refErr == nil {
				return inspectRef(ctx, g, path)
			}
		}
		return nil, err
	}
	r := &inspectReport{Path: path}
	if kind == bundle.PathWasm {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if r.Wasm, err = bundle.InspectWasm(b); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		r.Digest, r.WasmPath = r.Wasm.Digest, path
		r.Component = inspectComponent(b)
		return r, nil
	}
	p, err := bundle.Load(path)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return inspectPackage(r, path, p)
}

// inspectRef pulls the package ref names and inspects it.
func inspectRef(ctx context.Context, g *globalOptions, ref string) (*inspectReport, error) {
	client, err := registryclient.New(g.registryOptions())
	if err != nil {
		return nil, err
	}
	res, err := client.Pull(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, p := range append([]*registryclient.Package{res.Root}, res.Deps...) {
			p.Close()
		}
	}()
	return inspectPackage(&inspectReport{Path: ref}, ref, res.Root.Package)
}

func inspectPackage(r *inspectReport, path string, p *bundle.Package) (*inspectReport, error) {
	r.Manifest, r.Digest, r.Files = p.Manifest, p.Digest(), p.Files()
	if p.Manifest.HTTP != nil {
		r.ContentURLs = serve.ContentURLs(&registryclient.Resolved{Root: &registryclient.Package{Package: p}})
	}
	if s := p.Signature; s != nil {
		r.Signed = true
		if json.Valid(s.Release) {
			r.Release = json.RawMessage(s.Release)
		}
		r.Signature = checkSignature(p)
	}
	if w := p.Manifest.Run.Wasm; w != "" {
		b, err := p.ReadFile(w)
		if err != nil {
			return nil, err
		}
		if r.Wasm, err = bundle.InspectWasm(b); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, w, err)
		}
		r.WasmPath = w
		r.Component = inspectComponent(b)
	}
	return r, nil
}

// checkSignature verifies a signed package's release manifest against its
// content and its signature against the keys trusted for its namespace.
func checkSignature(p *bundle.Package) *signatureReport {
	ns, _, _ := strings.Cut(p.Manifest.Package.Name, ":")
	var trust bundle.TrustStore
	if dirs, err := home.Locate(); err == nil {
		trust.Dir = dirs.Keys()
	}
	v, err := bundle.Verify(p, trust)
	switch {
	case err != nil:
		return &signatureReport{Status: "invalid", Detail: err.Error()}
	case v.Verified:
		return &signatureReport{Status: "verified", KeyID: v.KeyID,
			Detail: fmt.Sprintf("the release manifest matches the content and the signature verifies with key %s, trusted for namespace %q", v.KeyID, ns)}
	case ns == "":
		return &signatureReport{Status: "unverified",
			Detail: "the release manifest matches the content, but the package has no name, so no key can be trusted for it: the signature is not checked"}
	}
	return &signatureReport{Status: "unverified",
		Detail: fmt.Sprintf("the release manifest matches the content, but no key is trusted for namespace %q, so the signature is not checked (trust one with: wrun key trust %s KEY.pub)", ns, ns)}
}

func printInspect(w io.Writer, r *inspectReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	if m := r.Manifest; m != nil {
		pk := m.Package
		fmt.Fprintf(tw, "package\t%s@%s (%s)\n", pr(orNone(pk.Name)), pr(orNone(pk.Version)), pr(pk.Kind))
		for _, kv := range [][2]string{{"description", pk.Description}, {"authors", strings.Join(pk.Authors, ", ")},
			{"license", pk.License}, {"homepage", pk.Homepage}, {"source", pk.Source}} {
			if kv[1] != "" {
				fmt.Fprintf(tw, "%s\t%s\n", kv[0], pr(kv[1]))
			}
		}
		fmt.Fprintf(tw, "digest\t%s\n", r.Digest)
		if sr := r.Signature; sr != nil {
			fmt.Fprintf(tw, "signed\t%s: %s\n", sr.Status, pr(sr.Detail))
			if r.Release != nil {
				fmt.Fprintf(tw, "release\t%s\n", pr(string(r.Release)))
			}
		} else {
			fmt.Fprintf(tw, "signed\tno\n")
		}
		if m.Run.Wasm != "" {
			fmt.Fprintf(tw, "run\twasm %s\n", pr(m.Run.Wasm))
		}
		if m.Run.Runtime != "" {
			fmt.Fprintf(tw, "run\truntime %s\n", pr(m.Run.Runtime))
		}
		if len(m.Run.Args) > 0 {
			fmt.Fprintf(tw, "args\t%q\n", m.Run.Args)
		}
		for k, v := range m.Run.Env {
			fmt.Fprintf(tw, "env\t%s=%s\n", pr(k), pr(v))
		}
		for _, a := range m.Assets {
			fmt.Fprintf(tw, "asset\t%s -> %s (read-only)\n", pr(a.From), pr(a.To))
		}
		for n, d := range m.Dependencies {
			fmt.Fprintf(tw, "dependency\t%s@%s -> %s\n", pr(n), pr(d.Version), pr(d.To))
		}
		for _, mt := range m.Mounts {
			req := "optional"
			if mt.Required {
				req = "required"
			}
			fmt.Fprintf(tw, "mount\t%s (%s, %s)\n", pr(mt.To), pr(mt.Access), req)
		}
		if m.Preinit != nil {
			fmt.Fprintf(tw, "preinit\t%s\n", pr(m.Preinit.Init))
		}
		for _, u := range slices.Sorted(maps.Keys(r.ContentURLs)) {
			fmt.Fprintf(tw, "http\t%s -> %s\n", pr(u), pr(r.ContentURLs[u]))
		}
		var total int64
		for _, f := range r.Files {
			total += f.Size
		}
		fmt.Fprintf(tw, "entries\t%d files, %s\n", len(r.Files), humanize.Bytes(uint64(total)))
		for _, f := range r.Files {
			fmt.Fprintf(tw, "  %s\t%s\n", humanize.Bytes(uint64(f.Size)), pr(f.Path))
		}
	}
	wi := r.Wasm
	if wi == nil {
		return
	}
	kind := "core module"
	if wi.Component {
		kind = "component"
	}
	fmt.Fprintf(tw, "wasm\t%s: %s, %s, %d sections\n", pr(r.WasmPath), kind, humanize.Bytes(uint64(wi.Size)), len(wi.Sections))
	fmt.Fprintf(tw, "  digest\t%s\n", wi.Digest)
	fmt.Fprintf(tw, "  canonical digest\t%s\n", wi.Canonical)
	fmt.Fprintf(tw, "  sections\n")
	for _, s := range wi.Sections {
		fmt.Fprintf(tw, "    %s\t@%d\t%s\n", pr(s.Name), s.Offset, humanize.Bytes(uint64(s.Size)))
	}
	if len(wi.Imports) > 0 {
		fmt.Fprintf(tw, "  imports\n")
		for _, im := range wi.Imports {
			fmt.Fprintf(tw, "    %s.%s\t%s\n", pr(im.Module), pr(im.Name), im.Kind)
		}
	}
	if len(wi.Exports) > 0 {
		fmt.Fprintf(tw, "  exports\n")
		for _, e := range wi.Exports {
			fmt.Fprintf(tw, "    %s\t%s %d\n", pr(e.Name), e.Kind, e.Index)
		}
	}
	for i, m := range wi.Memories {
		fmt.Fprintf(tw, "  memory %d\t%s pages\n", i, m)
	}
	if wi.Segments > 0 {
		fmt.Fprintf(tw, "  data segments\t%d\n", wi.Segments)
	}
	printMetadata(tw, wi.Metadata, "  ")
	printComponent(tw, r.Component, "  ")
}

func printMetadata(w io.Writer, md *bundle.WasmMetadata, indent string) {
	if md == nil {
		return
	}
	for _, kv := range [][2]string{{"name", md.Name}, {"authors", md.Authors}, {"description", md.Description},
		{"licenses", md.Licenses}, {"source", md.Source}, {"homepage", md.Homepage}, {"revision", md.Revision}, {"version", md.Version}} {
		if kv[1] != "" {
			fmt.Fprintf(w, "%s%s\t%s\n", indent, kv[0], pr(kv[1]))
		}
	}
	for _, f := range md.Producers {
		var vals []string
		for _, v := range f.Values {
			vals = append(vals, strings.TrimSpace(v.Name+" "+v.Version))
		}
		fmt.Fprintf(w, "%s%s\t%s\n", indent, pr(f.Name), pr(strings.Join(vals, ", ")))
	}
}

// pr makes package data safe to print (control characters escaped).
func pr(s string) string { return printable.String(s) }

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// componentReport is what `wrun inspect` shows of a component: its world,
// its core modules with their roles, its nested components, and whether
// wrun runs it and why.
type componentReport struct {
	Name        string             `json:"name,omitempty"`
	Kind        string             `json:"kind"`
	Runs        bool               `json:"runs"`
	Why         string             `json:"why"`
	Imports     []worldItem        `json:"imports"`
	Exports     []worldItem        `json:"exports"`
	CoreModules []coreModuleReport `json:"coreModules"`
	Components  []*componentReport `json:"components,omitempty"`
	Undecoded   []string           `json:"undecoded,omitempty"`
	Error       string             `json:"error,omitempty"`
}

type worldItem struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Package   string `json:"package,omitempty"`
	Interface string `json:"interface"`
	Version   string `json:"version,omitempty"`
}

type coreModuleReport struct {
	Index  int    `json:"index"`
	Name   string `json:"name,omitempty"`
	Role   string `json:"role,omitempty"`
	Size   int    `json:"size"`
	Offset int    `json:"offset"`
}

// inspectComponent describes b when it is a component, else nil.
func inspectComponent(b []byte) *componentReport {
	if wasmbin.Sniff(b) != wasmbin.Component {
		return nil
	}
	c, err := component.Parse(b)
	if err != nil {
		return &componentReport{Kind: "malformed component", Why: "it is malformed: " + err.Error(), Error: err.Error()}
	}
	return componentInfo(c, true)
}

func componentInfo(c *component.Component, top bool) *componentReport {
	s := component.Classify(c)
	r := &componentReport{Name: c.Name, Kind: s.Describe(), Runs: top && s.Runnable(), Undecoded: c.Undecoded,
		Imports: []worldItem{}, Exports: []worldItem{}, CoreModules: []coreModuleReport{}}
	switch {
	case !top:
		r.Why = "a nested component: only the outermost runs"
	case s.Runnable():
		r.Why = "wrun runs its main module (core module " + fmt.Sprint(s.Main.Index) + ") on its own WASI preview 1, with the adapter's own functions; the adapter, shim and fixups modules are not needed"
	default:
		r.Why = "wazero has no Component Model, so wrun runs only WASI preview 1 commands wrapped by the wasi_snapshot_preview1 adapter"
		if s.Why != "" {
			r.Why += "; this is not one: " + s.Why
		}
	}
	for _, list := range []struct {
		in  []component.Extern
		out *[]worldItem
	}{{c.Imports, &r.Imports}, {c.Exports, &r.Exports}} {
		for _, e := range list.in {
			pkg, iface, ver := e.Interface()
			*list.out = append(*list.out, worldItem{Name: e.Name, Kind: e.Kind, Package: pkg, Interface: iface, Version: ver})
		}
	}
	for i, m := range c.Modules {
		if m.Bytes == nil {
			continue
		}
		r.CoreModules = append(r.CoreModules, coreModuleReport{Index: i, Name: m.Name, Role: s.Roles[i], Size: len(m.Bytes), Offset: m.Offset})
	}
	for _, sub := range c.Components {
		r.Components = append(r.Components, componentInfo(sub, false))
	}
	return r
}

func printComponent(w io.Writer, r *componentReport, indent string) {
	if r == nil {
		return
	}
	runs := "no"
	if r.Runs {
		runs = "yes"
	}
	fmt.Fprintf(w, "%scomponent\t%s\n", indent, pr(r.Kind))
	if r.Name != "" {
		fmt.Fprintf(w, "%s  name\t%s\n", indent, pr(r.Name))
	}
	fmt.Fprintf(w, "%s  runs with wrun\t%s: %s\n", indent, runs, pr(r.Why))
	for _, l := range []struct {
		title string
		items []worldItem
	}{{"world imports", r.Imports}, {"world exports", r.Exports}} {
		if len(l.items) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s  %s\n", indent, l.title)
		for _, it := range l.items {
			fmt.Fprintf(w, "%s    %s\t%s\n", indent, pr(it.Name), it.Kind)
		}
	}
	if len(r.CoreModules) > 0 {
		fmt.Fprintf(w, "%s  core modules\n", indent)
		for _, m := range r.CoreModules {
			role := m.Role
			if role == "" {
				role = "-"
			}
			fmt.Fprintf(w, "%s    %d\t%s\t%s\t@%d\t%s\n", indent, m.Index, role, humanize.Bytes(uint64(m.Size)), m.Offset, pr(m.Name))
		}
	}
	for _, u := range r.Undecoded {
		fmt.Fprintf(w, "%s  not decoded\t%s\n", indent, pr(u))
	}
	for i, sub := range r.Components {
		fmt.Fprintf(w, "%s  nested component %d\n", indent, i)
		printComponent(w, sub, indent+"    ")
	}
}
