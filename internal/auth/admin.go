package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
)

// ErrLastAdmin refuses to deactivate the only active admin: nobody could
// manage users afterwards.
var ErrLastAdmin = errors.New("is the last active admin; make another user admin first (or activate one)")

// UnknownUserError: no user has the name an operator gave.
type UnknownUserError struct{ Name string }

func (e *UnknownUserError) Error() string { return fmt.Sprintf("no user named %q", e.Name) }

// AdminStore is what Admin needs from the metadata store beyond Store.
type AdminStore interface {
	Store
	ListUsers(ctx context.Context, f store.UserFilter) ([]store.User, int, error)
	UpdateUser(ctx context.Context, id string, upd store.UserUpdate) (store.User, error)
	AppendAudit(ctx context.Context, a store.AuditEntry) (store.AuditEntry, error)
}

var _ AdminStore = (*store.Store)(nil)

// Admin is user management by an operator outside the API (the CLI's
// `aggregator user` commands). Users are named by username (or email); every
// operation on a user, done or refused, is written to the audit log with the
// actor name given to NewAdmin and the target user.
type Admin struct {
	svc   *Service
	store AdminStore
	actor string
	log   *slog.Logger
}

// NewAdmin builds an Admin over svc and st (the same store svc uses).
func NewAdmin(svc *Service, st AdminStore, actor string) *Admin {
	return &Admin{svc: svc, store: st, actor: actor, log: svc.log}
}

// List returns every user ordered by username.
func (a *Admin) List(ctx context.Context) ([]store.User, error) {
	var all []store.User
	for {
		page, total, err := a.store.ListUsers(ctx, store.UserFilter{Page: store.Page{Limit: store.MaxLimit, Offset: len(all)}})
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		all = append(all, page...)
		if len(page) == 0 || len(all) >= total {
			return all, nil
		}
	}
}

// Create creates an active user (see Service.CreateUser).
func (a *Admin) Create(ctx context.Context, nu NewUser) (store.User, error) {
	u, err := a.svc.CreateUser(ctx, nu)
	a.audit(ctx, "user.create", u.ID, err, map[string]any{"username": nu.Username, "role": string(nu.Role)})
	return u, err
}

// SetPassword sets the named user's password (policy checked), ends their
// sessions, and sets must_change_password when temporary (clears it
// otherwise).
func (a *Admin) SetPassword(ctx context.Context, name, password string, temporary bool) (store.User, error) {
	u, err := a.lookup(ctx, name)
	if err != nil {
		return store.User{}, err
	}
	err = a.svc.SetPassword(ctx, u.ID, password, temporary)
	a.audit(ctx, "user.password_reset", u.ID, err, map[string]any{"username": u.Username, "temporary": temporary})
	if err != nil {
		return store.User{}, err
	}
	return a.store.GetUser(ctx, u.ID)
}

// Deactivate disables the named user: they cannot sign in, their login
// sessions (refresh tokens and the access tokens issued in them) and their
// API tokens are revoked at once. The last active admin is refused
// (ErrLastAdmin). Deactivating an inactive user only revokes what is left.
func (a *Admin) Deactivate(ctx context.Context, name string) (store.User, error) {
	u, err := a.lookup(ctx, name)
	if err != nil {
		return store.User{}, err
	}
	u, err = a.deactivate(ctx, u)
	a.audit(ctx, "user.deactivate", u.ID, err, map[string]any{"username": u.Username})
	return u, err
}

func (a *Admin) deactivate(ctx context.Context, u store.User) (store.User, error) {
	if u.Active && u.Role == string(RoleAdmin) {
		n, err := a.store.CountUsers(ctx, string(RoleAdmin), true)
		if err != nil {
			return u, fmt.Errorf("deactivate %s: %w", u.Username, err)
		}
		if n <= 1 {
			return u, fmt.Errorf("refused to deactivate %s: %s %w", u.Username, u.Username, ErrLastAdmin)
		}
	}
	inactive := false
	nu, err := a.store.UpdateUser(ctx, u.ID, store.UserUpdate{Active: &inactive})
	if err != nil {
		return u, fmt.Errorf("deactivate %s: %w", u.Username, err)
	}
	if err := a.svc.RevokeSessions(ctx, u.ID); err != nil {
		return nu, fmt.Errorf("deactivate %s: %w", u.Username, err)
	}
	tokens, err := a.store.ListAPITokens(ctx, u.ID)
	if err != nil {
		return nu, fmt.Errorf("deactivate %s: %w", u.Username, err)
	}
	for _, t := range tokens {
		if t.RevokedAt != nil {
			continue
		}
		if err := a.store.RevokeAPIToken(ctx, u.ID, t.ID); err != nil {
			return nu, fmt.Errorf("deactivate %s: revoke api token %s: %w", u.Username, t.Name, err)
		}
	}
	return nu, nil
}

// Activate lets the named user sign in again. Revoked sessions and API
// tokens stay revoked.
func (a *Admin) Activate(ctx context.Context, name string) (store.User, error) {
	u, err := a.lookup(ctx, name)
	if err != nil {
		return store.User{}, err
	}
	active := true
	nu, err := a.store.UpdateUser(ctx, u.ID, store.UserUpdate{Active: &active})
	if err != nil {
		err = fmt.Errorf("activate %s: %w", u.Username, err)
	}
	a.audit(ctx, "user.activate", u.ID, err, map[string]any{"username": u.Username})
	return nu, err
}

// lookup finds a user by username or email; unknown is *UnknownUserError.
func (a *Admin) lookup(ctx context.Context, name string) (store.User, error) {
	u, err := a.store.GetUserByLogin(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, &UnknownUserError{Name: name}
	}
	if err != nil {
		return store.User{}, fmt.Errorf("find user %q: %w", name, err)
	}
	return u, nil
}

// audit writes one entry; a failure to write it is logged (the operation
// itself has already happened or been refused).
func (a *Admin) audit(ctx context.Context, action, targetID string, opErr error, details map[string]any) {
	result := "success"
	switch {
	case errors.Is(opErr, ErrLastAdmin):
		result = "denied"
	case opErr != nil:
		result = "failure"
		details["reason"] = opErr.Error()
	}
	raw, _ := json.Marshal(details)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := a.store.AppendAudit(ctx, store.AuditEntry{
		ActorName: a.actor, Action: action, TargetType: "user", TargetID: targetID, Result: result, Details: raw,
	}); err != nil {
		a.log.ErrorContext(ctx, "audit entry not written", "action", action, "error", err)
	}
}
