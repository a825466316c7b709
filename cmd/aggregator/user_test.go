package main

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

const testSecret = "a-test-secret-key-of-at-least-32-characters"

// userStores are the two metadata stores the user commands run against.
var userStores = []struct {
	name  string
	setup func(t *testing.T) store.Options
}{
	{"sqlite", func(t *testing.T) store.Options {
		dir := t.TempDir()
		t.Setenv("DATA_DIR", dir)
		return store.Options{Dialect: store.SQLite, DSN: filepath.Join(dir, "aggregator.db")}
	}},
	{"postgres", func(t *testing.T) store.Options {
		pg := testutil.Postgres(t)
		t.Setenv("DATA_DIR", t.TempDir())
		t.Setenv("DATABASE_URL", pg.URL)
		return store.Options{Dialect: store.Postgres, DSN: pg.URL}
	}},
}

// userSetup points the CLI at a fresh store, creates the admin "root" and the
// designer "ana" through it, and returns an auth service over the same store
// (same SECRET_KEY) to sign in as the server would.
func userSetup(t *testing.T, open func(t *testing.T) store.Options) (*store.Store, *auth.Service) {
	t.Helper()
	t.Setenv("SECRET_KEY", testSecret)
	t.Setenv("PASSWORD_HASH_COST", "4") // bcrypt's least cost: the default's hashing is slow under -race
	opts := open(t)
	for _, u := range [][]string{{"root", "root@example.com", "admin"}, {"ana", "ana@example.com", "designer"}} {
		if _, _, err := run(t, "Str0ng-Passw0rd-Here\n", "user", "create", "--username", u[0], "--email", u[1], "--role", u[2]); err != nil {
			t.Fatalf("user create %s: %v", u[0], err)
		}
	}
	st, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc, err := auth.NewService(auth.Options{Store: st, Secret: testSecret, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	// the CLI hashed at PASSWORD_HASH_COST
	if cost, err := bcrypt.Cost([]byte(getUser(t, st, "ana").PasswordHash)); err != nil || cost != 4 {
		t.Fatalf("user create hashed at cost %d (%v), want PASSWORD_HASH_COST 4", cost, err)
	}
	return st, svc
}

func login(t *testing.T, svc *auth.Service, name, password string) auth.Tokens {
	t.Helper()
	tok, _, err := svc.Login(context.Background(), name, password, auth.ClientInfo{})
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return tok
}

func getUser(t *testing.T, st *store.Store, name string) store.User {
	t.Helper()
	u, err := st.GetUserByLogin(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUserListShowsUsers(t *testing.T) {
	for _, s := range userStores {
		t.Run(s.name, func(t *testing.T) {
			st, svc := userSetup(t, s.setup)
			login(t, svc, "ana", "Str0ng-Passw0rd-Here")
			if _, _, err := run(t, "", "user", "deactivate", "ana"); err != nil {
				t.Fatal(err)
			}
			out, _, err := run(t, "", "user", "list")
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") {
				t.Fatalf("table:\n%s", out)
			}
			ana, root := strings.Fields(lines[1]), strings.Fields(lines[2])
			// NAME EMAIL ROLE STATE MUST CREATED(date time) LAST LOGIN(date time | never)
			if ana[0] != "ana" || ana[2] != "designer" || ana[3] != "deactivated" || ana[4] != "no" || ana[7] == "never" {
				t.Errorf("ana's row: %q", lines[1])
			}
			if root[0] != "root" || root[2] != "admin" || root[3] != "active" || root[len(root)-1] != "never" {
				t.Errorf("root's row: %q", lines[2])
			}

			out, _, err = run(t, "", "user", "list", "--json")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out, getUser(t, st, "ana").PasswordHash) || strings.Contains(out, "password_hash") {
				t.Fatal("user list --json shows the password hash")
			}
			var users []userJSON
			if err := json.Unmarshal([]byte(out), &users); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if len(users) != 2 || users[0].Username != "ana" || users[0].Active || users[0].LastLoginAt == nil ||
				users[1].Username != "root" || !users[1].Active || users[1].Role != "admin" || users[1].LastLoginAt != nil {
				t.Fatalf("users: %+v", users)
			}
		})
	}
}

func TestUserSetPassword(t *testing.T) {
	for _, s := range userStores {
		t.Run(s.name, func(t *testing.T) {
			st, svc := userSetup(t, s.setup)
			ctx := context.Background()
			old := login(t, svc, "ana", "Str0ng-Passw0rd-Here")

			// A weak password names the rule and changes nothing.
			_, _, err := run(t, "short-pw\n", "user", "set-password", "ana")
			if err == nil || !strings.Contains(err.Error(), "must be at least 12 characters") {
				t.Fatalf("weak password: %v", err)
			}
			_, _, err = run(t, "Ana-Passw0rd-2026\n", "user", "set-password", "ana")
			if err == nil || !strings.Contains(err.Error(), "must not contain the username") {
				t.Fatalf("password with the username: %v", err)
			}
			if _, err := svc.Authenticate(ctx, old.AccessToken); err != nil {
				t.Fatalf("a refused password ended the session: %v", err)
			}

			out, _, err := run(t, "N3w-Temporary-Secret\n", "user", "set-password", "ana", "--temporary")
			if err != nil || !strings.Contains(out, "must change it") || strings.Contains(out, "N3w-Temporary") {
				t.Fatalf("set-password --temporary: %v\n%s", err, out)
			}
			if _, err := svc.Authenticate(ctx, old.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("access token of the old session: %v, want it refused", err)
			}
			if _, _, err := svc.Refresh(ctx, old.RefreshToken, auth.ClientInfo{}); !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("refresh token of the old session: %v, want it refused", err)
			}
			if _, _, err := svc.Login(ctx, "ana", "Str0ng-Passw0rd-Here", auth.ClientInfo{}); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("old password: %v", err)
			}
			tok := login(t, svc, "ana", "N3w-Temporary-Secret")
			if p, err := svc.Authenticate(ctx, tok.AccessToken); err != nil || !p.MustChangePassword {
				t.Fatalf("after a temporary password: %+v %v", p, err)
			}

			if _, _, err := run(t, "N3w-Permanent-Secret\n", "user", "set-password", "ana@example.com"); err != nil {
				t.Fatal(err)
			}
			if u := getUser(t, st, "ana"); u.MustChangePassword {
				t.Fatal("set-password without --temporary left must_change_password set")
			}
			login(t, svc, "ana", "N3w-Permanent-Secret")

			if _, _, err := run(t, "N3w-Permanent-Secret\n", "user", "set-password", "nobody"); err == nil || !strings.Contains(err.Error(), `no user named "nobody"`) {
				t.Fatalf("unknown user: %v", err)
			}
			wantAudit(t, st, "user.password_reset", []string{"success", "success", "failure", "failure"})
		})
	}
}

