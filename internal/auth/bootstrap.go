package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/store"
)

// Bootstrap users.
const (
	AdminUsername     = "admin"
	AdminEmail        = "admin@localhost"
	DeveloperUsername = "developer"
	DeveloperEmail    = "developer@localhost"
)

// Bootstrap reports what EnsureAdmin or EnsureDevUser did. Password is set
// only when it was generated: print it once, never log it again.
type Bootstrap struct {
	Created  bool
	Username string
	Password string
}

// EnsureAdmin creates the user "admin" when no admin exists. password is
// ADMIN_PASSWORD; when empty a strong password is generated and returned.
// A password that fails the policy is an error naming ADMIN_PASSWORD.
func (s *Service) EnsureAdmin(ctx context.Context, password string) (Bootstrap, error) {
	n, err := s.store.CountUsers(ctx, string(RoleAdmin), false)
	if err != nil {
		return Bootstrap{}, fmt.Errorf("ensure admin: %w", err)
	}
	if n > 0 {
		return Bootstrap{Username: AdminUsername}, nil
	}
	return s.bootstrap(ctx, "ADMIN_PASSWORD", AdminUsername, AdminEmail, "Administrator", RoleAdmin, password)
}

// EnsureDevUser creates the user "developer" (role developer) with a
// generated password when it does not exist (CREATE_DEV_USER=true). It is
// refused in production.
func (s *Service) EnsureDevUser(ctx context.Context) (Bootstrap, error) {
	if s.production {
		return Bootstrap{}, fmt.Errorf("CREATE_DEV_USER: %w", ErrProductionRefused)
	}
	_, err := s.store.GetUserByLogin(ctx, DeveloperUsername)
	if err == nil {
		return Bootstrap{Username: DeveloperUsername}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return Bootstrap{}, fmt.Errorf("ensure developer user: %w", err)
	}
	return s.bootstrap(ctx, "", DeveloperUsername, DeveloperEmail, "Developer", RoleDeveloper, "")
}

func (s *Service) bootstrap(ctx context.Context, variable, username, email, fullName string, role Role, password string) (Bootstrap, error) {
	generated := password == ""
	if generated {
		p, err := GeneratePassword()
		if err != nil {
			return Bootstrap{}, err
		}
		password = p
	}
	_, err := s.CreateUser(ctx, NewUser{Username: username, Email: email, FullName: fullName, Role: role, Password: password})
	switch {
	case err == nil:
	case errors.Is(err, ErrWeakPassword) && variable != "":
		return Bootstrap{}, fmt.Errorf("%s: %w", variable, err)
	case errors.Is(err, store.ErrConflict):
		// Another process starting on the same store at the same moment (two API replicas) may
		// have created the user between the check and the insert: that one is as good.
		if u, gerr := s.store.GetUserByLogin(ctx, username); gerr == nil && u.Role == string(role) && u.Active {
			return Bootstrap{Username: username}, nil
		}
		return Bootstrap{}, fmt.Errorf("create %s user: a user named %q (or with email %s) exists without the %s role: %w", role, username, email, role, err)
	default:
		return Bootstrap{}, fmt.Errorf("create %s user: %w", role, err)
	}
	b := Bootstrap{Created: true, Username: username}
	if generated {
		b.Password = password
	}
	return b, nil
}
