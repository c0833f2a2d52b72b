package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/kv"
	"github.com/wrun-dev/wrun/vfs"
)

// runOptions are the flags of `wrun run`.
type runOptions struct {
	mounts     []string
	env        []string
	envInherit bool
	timeout    time.Duration
	maxMemory  string
	noCache    bool
	assets     []string
	tmp        string
	maxOpen    int
	overlay    string
	workdir    string
}

func newRunCmd(g *globalOptions) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run TARGET [-- ARGS...]",
		Short: "Run a package or a WebAssembly program",
		Long: `Run a package or a WebAssembly program under wazero with WASI preview 1.

TARGET is a .wasm file, a package directory (with wrun.toml), a bundle file,
a package reference (example:hello@1.0.0) or an OCI reference. The program's
arguments come after the package's own [run] args. The host environment is
not passed on unless --env-inherit is given. wrun exits with the program's
exit code.

` + argumentRule,
		Example: `  wrun run hello.wasm -- --name world
  wrun run app.wasm --mount ./data:/data --env LANG=C -- -v input.txt
  wrun run ./app input.txt`,
		Args:        cobra.MinimumNArgs(1),
		Annotations: map[string]string{programArgs: "TARGET"},
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), g, args[0], args[1:], false)
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

// argumentRule is the one rule by which `wrun REF`, `wrun run` and `wrun
// test` split their command line, as --help shows it.
const argumentRule = `Arguments: wrun's own flags may appear anywhere before the first "--";
everything after the first "--" goes to the program verbatim (a later "--"
included). Words after TARGET that do not start with "-" are program
arguments too; a word before "--" that starts with "-" and is not a wrun
flag is an error: write the program's flags after "--", e.g.
  wrun run ./pkg --mount ./data:/data -- -e 'p ARGV' a -- b`

// programArgs is the annotation of the commands that pass arguments to a
// program (`wrun REF`, `wrun run`, `wrun test`); its value names their
// first positional word (TARGET, or DIR when it is optional).
const programArgs = "wrun-program-args"

// flagError turns pflag's "unknown flag" on a command that runs a program
// into a message saying how to write the command line: the program's
// arguments after "--". argv is wrun's whole command line.
func flagError(argv []string) func(*cobra.Command, error) error {
	return func(cmd *cobra.Command, err error) error {
		first, ok := cmd.Annotations[programArgs]
		if !ok {
			return err
		}
		at, bad := splitProgramArgs(cmd, argv, first == "[DIR]")
		if bad == "" {
			return err
		}
		name := bad
		if n, _, ok := strings.Cut(bad, "="); ok && strings.HasPrefix(bad, "--") {
			name = n
		}
		if at < 0 {
			return fmt.Errorf("unknown flag %s for %s: wrun's flags are listed by %s --help; program arguments go after %s and --", quoteWord(name), cmd.CommandPath(), cmd.CommandPath(), first)
		}
		fixed := append(append(append([]string{"wrun"}, argv[:at]...), "--"), argv[at:]...)
		words := make([]string, len(fixed))
		for i, w := range fixed {
			words[i] = quoteWord(w)
		}
		return fmt.Errorf("unknown flag %s for %s: program arguments go after --, e.g. %s", quoteWord(name), cmd.CommandPath(), strings.Join(words, " "))
	}
}