func TestUserDeactivateAndActivate(t *testing.T) {
	for _, s := range userStores {
		t.Run(s.name, func(t *testing.T) {
			st, svc := userSetup(t, s.setup)
			ctx := context.Background()
			ana := getUser(t, st, "ana")
			sess := login(t, svc, "ana", "Str0ng-Passw0rd-Here")
			apiToken, _, err := svc.CreateAPIToken(ctx, ana.ID, "ci", nil)
			if err != nil {
				t.Fatal(err)
			}

			// The last active admin stays.
			_, _, err = run(t, "", "user", "deactivate", "root")
			if err == nil || !strings.Contains(err.Error(), "root is the last active admin") {
				t.Fatalf("deactivate the last admin: %v", err)
			}
			if !getUser(t, st, "root").Active {
				t.Fatal("the last admin was deactivated")
			}

			out, _, err := run(t, "", "user", "deactivate", "ana")
			if err != nil || strings.TrimSpace(out) != "deactivated ana" {
				t.Fatalf("deactivate: %v %q", err, out)
			}
			for name, bearer := range map[string]string{"access token": sess.AccessToken, "API token": apiToken} {
				if _, err := svc.Authenticate(ctx, bearer); err == nil {
					t.Errorf("%s still works after deactivation", name)
				}
			}
			if _, _, err := svc.Refresh(ctx, sess.RefreshToken, auth.ClientInfo{}); err == nil {
				t.Error("refresh token still works after deactivation")
			}
			if _, _, err := svc.Login(ctx, "ana", "Str0ng-Passw0rd-Here", auth.ClientInfo{}); !errors.Is(err, auth.ErrAccountDisabled) {
				t.Fatalf("login while deactivated: %v", err)
			}

			if out, _, err := run(t, "", "user", "activate", "ana"); err != nil || strings.TrimSpace(out) != "activated ana" {
				t.Fatalf("activate: %v %q", err, out)
			}
			login(t, svc, "ana", "Str0ng-Passw0rd-Here")
			if _, err := svc.Authenticate(ctx, apiToken); err == nil {
				t.Error("an API token revoked on deactivation works again after activation")
			}

			// With a second active admin, root may go.
			if _, _, err := run(t, "Str0ng-Passw0rd-Here\n", "user", "create", "--username", "root2", "--email", "root2@example.com", "--role", "admin"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := run(t, "", "user", "deactivate", "root"); err != nil {
				t.Fatalf("deactivate one of two admins: %v", err)
			}
			if _, _, err := run(t, "", "user", "deactivate", "ghost"); err == nil || !strings.Contains(err.Error(), `no user named "ghost"`) {
				t.Fatalf("unknown user: %v", err)
			}
			wantAudit(t, st, "user.deactivate", []string{"success", "success", "denied"})
			wantAudit(t, st, "user.activate", []string{"success"})
			wantAudit(t, st, "user.create", []string{"success", "success", "success"})
		})
	}
}

// wantAudit checks the results of the action's entries, newest first, each
// with the actor "cli" and a user target.
func wantAudit(t *testing.T, st *store.Store, action string, results []string) {
	t.Helper()
	entries, _, err := st.ListAudit(context.Background(), store.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Result)
		if e.ActorName != "cli" || e.TargetType != "user" || e.TargetID == "" {
			t.Errorf("%s entry: actor %q target %s/%s", action, e.ActorName, e.TargetType, e.TargetID)
		}
		if strings.Contains(string(e.Details), "Passw0rd") || strings.Contains(string(e.Details), "Secret") {
			t.Errorf("%s entry carries the password: %s", action, e.Details)
		}
	}
	if strings.Join(got, ",") != strings.Join(results, ",") {
		t.Errorf("%s results %v, want %v", action, got, results)
	}
}
