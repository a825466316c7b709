package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dataaggregator/aggregator/internal/alerts"
	"github.com/dataaggregator/aggregator/internal/config"
	"github.com/dataaggregator/aggregator/internal/connections"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/secretref"
	"github.com/dataaggregator/aggregator/internal/secrets"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Keyring builds the keyring that seals saved connectors' secrets from
// ENCRYPTION_KEY (generated into DATA_DIR/encryption_key outside production
// when unset) and ENCRYPTION_KEY_PREVIOUS. cfg.EncryptionKey is filled in.
func Keyring(ctx context.Context, cfg *config.Config, log *slog.Logger) (*secrets.Keyring, error) {
	created, err := config.EnsureEncryptionKey(cfg)
	if err != nil {
		return nil, err
	}
	if created {
		log.InfoContext(ctx, "generated ENCRYPTION_KEY for development; back this file up with the database", "file", cfg.EncryptionKeyFile())
	}
	keys, err := secrets.NewKeyring(cfg.EncryptionKey)
	if err != nil {
		return nil, fmt.Errorf("ENCRYPTION_KEY: %w", err)
	}
	if len(cfg.EncryptionKeyPrevious) > 0 {
		if keys, err = secrets.NewKeyring(cfg.EncryptionKey, cfg.EncryptionKeyPrevious...); err != nil {
			return nil, fmt.Errorf("ENCRYPTION_KEY_PREVIOUS: %w", err)
		}
	}
	return keys, nil
}

// newConnections builds the saved-connector service and checks at once that
// its keyring opens the stored secrets: a wrong ENCRYPTION_KEY stops the
// start with a message that names it.
func newConnections(ctx context.Context, st *store.Store, conns *connector.Registry, keys *secrets.Keyring, env connector.Env, log *slog.Logger) (*connections.Service, *secretref.Service, error) {
	// Vault is called through the same guarded client as connectors: a Vault on a private
	// network is reached when ALLOWED_OUTBOUND_HOSTS lists it.
	refs, err := secretref.NewService(secretref.ServiceOptions{Store: st, Keys: keys, HTTPClient: env.HTTPClient, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	svc, err := connections.New(connections.Options{Store: st, Connectors: conns, Keys: keys, Env: env, Refs: refs, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	if err := svc.Verify(ctx); err != nil {
		var km *connections.KeyMismatchError
		if errors.As(err, &km) {
			return nil, nil, fmt.Errorf("ENCRYPTION_KEY: does not match the stored secrets: %w; start with the key they were sealed with (in development it is kept in DATA_DIR/encryption_key), or list it in ENCRYPTION_KEY_PREVIOUS and run `aggregator secrets rotate`", err)
		}
		return nil, nil, err
	}
	rep, err := svc.SealPlaintext(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("seal saved connectors' secrets: %w", err)
	}
	if rep.Sealed > 0 {
		log.InfoContext(ctx, "sealed saved connectors' secrets stored in plain text by an earlier version", "connectors", rep.Sealed)
	}
	for _, f := range rep.Failed {
		log.WarnContext(ctx, "saved connector left unsealed", "error", f)
	}
	return svc, refs, nil
}

// RotateReport is what `aggregator secrets rotate` did: the saved connectors, and the other
// sealed secrets (the secret managers' credentials, the alert channels').
type RotateReport struct {
	connections.RotateReport
	// SecretManagers says whether the secret managers' credentials were resealed.
	SecretManagers bool
	// AlertChannels counts the alert channels resealed; their failures are in Failed.
	AlertChannels int
}

// RotateSecrets is `aggregator secrets rotate`: it reseals every saved
// connector's secrets, the secret managers' credentials and the alert channels'
// secrets under ENCRYPTION_KEY (reading the old values with
// ENCRYPTION_KEY_PREVIOUS) and seals secrets that earlier versions stored in
// plain text.
func RotateSecrets(ctx context.Context, cfg config.Config, comp *Components) (RotateReport, error) {
	log := comp.Logger
	if cfg.EncryptionKey == "" && cfg.IsProduction() {
		return RotateReport{}, errors.New("ENCRYPTION_KEY: is required in production")
	}
	keys, err := Keyring(ctx, &cfg, log)
	if err != nil {
		return RotateReport{}, err
	}
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return RotateReport{}, err
	}
	defer st.Close()
	if err := PrepareSchema(ctx, cfg, st, log); err != nil {
		return RotateReport{}, err
	}
	svc, err := connections.New(connections.Options{Store: st, Connectors: comp.Connectors, Keys: keys, Logger: log})
	if err != nil {
		return RotateReport{}, err
	}
	var rep RotateReport
	if rep.RotateReport, err = svc.Rotate(ctx); err != nil {
		return rep, err
	}
	refs, err := secretref.NewService(secretref.ServiceOptions{Store: st, Keys: keys, Logger: log})
	if err != nil {
		return rep, err
	}
	if rep.SecretManagers, err = refs.Reseal(ctx, "secrets rotate"); err != nil {
		rep.Failed = append(rep.Failed, err)
	}
	n, failed, err := alerts.ResealChannels(ctx, st, keys)
	rep.AlertChannels = n
	rep.Failed = append(rep.Failed, failed...)
	return rep, err
}