// splitProgramArgs walks argv (wrun's command line, for cmd) as the
// argument rule reads it and returns the first word that starts with "-"
// and is not one of cmd's flags, and where "--" belongs to make the
// command line what its author meant: before the first word after TARGET
// that is not wrun's (a program argument or the unknown flag). at is -1
// when the unknown flag comes before TARGET; bad is "" when there is none
// before the first "--".
func splitProgramArgs(cmd *cobra.Command, argv []string, targetOptional bool) (at int, bad string) {
	flags := cmd.Flags()
	sawCmd := !cmd.HasParent() // the subcommand's own name, e.g. "run", comes first
	sawTarget := false
	at = -1
	for i := 0; i < len(argv); i++ {
		w := argv[i]
		if w == "--" {
			return -1, ""
		}
		if !strings.HasPrefix(w, "-") || w == "-" {
			switch {
			case !sawCmd:
				sawCmd = true
			case !sawTarget:
				sawTarget = true
			case at < 0:
				at = i // the first program argument
			}
			continue
		}
		var f *pflag.Flag
		hasValue := strings.Contains(w, "=")
		if name, ok := strings.CutPrefix(w, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			f = flags.Lookup(name)
		} else if len(w) == 2 {
			f = flags.ShorthandLookup(w[1:])
		} else {
			hasValue = true // -xVALUE: none of wrun's short flags takes one this way
			f = flags.ShorthandLookup(w[1:2])
		}
		if f == nil {
			if at < 0 && (sawTarget || (targetOptional && sawCmd)) {
				at = i
			}
			return at, w
		}
		if !hasValue && f.NoOptDefVal == "" {
			i++ // the flag's value
		}
	}
	return -1, ""
}

