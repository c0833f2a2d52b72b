// Package apicheck pins that wrun's public API never exposes a type from an
// internal/ package: an embedder cannot name such a type (Go refuses the
// import), so a field, parameter or result of one is a value they can get
// but never declare, construct or pass on.
package apicheck

import (
	"encoding/json"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/internal/testenv"
)

const mod = "github.com/wrun-dev/wrun"

// TestNoInternalTypesInAPI type-checks every library package of the module
// outside internal/ and cmd/ (from the compiler's export data, as `go list
// -export` builds it) and walks everything an importer can reach from its
// exported names: constants, variables, functions, exported fields and
// methods, through the package's own types, exported or not. Any type
// declared in an internal/ package on the way fails the test.
func TestNoInternalTypesInAPI(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-export", "-json=ImportPath,Name,Export,Module", mod+"/...")
	cmd.Dir = testenv.Root()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v\n%s", err, stderr.String())
	}
	exports := map[string]string{}
	var public []string
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath, Name, Export string
			Module                   *struct{ Path string }
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
		if p.Module != nil && p.Module.Path == mod && p.Name != "main" && !isInternal(p.ImportPath) && !underCmd(p.ImportPath) {
			public = append(public, p.ImportPath)
		}
	}
	for _, want := range []string{mod, mod + "/bundle", mod + "/preinit", mod + "/registryclient", mod + "/vfs"} {
		if !slices.Contains(public, want) {
			t.Errorf("go list did not report %s as a public package", want)
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	for _, path := range public {
		pkg, err := imp.Import(path)
		if err != nil {
			t.Fatalf("importing %s: %v", path, err)
		}
		for _, leak := range internalTypes(pkg) {
			t.Errorf("%s exposes an internal type: %s", path, leak)
		}
	}
}

// TestWalkerFindsLeaks checks the walker itself on a package that leaks an
// internal type in each way it looks for.
func TestWalkerFindsLeaks(t *testing.T) {
	internal := types.NewPackage(mod+"/internal/x", "x")
	secret := types.NewNamed(types.NewTypeName(token.NoPos, internal, "Secret", nil), types.Typ[types.Int], nil)
	pkg := types.NewPackage(mod+"/pub", "pub")
	scope := pkg.Scope()
	field := func(name string, typ types.Type) *types.Var {
		return types.NewField(token.NoPos, pkg, name, typ, false)
	}
	// type Info struct { Items []x.Secret; hidden x.Secret }
	info := types.NewNamed(types.NewTypeName(token.NoPos, pkg, "Info", nil),
		types.NewStruct([]*types.Var{field("Items", types.NewSlice(secret)), field("hidden", secret)}, nil), nil)
	scope.Insert(info.Obj())
	// func Get() *hidden, type hidden struct{ M map[string]x.Secret }
	hidden := types.NewNamed(types.NewTypeName(token.NoPos, pkg, "hidden", nil),
		types.NewStruct([]*types.Var{field("M", types.NewMap(types.Typ[types.String], secret))}, nil), nil)
	res := types.NewTuple(types.NewVar(token.NoPos, pkg, "", types.NewPointer(hidden)))
	scope.Insert(types.NewFunc(token.NoPos, pkg, "Get", types.NewSignatureType(nil, nil, nil, nil, res, false)))
	// var Default x.Secret
	scope.Insert(types.NewVar(token.NoPos, pkg, "Default", secret))
	// func (Info) Put(func(x.Secret))
	param := types.NewTuple(types.NewVar(token.NoPos, pkg, "f",
		types.NewSignatureType(nil, nil, nil, types.NewTuple(types.NewVar(token.NoPos, pkg, "", secret)), nil, false)))
	recv := types.NewVar(token.NoPos, pkg, "", info)
	info.AddMethod(types.NewFunc(token.NoPos, pkg, "Put", types.NewSignatureType(recv, nil, nil, param, nil, false)))

	got := internalTypes(pkg)
	want := []string{
		"Default: " + mod + "/internal/x.Secret",
		"Get → pub.hidden.M: " + mod + "/internal/x.Secret",
		"Info.Items: " + mod + "/internal/x.Secret",
		"Info.Put: " + mod + "/internal/x.Secret",
	}
	if !slices.Equal(got, want) {
		t.Errorf("internalTypes found\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// internalTypes lists, sorted, where pkg's exported API reaches a type
// declared in an internal/ package: "Where: pkg/path.Type".
func internalTypes(pkg *types.Package) []string {
	w := &walker{pkg: pkg, seen: map[*types.Named]bool{}}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		w.walk(name, obj.Type())
	}
	slices.Sort(w.leaks)
	return slices.Compact(w.leaks)
}

type walker struct {
	pkg   *types.Package
	seen  map[*types.Named]bool
	leaks []string
}

// walk visits typ, reached at where, and everything of it an importer can
// use.
func (w *walker) walk(where string, typ types.Type) {
	if n, ok := types.Unalias(typ).(*types.Named); ok {
		if p := n.Obj().Pkg(); p != nil && isInternal(p.Path()) {
			w.leaks = append(w.leaks, where+": "+p.Path()+"."+n.Obj().Name())
			return
		}
	}
	switch t := typ.(type) {
	case *types.Alias:
		w.walk(where, types.Unalias(t))
	case *types.Named:
		if w.seen[t] { // only a named type can make the walk circular
			return
		}
		w.seen[t] = true
		obj := t.Obj()
		if args := t.TypeArgs(); args != nil {
			for i := range args.Len() {
				w.walk(where, args.At(i))
			}
		}
		if obj.Pkg() != w.pkg {
			return // another package's API is checked as that package
		}
		name := obj.Name()
		if !obj.Exported() {
			name = where + " → " + w.pkg.Name() + "." + name
		}
		w.walk(name, t.Underlying())
		for i := range t.NumMethods() {
			if m := t.Method(i); m.Exported() {
				w.walk(name+"."+m.Name(), m.Type())
			}
		}
	case *types.Pointer:
		w.walk(where, t.Elem())
	case *types.Slice:
		w.walk(where, t.Elem())
	case *types.Array:
		w.walk(where, t.Elem())
	case *types.Chan:
		w.walk(where, t.Elem())
	case *types.Map:
		w.walk(where, t.Key())
		w.walk(where, t.Elem())
	case *types.Signature:
		for _, tup := range []*types.Tuple{t.Params(), t.Results()} {
			for i := range tup.Len() {
				w.walk(where, tup.At(i).Type())
			}
		}
	case *types.Struct:
		for i := range t.NumFields() {
			// An embedded field promotes its exported fields and methods
			// even when its own name is unexported.
			if f := t.Field(i); f.Exported() || f.Embedded() {
				w.walk(where+"."+f.Name(), f.Type())
			}
		}
	case *types.Interface:
		for i := range t.NumMethods() {
			if m := t.Method(i); m.Exported() {
				w.walk(where+"."+m.Name(), m.Type())
			}
		}
	case *types.TypeParam:
		w.walk(where, t.Constraint())
	}
}

func isInternal(path string) bool {
	return strings.HasPrefix(path, "internal/") || strings.Contains(path, "/internal/") || strings.HasSuffix(path, "/internal")
}

func underCmd(path string) bool {
	return path == mod+"/cmd" || strings.HasPrefix(path, mod+"/cmd/")
}
