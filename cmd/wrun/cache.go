package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/wrun-dev/wrun/registryclient"
)

func newCacheCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Inspect or empty the package cache",
	}
	var asJSON bool
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List cached packages and the blob store's size",
		Args:  cobra.NoArgs,
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
			return nil
		},
	}
	ls.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Empty the cache (the local registry and wrun.lock files stay)",
		Args:  cobra.NoArgs,
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
			return nil
		},
	}
	cmd.AddCommand(ls, prune)
	return cmd
}
