package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dataaggregator/aggregator/internal/app"
)

func newSecretsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Manage the encryption of saved connectors' secrets",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Re-encrypt every saved connector's secrets under ENCRYPTION_KEY",
		Long: `Re-encrypt every saved connector's secrets under the current ENCRYPTION_KEY.
Values sealed under an older key are read with ENCRYPTION_KEY_PREVIOUS (comma-separated);
secrets an earlier version stored in plain text are sealed too. Servers keep running:
give every server the new ENCRYPTION_KEY and the old one in ENCRYPTION_KEY_PREVIOUS,
restart them one by one, run this command, then drop ENCRYPTION_KEY_PREVIOUS.
See docs/security.md.`,
		Example: `  ENCRYPTION_KEY=$NEW ENCRYPTION_KEY_PREVIOUS=$OLD aggregator secrets rotate`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			comp, err := app.NewComponents(cfg, cliLogger(cfg, cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			rep, err := app.RotateSecrets(cmd.Context(), cfg, comp)
			if err != nil {
				return fmt.Errorf("secrets rotate: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key %s: connectors: %d resealed, %d sealed from plain text, %d already current, %d without secrets; alert channels: %d resealed; secret manager credentials: %s; %d failed\n",
				rep.KeyID, rep.Resealed, rep.Sealed, rep.Current, rep.NoSecrets, rep.AlertChannels, map[bool]string{true: "resealed", false: "unchanged"}[rep.SecretManagers], len(rep.Failed))
			for _, f := range rep.Failed {
				fmt.Fprintf(cmd.ErrOrStderr(), "  %v\n", f)
			}
			if len(rep.Failed) > 0 {
				return errors.New("secrets rotate: some secrets were not resealed (see above); fix and run again")
			}
			return nil
		},
	}
	cmd.AddCommand(rotate)
	return cmd
}
