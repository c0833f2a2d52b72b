package wrun_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/registryclient"
)

// libPkg is an assets package directory name@version whose files (paths
// relative to its site directory) are given, depending on deps (name →
// to).
func libPkg(t *testing.T, name, version string, files map[string]string, deps map[string]string) string {
	t.Helper()
	m := fmt.Sprintf("[package]\nname = %q\nversion = %q\nkind = \"assets\"\n[[assets]]\nfrom = \"site\"\nto = \"/\"\n", name, version)
	if len(deps) > 0 {
		m += "[dependencies]\n"
		for n, to := range deps {
			m += fmt.Sprintf("%q = { version = \"^1\", to = %q }\n", n, to)
		}
	}
	b := map[string][]byte{}
	for p, c := range files {
		b["site/"+p] = []byte(c)
	}
	return writePkg(t, m, b)
}

// Several dependencies mounted at one guest directory, inside the app's
// own asset directory, are stacked as one union with what the app has
// there: every file of every package is visible, shared directories list
// the entries of all, a package reached twice (a diamond) is mounted once,
// and the guest's writes stay in the run's overlay.
func TestUnionOfDependencies(t *testing.T) {
	t.Setenv("WRUN_HOME", t.TempDir())
	client, err := registryclient.New(registryclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const lib = "/static/lib"
	publish(t, client, libPkg(t, "test:base", "1.0.0", map[string]string{"base.txt": "base\n", "sub/base.txt": "base sub\n"}, nil))
	publish(t, client, libPkg(t, "test:a", "1.0.0", map[string]string{"a.txt": "a\n", "sub/a.txt": "a sub\n"}, map[string]string{"test:base": lib}))
	publish(t, client, libPkg(t, "test:b", "1.0.0", map[string]string{"b.txt": "b\n", "sub/b.txt": "b sub\n"}, map[string]string{"test:base": lib}))

	m := catManifest + "[dependencies]\n" +
		"\"test:a\" = { version = \"^1\", to = \"" + lib + "\" }\n" +
		"\"test:b\" = { version = \"^1\", to = \"" + lib + "\" }\n"
	app := writePackage(t, m, map[string]string{"static/hello.txt": "hi\n", "static/lib/own.txt": "own\n", "static/lib/sub/own.txt": "own sub\n"})
	p := loadPackage(t, app)
	out, err := runPackage(p, wrun.NewRunConfig().WithArgs(lib+"/", lib+"/sub/", lib+"/own.txt", lib+"/a.txt", lib+"/sub/b.txt", lib+"/base.txt"))
	want := "hi\n" +
		"/static/lib/a.txt\n/static/lib/b.txt\n/static/lib/base.txt\n/static/lib/own.txt\n/static/lib/sub\n" +
		"/static/lib/sub/a.txt\n/static/lib/sub/b.txt\n/static/lib/sub/base.txt\n/static/lib/sub/own.txt\n" +
		"own\na\nb sub\nbase\n"
	if err != nil || out != want {
		t.Fatalf("union: %v\n%s\nwant\n%s", err, out, want)
	}
	// Writes land in the run's overlay, never in a package or the next run.
	out, err = runPackage(p, wrun.NewRunConfig().WithArgs("-w", lib+"/a.txt", "changed\n", "-w", lib+"/new.txt", "new\n", lib+"/a.txt", lib+"/new.txt"))
	if err != nil || out != "hi\nchanged\nnew\n" {
		t.Fatalf("writes over the union: %v %q", err, out)
	}
	out, _ = runPackage(p, wrun.NewRunConfig().WithArgs(lib+"/a.txt", lib+"/new.txt"))
	if !strings.HasPrefix(out, "hi\na\n") || strings.Contains(out, "new\n") {
		t.Fatalf("the overlay leaked into the next run: %q", out)
	}
}

// Two packages providing the same file at one guest directory fail the
// load, before anything runs, naming both packages and the file. A
// package providing a file the enclosing mount (the app's own directory)
// has there conflicts the same way.
func TestUnionConflict(t *testing.T) {
	t.Setenv("WRUN_HOME", t.TempDir())
	client, err := registryclient.New(registryclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const lib = "/static/lib"
	publish(t, client, libPkg(t, "test:one", "1.0.0", map[string]string{"pkg/__init__.py": "one\n", "one.txt": "1\n"}, nil))
	publish(t, client, libPkg(t, "test:two", "2.1.0", map[string]string{"pkg/__init__.py": "two\n", "two.txt": "2\n"}, nil))
	m := catManifest + "[dependencies]\n" +
		"\"test:one\" = { version = \"^1\", to = \"" + lib + "\" }\n" +
		"\"test:two\" = { version = \"^2\", to = \"" + lib + "\" }\n"
	app := writePackage(t, m, map[string]string{"static/hello.txt": "hi\n"})
	checkConflict(t, app, "test:one@1.0.0", "test:two@2.1.0", lib+"/pkg/__init__.py")

	m = catManifest + "[dependencies]\n\"test:one\" = { version = \"^1\", to = \"" + lib + "\" }\n"
	app = writePackage(t, m, map[string]string{"static/hello.txt": "hi\n", "static/lib/one.txt": "mine\n"})
	checkConflict(t, app, "test:cat@1.0.0", "test:one@1.0.0", lib+"/one.txt")
}

func checkConflict(t *testing.T, app string, pkgs ...string) {
	t.Helper()
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	p, err := rt.Load(ctx, app)
	if err == nil {
		p.Close(ctx)
		t.Fatal("two packages providing one file loaded")
	}
	var conflict *wrun.FileConflictError
	if !errors.As(err, &conflict) {
		t.Errorf("error is not a *wrun.FileConflictError: %v", err)
	}
	for _, s := range pkgs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
}

// A manifest whose env values name a long value many times (each ${NAME}
// copies it) fails the Load with ErrTooLarge rather than taking gigabytes;
// the same env with the value named once loads.
func TestEnvExpansionBounded(t *testing.T) {
	t.Setenv("WRUN_HOME", t.TempDir())
	long := strings.Repeat("x", 64<<10)
	manifest := func(times int) string {
		return strings.Replace(catManifest, "[[assets]]",
			fmt.Sprintf("env = { LONG = %q }\n[test]\nenv = { MANY = %q }\n[[assets]]", long, strings.Repeat("${LONG}", times)), 1)
	}
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	p, err := rt.Load(ctx, writePackage(t, manifest(1), map[string]string{"static/hello.txt": "hi\n"}))
	if err != nil {
		t.Fatalf("a value named once: %v", err)
	}
	p.Close(ctx)
	_, err = rt.Load(ctx, writePackage(t, manifest(64), map[string]string{"static/hello.txt": "hi\n"}))
	if !errors.Is(err, bundle.ErrTooLarge) || !strings.Contains(err.Error(), "[test] env: MANY") {
		t.Fatalf("a value naming 64 KiB 64 times: %v", err)
	}
}
