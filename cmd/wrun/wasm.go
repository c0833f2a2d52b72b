package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/atomicfile"
)

func newWasmCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wasm",
		Short: "Work with a WebAssembly binary's sections: metadata, explode, assemble, digest",
	}
	cmd.AddCommand(newWasmMetadataCmd(g), newWasmExplodeCmd(g), newWasmAssembleCmd(g), newWasmDigestCmd(g))
	return cmd
}

func newWasmMetadataCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "metadata",
		Short: "Show or add the metadata custom sections wasm-tools metadata reads and writes",
	}
	cmd.AddCommand(newWasmMetadataShowCmd(g), newWasmMetadataAddCmd(g))
	return cmd
}

func newWasmMetadataShowCmd(g *globalOptions) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show IN [--json]",
		Short: "Show a wasm's name, producers and metadata sections",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			md, err := bundle.ReadMetadata(b)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(md)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			kind := "module"
			if md.Component {
				kind = "component"
			}
			fmt.Fprintf(tw, "kind\t%s\n", kind)
			printMetadata(tw, md, "")
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// wasmMetadataAddOptions are the flags of `wrun wasm metadata add`.
type wasmMetadataAddOptions struct {
	output                     string
	edit                       bundle.MetadataEdit
	language, processedBy, sdk []string
}

func newWasmMetadataAddCmd(g *globalOptions) *cobra.Command {
	o := &wasmMetadataAddOptions{}
	cmd := &cobra.Command{
		Use:   "add IN -o OUT [--name N] [--version V] [--language N=V] ...",
		Short: "Write a copy of a wasm with metadata sections set (as wasm-tools metadata add does)",
		Long: `Write a copy of IN with metadata custom sections set: the module (or component)
name in the name (component-name) section, the producers section per the
WebAssembly tool conventions, and the raw UTF-8 sections authors, description,
licenses, source, homepage, revision and version. Existing sections are
replaced in place, new ones appended; every other byte is kept. wasm-tools
metadata show reads the result, and this command reads what wasm-tools writes.`,
		Example: `  wrun wasm metadata add app.wasm -o app.wasm --name example:app --version 1.0.0 --language Go=1.26`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "file to write (required; may be IN)")
	f.StringVar(&o.edit.Name, "name", "", "module or component name")
	f.StringVar(&o.edit.Description, "description", "", "description section")
	f.StringVar(&o.edit.Authors, "authors", "", "authors section")
	f.StringVar(&o.edit.Licenses, "licenses", "", "licenses section (an SPDX expression)")
	f.StringVar(&o.edit.Source, "source", "", "source section (a URL)")
	f.StringVar(&o.edit.Homepage, "homepage", "", "homepage section (a URL)")
	f.StringVar(&o.edit.Revision, "revision", "", "revision section (e.g. a commit)")
	f.StringVar(&o.edit.Version, "version", "", "version section")
	f.StringArrayVar(&o.language, "language", nil, "producers language NAME[=VERSION] (repeatable)")
	f.StringArrayVar(&o.processedBy, "processed-by", nil, "producers processed-by NAME[=VERSION] (repeatable)")
	f.StringArrayVar(&o.sdk, "sdk", nil, "producers sdk NAME[=VERSION] (repeatable)")
	return cmd
}

func parseProducers(flag string, vals []string) ([]bundle.ProducerValue, error) {
	var out []bundle.ProducerValue
	for _, v := range vals {
		n, ver, _ := strings.Cut(v, "=")
		if n == "" {
			return nil, fmt.Errorf("--%s %q: want NAME or NAME=VERSION", flag, v)
		}
		out = append(out, bundle.ProducerValue{Name: n, Version: ver})
	}
	return out, nil
}

func (o *wasmMetadataAddOptions) run(cmd *cobra.Command, in string) error {
	if o.output == "" {
		return errors.New("--output (-o) is required: the file to write")
	}
	var err error
	if o.edit.Language, err = parseProducers("language", o.language); err != nil {
		return err
	}
	if o.edit.ProcessedBy, err = parseProducers("processed-by", o.processedBy); err != nil {
		return err
	}
	if o.edit.SDK, err = parseProducers("sdk", o.sdk); err != nil {
		return err
	}
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	out, err := bundle.AddMetadata(b, o.edit)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return writeFile(o.output, out)
}

func writeFile(name string, b []byte) error {
	return atomicfile.WriteBytes(name, 0o644, b)
}

func newWasmExplodeCmd(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "explode IN -o DIR",
		Short: "Split a wasm into one file per section and data segment, with a layout file",
		Long: `Split IN into DIR (which must not exist or be empty): one file per section,
each data segment its own file, custom sections by name, a component's nested
core modules and components exploded in their own directories, and
layout.json keeping the order and everything else. wrun wasm assemble gives
back the identical bytes, and wrun digest DIR equals wrun digest IN.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				return errors.New("--output (-o) is required: the directory to write")
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			files, err := bundle.Explode(b)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if err := bundle.WriteExploded(output, files); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d files\n", output, len(files))
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "directory to write (required)")
	return cmd
}

func newWasmAssembleCmd(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "assemble DIR -o OUT",
		Short: "Assemble an exploded wasm back into the binary",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				return errors.New("--output (-o) is required: the file to write")
			}
			root, err := os.OpenRoot(args[0])
			if err != nil {
				return err
			}
			defer root.Close()
			b, err := bundle.Assemble(root.FS()) // links refused; nothing outside read
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			return writeFile(output, b)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write (required)")
	return cmd
}

func newWasmDigestCmd(g *globalOptions) *cobra.Command {
	var canonical bool
	cmd := &cobra.Command{
		Use:   "digest [--canonical] IN",
		Short: "Print a wasm's content digest, or with --canonical its canonical section digest",
		Long: `Print the content digest of IN (that of its exploded files), or with
--canonical a SHA-256 over its sections in canonical order (standard sections
in specification order, custom sections sorted by name, minimal size
encodings), which does not change when custom sections move.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			digest := bundle.WasmDigest
			if canonical {
				digest = bundle.CanonicalWasmDigest
			}
			d, err := digest(b)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), d)
			return nil
		},
	}
	cmd.Flags().BoolVar(&canonical, "canonical", false, "digest the sections in canonical order")
	return cmd
}