// quoteWord quotes w for a POSIX shell when it needs it; a word with a
// control character is quoted as Go does, so none reaches the terminal.
func quoteWord(w string) string {
	if strings.IndexFunc(w, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(w)
	}
	if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-^") == "" {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

func (o *runOptions) addFlags(f *pflag.FlagSet) {
	f.StringArrayVar(&o.mounts, "mount", nil, "mount a host directory or a single file: HOST:GUEST[:ro] (read-write unless :ro; repeatable)")
	f.StringArrayVar(&o.assets, "asset", nil, "mount a host directory read-only with a private writable overlay: DIR:GUEST (the host dir never changes; repeatable)")
	f.StringArrayVar(&o.env, "env", nil, "set a guest environment variable: K=V (repeatable)")
	f.BoolVar(&o.envInherit, "env-inherit", false, "pass the host environment to the guest (--env wins)")
	f.DurationVar(&o.timeout, "timeout", 0, "stop the program after this long, e.g. 5s (0: no limit)")
	f.StringVar(&o.maxMemory, "max-memory", "", "cap the program's linear memory, e.g. 256MiB (default: the module's own maximum)")
	f.StringVar(&o.tmp, "tmp", "", "host memory the in-memory /tmp may hold (file bytes + 256 B per file + 64 B and the name per entry), e.g. 16MiB, 0 for none (default: 64MiB for a package, none for a .wasm)")
	f.StringVar(&o.overlay, "overlay-size", "64MiB", "host memory the guest's writes over read-only assets (--asset, a package's assets) may hold together, counted as for --tmp; 0 for no cap")
	f.IntVar(&o.maxOpen, "max-open-files", wrun.DefaultMaxOpenFiles, "files the program may have open at once, like ulimit -n; past it an open fails with EMFILE (preopened directories count); 0 for no cap")
	f.BoolVar(&o.noCache, "no-cache", false, "compile in memory only: neither read nor write the compilation cache")
	f.StringVar(&o.workdir, "workdir", "", "the program's working directory, a guest path like /data (default: the package's [run] cwd)")
}

// run runs target with args; test runs the package's tests instead.
func (o *runOptions) run(ctx context.Context, g *globalOptions, target string, args []string, test bool) error {
	rc, err := o.runConfig(g)
	if err != nil {
		return err
	}
	rc = rc.WithArgs(args...)

	cfg := wrun.NewConfig().WithRegistry(g.registryOptions()).WithPreinitLimits(o.preinitLimits())
	if o.noCache {
		cfg = cfg.WithInMemoryCache()
	}
	// Only a deadline needs the guest to check its context as it computes:
	// that check costs guest CPU, so the command line runs without it
	// unless --timeout is given (the embedding API's default is on). The
	// Config's setting picks the variant compiled up front, the run's
	// matches it so nothing compiles twice.
	cancellable := o.timeout > 0
	cfg = cfg.WithCloseOnContextDone(cancellable)
	rc = rc.WithCancellation(cancellable)
	rt, closeRT, err := openRuntime(ctx, g, o, cfg) // in a warm server, a kept one
	if err != nil {
		return err
	}
	// abandoned is set when an uncancellable guest is left running after
	// ctx is done: its runtime and package stay open under it (closing
	// them would free code it is executing), and the process is about to
	// exit anyway.
	abandoned := false
	defer func() {
		if !abandoned {
			closeRT()
		}
	}()

	var run func(context.Context, wrun.RunConfig) error
	compiled := traceCompileProbe(ctx)
	endGC := relaxGCForLoad()
	defer endGC()
	if !test && isProgramFile(target) {
		prog, closeProg, err := compileProgram(ctx, rt, target)
		if err != nil {
			return err
		}
		defer func() {
			if !abandoned {
				closeProg()
			}
		}()
		traceMark(ctx, "read + compile", compiled())
		endGC()
		run = prog.Run
	} else {
		pkg, err := rt.Load(ctx, target)
		if err != nil {
			return err
		}
		traceMark(ctx, "load: resolve, verify, compile", compiled())
		endGC()
		defer func() {
			if !abandoned {
				pkg.Close(context.WithoutCancel(ctx))
			}
		}()
		run = pkg.Run
		if test {
			run = pkg.Test
		}
	}
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	if cancellable {
		err = run(ctx, rc)
	} else {
		// Without the check the guest cannot be stopped, so Ctrl-C (which
		// cancels ctx) returns without waiting for it; main then exits.
		done := make(chan error, 1)
		go func() { done <- run(ctx, rc) }()
		select {
		case err = <-done:
		case <-ctx.Done():
			abandoned = true
			return fmt.Errorf("%s %w", target, errInterrupted)
		}
	}
	traceMark(ctx, "instantiate + run")
	switch {
	case errors.Is(err, context.DeadlineExceeded) && o.timeout > 0:
		return fmt.Errorf("%s timed out after %s", target, o.timeout)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s %w", target, errInterrupted)
	}
	return err
}

// runConfig turns the flags into a RunConfig, validating each one.
func (o *runOptions) runConfig(g *globalOptions) (wrun.RunConfig, error) {
	rc := wrun.NewRunConfig().WithStdin(g.stdin).WithStdout(g.stdout).WithStderr(g.stderr)
	if o.timeout < 0 {
		return rc, fmt.Errorf("--timeout %s: must not be negative", o.timeout)
	}
	if o.envInherit {
		for _, e := range os.Environ() {
			if k, v, err := kv.Parse(e); err == nil { // skips Windows' "=C:=C:\"
				rc = rc.WithEnv(k, v)
			}
		}
	}
	for _, e := range o.env {
		k, v, err := kv.Parse(e)
		if err != nil {
			return rc, fmt.Errorf("--env %q: %w", e, err)
		}
		rc = rc.WithEnv(k, v)
	}
	switch n, err := parseMaxMemory(o.maxMemory); {
	case err != nil:
		return rc, err
	case n > 0:
		rc = rc.WithMemoryLimitPages(uint32(n / (64 << 10)))
	}
	switch {
	case o.maxOpen < 0:
		return rc, fmt.Errorf("--max-open-files %d: want a count of at least 1, or 0 for no cap", o.maxOpen)
	case o.maxOpen == 0:
		rc = rc.WithMaxOpenFiles(-1)
	default:
		rc = rc.WithMaxOpenFiles(o.maxOpen)
	}
	switch n, err := humanize.ParseBytes(o.overlay); {
	case err != nil:
		return rc, fmt.Errorf("--overlay-size %q: want a size like 64MiB, or 0 for no cap", o.overlay)
	case n == 0:
		rc = rc.WithOverlaySize(-1)
	default:
		rc = rc.WithOverlaySize(int64(min(n, 1<<62)))
	}
	guests := map[string]string{} // guest path → the flag that mounts it
	mount := func(flag, spec string, m vfs.Mount) error {
		if prev, ok := guests[m.Guest]; ok {
			return fmt.Errorf("%s %q: %s is mounted already by %s: give each guest path one --mount or --asset", flag, spec, m.Guest, prev)
		}
		guests[m.Guest] = fmt.Sprintf("%s %q", flag, spec)
		rc = rc.WithMount(m)
		return nil
	}
	for _, spec := range o.mounts {
		m, err := parseMount(spec)
		if err != nil {
			return rc, err
		}
		if err := mount("--mount", spec, m); err != nil {
			return rc, err
		}
	}
	for _, spec := range o.assets {
		m, err := parseAsset(spec)
		if err != nil {
			return rc, err
		}
		if err := mount("--asset", spec, m); err != nil {
			return rc, err
		}
	}
	if o.workdir != "" {
		if !strings.HasPrefix(o.workdir, "/") {
			return rc, fmt.Errorf("--workdir %q: want a guest path like /data", o.workdir)
		}
		rc = rc.WithWorkdir(path.Clean(o.workdir))
	}
	switch n, err := humanize.ParseBytes(o.tmp); {
	case o.tmp == "":
	case err != nil:
		return rc, fmt.Errorf("--tmp %q: want a size like 64MiB, or 0 for no /tmp", o.tmp)
	case n == 0:
		rc = rc.WithScratch(-1)
	default:
		rc = rc.WithScratch(int64(min(n, 1<<62))) // past int64, a size would turn negative: no /tmp
	}
	return rc, nil
}

// parseAsset parses DIR:GUEST: the host directory DIR, read-only, under a
// private copy-on-write overlay.
func parseAsset(spec string) (vfs.Mount, error) {
	dir, guest, ok := strings.Cut(spec, ":")
	if !ok || dir == "" || !strings.HasPrefix(guest, "/") {
		return vfs.Mount{}, fmt.Errorf("--asset %q: want DIR:GUEST, with GUEST an absolute path like /static", spec)
	}
	guest = path.Clean(guest)
	fs, err := vfs.Asset(dir)
	if err != nil {
		return vfs.Mount{}, fmt.Errorf("--asset %q: %w", spec, err)
	}
	return vfs.Mount{Guest: guest, FS: fs}, nil
}

// parseMount parses HOST:GUEST[:ro|:rw]; HOST is a directory, or a
// regular file mounted alone at GUEST.
func parseMount(spec string) (vfs.Mount, error) {
	parts := strings.Split(spec, ":")
	readOnly := false
	if n := len(parts); n == 3 && (parts[2] == "ro" || parts[2] == "rw") {
		readOnly = parts[2] == "ro"
		parts = parts[:2]
	}
	if len(parts) != 2 || parts[0] == "" || !strings.HasPrefix(parts[1], "/") {
		return vfs.Mount{}, fmt.Errorf("--mount %q: want HOST:GUEST[:ro], with GUEST an absolute path like /data", spec)
	}
	guest := path.Clean(parts[1])
	open := vfs.Host
	if fi, err := os.Stat(parts[0]); err == nil && fi.Mode().IsRegular() {
		if guest == "/" {
			return vfs.Mount{}, fmt.Errorf("--mount %q: %s is a file, and / must be a directory: give the file a guest path like /data/%s", spec, parts[0], quoteWord(filepath.Base(parts[0])))
		}
		open = vfs.HostFile
	}
	fs, err := open(parts[0], readOnly)
	if err != nil {
		return vfs.Mount{}, fmt.Errorf("--mount %q: %w", spec, err)
	}
	return vfs.Mount{Guest: guest, FS: fs}, nil
}

// isProgramFile reports whether target is a file to run as a plain program:
// a .wasm, or any regular file that is not a bundle (a tar archive, with
// "ustar" at offset 257), so that a wrong file gets the compiler's message
// ("not a WebAssembly binary") rather than a bundle reader's.
func isProgramFile(target string) bool {
	if strings.HasSuffix(target, ".wasm") {
		return true
	}
	if strings.HasSuffix(target, ".wrun") {
		return false // a bundle, whatever it holds: the bundle reader says what is wrong
	}
	f, err := os.Open(target)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	var b [262]byte
	n, _ := io.ReadFull(f, b[:])
	return n < len(b) || string(b[257:262]) != "ustar"
}
