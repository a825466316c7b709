package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/config"
)

// CLIActor is the audit actor of user management done with `aggregator user`.
const CLIActor = "cli"

// UserAdmin is what `aggregator user` works with: it opens the configured
// store (migrating it when AUTO_INIT_DB allows) and returns user management
// that audits as CLIActor, and a function that closes the store.
func UserAdmin(ctx context.Context, cfg config.Config, log *slog.Logger) (*auth.Admin, func(), error) {
	if _, err := config.EnsureSecret(&cfg); err != nil {
		return nil, nil, err
	}
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	if err := PrepareSchema(ctx, cfg, st, log); err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	svc, err := auth.NewService(auth.Options{Store: st, Secret: cfg.SecretKey, Logger: log, BcryptCost: cfg.PasswordHashCost,
		Production: cfg.IsProduction(), AllowDevRoleInProduction: cfg.AllowDevRoleInProduction})
	if err != nil {
		_ = st.Close()
		return nil, nil, fmt.Errorf("auth: %w", err)
	}
	return auth.NewAdmin(svc, st, CLIActor), func() { _ = st.Close() }, nil
}
