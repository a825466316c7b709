package store_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
)

// A NUL character in a stored value or a filter (a search, a login) is refused as ErrInvalid by
// PostgreSQL, which cannot hold NUL in text; SQLite accepts it. Either way it is never an
// unclassified error (which the API turns into a 500).
func TestNULInTextIsNeverAnUnclassifiedError(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		name string
		open func(*testing.T, func() time.Time) *store.Store
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			s := d.open(t, newClock().Now)
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			for _, op := range []struct {
				name string
				run  func() error
			}{
				{"search users", func() error { _, _, err := s.ListUsers(ctx, store.UserFilter{Search: "a\x00"}); return err }},
				{"search pipelines", func() error {
					_, _, err := s.ListPipelines(ctx, store.PipelineFilter{Search: "\x00"})
					return err
				}},
				{"audit action", func() error { _, _, err := s.ListAudit(ctx, store.AuditFilter{Action: "user\x00"}); return err }},
				{"login", func() error {
					_, err := s.GetUserByLogin(ctx, "ad\x00min")
					if errors.Is(err, store.ErrNotFound) {
						return nil
					}
					return err
				}},
				{"create user", func() error {
					_, err := s.CreateUser(ctx, store.User{Username: "nul", Email: "nul@example.com", FullName: "a\x00b",
						PasswordHash: "$2a$hash", Role: "viewer", Active: true})
					return err
				}},
				{"json \\u0000", func() error {
					u, err := s.CreateUser(ctx, store.User{Username: "owner", Email: "owner@example.com",
						PasswordHash: "$2a$hash", Role: "viewer", Active: true})
					if err != nil {
						return err
					}
					_, err = s.CreateDashboardLayout(ctx, store.DashboardLayout{UserID: u.ID, Name: "d",
						Layout: json.RawMessage(`{"k":"v\u0000"}`)})
					return err
				}},
			} {
				if err := op.run(); err != nil && !errors.Is(err, store.ErrInvalid) {
					t.Errorf("%s: %v, want nil or ErrInvalid", op.name, err)
				}
			}
		})
	}
}
