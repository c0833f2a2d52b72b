package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tetratelabs/wazero/sys"
	"oras.land/oras-go/v2/registry/remote/credentials"

	"github.com/wrun-dev/wrun/internal/warmstart"
	"github.com/wrun-dev/wrun/registryclient"
)

// globalOptions are the streams and the flags every command takes.
type globalOptions struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	args   []string // the command line, after the program name

	registry string // --registry
	config   string // --config
	offline  bool   // --offline
	refresh  bool   // --refresh

	timeouts registryclient.Timeouts // --connect-timeout, --response-timeout, --stall-timeout
}

// registryOptions are the registryclient options the global flags select,
// with the ambient configuration the library never reads itself: the
// registry from WRUN_REGISTRY when --registry is not given, the docker
// credentials, and progress bars when stderr is a terminal.
func (g *globalOptions) registryOptions() registryclient.Options {
	reg := g.registry
	if reg == "" {
		reg = os.Getenv("WRUN_REGISTRY")
	}
	var creds credentials.Store
	if !g.offline {
		creds = registryclient.DockerCredentials()
	}
	return registryclient.Options{
		ConfigPath:  g.config,
		Registry:    reg,
		Offline:     g.offline,
		Refresh:     g.refresh,
		Progress:    newTermProgress(g.stderr),
		Credentials: creds,
		Timeouts:    g.timeouts,
	}
}

// newRootCmd builds the command tree; first is the first command-line
// argument.
func newRootCmd(g *globalOptions, first string) *cobra.Command {
	o := &runOptions{}
	root := &cobra.Command{
		Use:   "wrun [flags] REF [-- ARGS...]",
		Short: "Run WebAssembly packages under wazero",
		Long: `wrun runs WebAssembly packages under wazero with WASI preview 1.

"wrun REF" is short for "wrun run REF": REF is a package (example:hello@1.0.0,
a range like example:hello@^1.0, or example:hello for the newest), a plain OCI
reference (host/repo:tag), a package directory, a bundle file or a .wasm file.

` + strings.Replace(argumentRule, "after TARGET", "after REF", 1),
		Example: `  wrun example:hello@1.0.0 -- --name world
  wrun run ./app
  wrun publish ./app && wrun ls example`,
		Args:          cobra.ArbitraryArgs,
		Annotations:   map[string]string{programArgs: "REF"},
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return o.run(cmd.Context(), g, args[0], args[1:], false)
		},
	}
	// --version, long form only: cobra would add -v, which a program's
	// own flag written before -- must not silently become. The line is
	// made only when asked for (reading the build information is not free,
	// and this is every command's start).
	root.Version = "wrun"
	root.Flags().Bool("version", false, "print wrun's version, the wazero it runs on and the Go it was built with")
	root.SetVersionTemplate("{{versionLine}}\n")
	root.SetIn(g.stdin)
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.SetFlagErrorFunc(flagError(g.args))
	o.addFlags(root.Flags())
	pf := root.PersistentFlags()
	pf.StringVar(&g.registry, "registry", "", "use this registry for every package: a name from config.toml, host[:port], \"local\" or an OCI layout path (default $WRUN_REGISTRY, then config.toml)")
	pf.StringVar(&g.config, "config", "", "config file in the wasm-pkg-tools format (default $WRUN_HOME/config.toml)")
	pf.BoolVar(&g.offline, "offline", false, "make no network request: only cached packages resolve")
	pf.BoolVar(&g.refresh, "refresh", false, "ignore wrun.lock and cached resolutions: resolve versions again")
	pf.DurationVar(&g.timeouts.Connect, "connect-timeout", 0, "fail connecting to a registry after this long (default [network] connect_timeout in config.toml, else 10s)")
	pf.DurationVar(&g.timeouts.Response, "response-timeout", 0, "fail when a registry sends no response headers within this long (default [network] response_timeout, else 30s)")
	pf.DurationVar(&g.timeouts.Stall, "stall-timeout", 0, "fail a registry transfer that moves less than 1 KiB in this long (default [network] stall_timeout, else 30s)")
	if first == "run" {
		// The hot path. `wrun run` is measured on start-up time, and
		// building every other command and its flags is part of it.
		root.AddCommand(newRunCmd(g))
		return root
	}
	root.AddCommand(
		newRunCmd(g),
		newTestCmd(g),
		newPublishCmd(g),
		newPullCmd(g),
		newLsCmd(g),
		newCacheCmd(g),
		newPreinitCmd(g),
		newBuildCmd(g),
		newDigestCmd(g),
		newInspectCmd(g),
		newKeyCmd(g),
		newWasmCmd(g),
		newPythonCmd(g),
		newServeCmd(g),
		newServerCmd(g),
		newVersionCmd(g),
		// One line per command; each command lives in its own file.
	)
	return root
}

// execute runs the CLI and returns the process exit code: the guest's own
// exit code, or 1 with a one-line message on stderr for anything else.
func execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globalOptions{stdin: stdin, stdout: stdout, stderr: stderr, args: args}
	first := ""
	if len(args) > 0 {
		first = args[0]
	}
	root := newRootCmd(g, first)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		return int(exit.ExitCode() & 0xff)
	}
	fmt.Fprintf(stderr, "wrun: %v\n", err)
	if errors.Is(err, errInterrupted) || (ctx.Err() != nil && errors.Is(err, context.Canceled)) {
		return exitInterrupted
	}
	return 1
}

// errInterrupted means ctx was cancelled (Ctrl-C) while a command ran; the
// exit code is then exitInterrupted, as a shell reports a SIGINT.
var errInterrupted = errors.New("interrupted")

const exitInterrupted = warmstart.ExitInterrupted
