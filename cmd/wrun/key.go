package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/atomicfile"
	"github.com/wrun-dev/wrun/internal/home"
)

func newKeyCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Create signing keys and choose which keys to trust",
	}
	cmd.AddCommand(newKeyGenerateCmd(g), newKeyTrustCmd(g))
	return cmd
}

// keyGenerateOptions are the flags of `wrun key generate`.
type keyGenerateOptions struct {
	output string
}

func newKeyGenerateCmd(g *globalOptions) *cobra.Command {
	o := &keyGenerateOptions{}
	cmd := &cobra.Command{
		Use:   "generate -o KEY",
		Short: "Generate an Ed25519 key pair: KEY (private, PKCS #8 PEM) and KEY.pub",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.output == "" {
				return errors.New("--output (-o) is required: the private key file to write (KEY.pub is written beside it)")
			}
			for _, p := range []string{o.output, o.output + ".pub"} {
				if _, err := os.Lstat(p); err == nil {
					return fmt.Errorf("%s exists; remove it or choose another -o (keys are never overwritten)", p)
				}
			}
			priv, pub, err := bundle.GenerateKey()
			if err != nil {
				return err
			}
			write := func(b []byte) func(io.Writer) error {
				return func(w io.Writer) error { _, err := w.Write(b); return err }
			}
			if err := atomicfile.Write(o.output+".pub", 0o644, write(pub)); err != nil {
				return err
			}
			if err := atomicfile.Write(o.output, 0o600, write(priv)); err != nil {
				os.Remove(o.output + ".pub")
				return err
			}
			k, _ := bundle.ParsePublicKey(pub)
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s.pub\t%s\n", o.output, o.output, bundle.KeyID(k))
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "private key file to write (required)")
	return cmd
}

func newKeyTrustCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "trust NAMESPACE KEY.pub",
		Short: "Trust a public key for a namespace: its packages must then be signed by a trusted key",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[1])
			if err != nil {
				return err
			}
			dirs, err := home.Locate()
			if err != nil {
				return err
			}
			p, err := bundle.TrustStore{Dir: dirs.Keys()}.Trust(args[0], b)
			if err != nil {
				return fmt.Errorf("%s: %w", args[1], err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), p)
			return nil
		},
	}
}
