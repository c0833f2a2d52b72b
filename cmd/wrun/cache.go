package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/wrun-dev/wrun/registryclient"
)

func newCacheCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Inspect or empty the caches: packages, compiled code, pre-initialized modules",
	}
	var asJSON bool
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List cached packages and each cache's size",
		Long: `List the cached packages, then the size of each cache under the cache
directory that holds anything: blobs (downloaded package content), packages
(extracted), resolutions (remembered tags and versions), tmp, compiled
(wazero's compiled code), preinit (pre-initialized modules), and "other" for
a directory there that wrun does not know (cache prune leaves it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := registryclient.New(g.registryOptions())
			if err != nil {
				return err
			}
			info, err := client.CacheList(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if info.Packages == nil {
					info.Packages = []registryclient.CacheEntry{} // [], as `wrun ls --json` prints
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "PACKAGE\tVERSION\tSIZE\tFROM")
			for _, p := range info.Packages {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.Version, humanize.IBytes(uint64(p.Size)), p.Ref)
			}
			tw.Flush()
			fmt.Fprintf(out, "%d blobs, %s", info.Blobs, humanize.IBytes(uint64(info.BlobBytes)))
			if info.Partial > 0 {
				fmt.Fprintf(out, ", %d partial downloads", info.Partial)
			}
			fmt.Fprintln(out)
			if len(info.Caches) > 0 {
				tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "CACHE\tSIZE\tFILES")
				var total int64
				var files int
				for _, c := range info.Caches {
					fmt.Fprintf(tw, "%s\t%s\t%d\n", cacheName(c), humanize.IBytes(uint64(c.Bytes)), c.Files)
					total += c.Bytes
					files += c.Files
				}
				fmt.Fprintf(tw, "total\t%s\t%d\n", humanize.IBytes(uint64(total)), files)
				tw.Flush()
			}
			return nil
		},
	}
	ls.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Empty the caches (the local registry and wrun.lock files stay)",
		Long: `Empty the caches: downloaded and extracted packages, remembered tags and
resolutions, compiled code and pre-initialized modules. The next run pulls,
compiles and pre-initializes again. The local registry, config, keys and
wrun.lock files stay, and so does a directory under the cache directory that
wrun does not know (listed as "other" by cache ls). It waits for pulls and
publishes in progress; a run in progress keeps the code it loaded.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := registryclient.New(g.registryOptions())
			if err != nil {
				return err
			}
			n, err := client.CachePrune(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "freed %s\n", humanize.IBytes(uint64(n)))
			if info, err := client.CacheList(cmd.Context()); err == nil {
				for _, c := range info.Caches {
					if c.Name == "other" {
						fmt.Fprintf(cmd.OutOrStdout(), "kept %s: %s, not one of wrun's caches\n", cacheName(c), humanize.IBytes(uint64(c.Bytes)))
					}
				}
			}
			return nil
		},
	}
	cmd.AddCommand(ls, prune)
	return cmd
}

// cacheName names a cache for cache ls: "other" ones by their directory.
func cacheName(c registryclient.CacheDir) string {
	if c.Name == "other" {
		return fmt.Sprintf("other (%s)", quoteWord(filepath.Base(c.Dir)))
	}
	return c.Name
}
