package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionLine says which wrun this is: its module version (and VCS
// revision when the build recorded one), the wazero it links, and the Go
// toolchain and platform, as `wasmtime --version` and `wazero version` do.
func versionLine() string {
	version, wazero, rev := "(devel)", "(unknown)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/tetratelabs/wazero" {
				wazero = d.Version
				if d.Replace != nil {
					wazero += " => " + d.Replace.Path + " " + d.Replace.Version
				}
			}
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " (" + s.Value[:12] + ")"
			}
		}
	}
	return fmt.Sprintf("wrun %s%s, wazero %s, %s %s/%s", version, rev, wazero, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// The version template's function: cobra's template functions are one
// global map, set once here rather than by every command tree.
func init() { cobra.AddTemplateFunc("versionLine", versionLine) }

func newVersionCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print wrun's version, the wazero it runs on and the Go it was built with",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(g.stdout, versionLine())
			return err
		},
	}
}
