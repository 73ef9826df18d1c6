package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/otelcol-audit/otelcol-audit/internal/digest"
)

func keygenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keygen --out DIR",
		Short: "Write an Ed25519 key pair for signing audit log digests",
		Long: `Write an Ed25519 key pair into DIR: ` + digest.PrivateKeyFile + ` (PKCS #8 PEM, mode 0600), which
signs digests, and ` + digest.PublicKeyFile + ` (PKIX PEM), which verifiers use. An existing key is never
replaced. Keep the private key off the store's hosts: whoever holds it can sign digests.`,
		Args: cobra.NoArgs,
	}
	out := cmd.Flags().String("out", "", "directory to write the key pair into (created 0700 when missing)")
	_ = cmd.MarkFlagDirname("out")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *out == "" {
			return errors.New("keygen: name the directory with --out DIR")
		}
		id, err := digest.Keygen(*out)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s (key id %s)\n",
			filepath.Join(*out, digest.PrivateKeyFile), filepath.Join(*out, digest.PublicKeyFile), id)
		return nil
	}
	return cmd
}
