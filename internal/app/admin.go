package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/config"
	"github.com/dataaggregator/aggregator/internal/store"
)

// CreateUser is `aggregator user create`: it opens the configured store
// (migrating it when AUTO_INIT_DB allows), creates the user through the auth
// service (role and password policy checked, bcrypt) and closes the store.
func CreateUser(ctx context.Context, cfg config.Config, log *slog.Logger, nu auth.NewUser) (store.User, error) {
	if _, err := config.EnsureSecret(&cfg); err != nil {
		return store.User{}, err
	}
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return store.User{}, err
	}
	defer st.Close()
	if err := PrepareSchema(ctx, cfg, st, log); err != nil {
		return store.User{}, err
	}
	svc, err := auth.NewService(auth.Options{Store: st, Secret: cfg.SecretKey, Logger: log,
		Production: cfg.IsProduction(), AllowDevRoleInProduction: cfg.AllowDevRoleInProduction})
	if err != nil {
		return store.User{}, fmt.Errorf("auth: %w", err)
	}
	return svc.CreateUser(ctx, nu)
}
