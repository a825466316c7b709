package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/store"
)

// TestDeveloperCannotManageAdmins: developer holds users:write but not
// users:admin; admin holds both. Nobody resets an admin's password.
func TestDeveloperCannotManageAdmins(t *testing.T) {
	eachBackend(t, testDeveloperCannotManageAdmins)
}

func testDeveloperCannotManageAdmins(t *testing.T, opts setupOptions) {
	e := setup(t, opts)
	otherAdmin := e.createUser("admin2", auth.RoleAdmin)
	designer := e.createUser("designer2", auth.RoleDesigner)
	dev, admin := e.tokens[auth.RoleDeveloper], e.tokens[auth.RoleAdmin]
	newUser := func(name, role string) map[string]any {
		return map[string]any{"username": name, "email": name + "@example.com", "role": role, "password": testPassword}
	}
	tests := []struct {
		name   string
		token  string
		method string
		path   string
		body   any
		status int
	}{
		{"developer creates admin", dev, "POST", "/api/v1/users", newUser("sneaky", "admin"), 403},
		{"developer grants admin", dev, "PATCH", "/api/v1/users/" + designer.ID, map[string]any{"role": "admin"}, 403},
		{"developer changes admin", dev, "PATCH", "/api/v1/users/" + otherAdmin.ID, map[string]any{"full_name": "x"}, 403},
		{"developer demotes admin", dev, "PATCH", "/api/v1/users/" + otherAdmin.ID, map[string]any{"role": "viewer"}, 403},
		{"developer deactivates admin", dev, "POST", "/api/v1/users/" + otherAdmin.ID + "/deactivate", nil, 403},
		{"developer deletes admin", dev, "DELETE", "/api/v1/users/" + otherAdmin.ID, nil, 403},
		{"developer resets admin password", dev, "POST", "/api/v1/users/" + otherAdmin.ID + "/password", map[string]any{"password": "Another-Passw0rd-9"}, 403},
		{"admin resets admin password", admin, "POST", "/api/v1/users/" + otherAdmin.ID + "/password", map[string]any{"password": "Another-Passw0rd-9"}, 403},
		{"admin deactivates self", admin, "POST", "/api/v1/users/" + e.users[auth.RoleAdmin].ID + "/deactivate", nil, 409},
		{"admin deletes self", admin, "DELETE", "/api/v1/users/" + e.users[auth.RoleAdmin].ID, nil, 409},
		{"admin demotes self", admin, "PATCH", "/api/v1/users/" + e.users[auth.RoleAdmin].ID, map[string]any{"role": "viewer"}, 409},
		{"developer manages designer", dev, "PATCH", "/api/v1/users/" + designer.ID, map[string]any{"role": "executor"}, 200},
		{"admin grants admin", admin, "PATCH", "/api/v1/users/" + designer.ID, map[string]any{"role": "admin"}, 200},
		{"admin creates admin", admin, "POST", "/api/v1/users", newUser("admin3", "admin"), 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := e.store.GetUser(context.Background(), otherAdmin.ID)
			r := e.do(tt.method, tt.path, tt.token, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", r.status, tt.status, r.body)
			}
			if r.status >= 400 {
				r.problem(t)
				after, err := e.store.GetUser(context.Background(), otherAdmin.ID)
				if err != nil || after != before {
					t.Errorf("refused request changed the admin: %+v -> %+v (%v)", before, after, err)
				}
			}
		})
	}
	// The other admin's password is still the original one.
	e.login("admin2", testPassword)
	if _, err := e.store.GetUserByLogin(context.Background(), "sneaky"); err == nil {
		t.Error("developer-created admin exists")
	}
}

func TestUserLifecycle(t *testing.T) {
	eachBackend(t, testUserLifecycle)
}

func testUserLifecycle(t *testing.T, opts setupOptions) {
	e := setup(t, opts)
	admin := e.tokens[auth.RoleAdmin]

	r := e.do("POST", "/api/v1/users", admin, map[string]any{"username": "ana", "email": "ana@example.com", "full_name": "Ana Lima", "role": "designer", "password": testPassword})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var ana User
	r.decode(t, &ana)
	if ana.ID == "" || ana.Role != "designer" || !ana.Active || ana.FullName != "Ana Lima" {
		t.Fatalf("created user %+v", ana)
	}
	anaToken, anaRefresh := e.loginPair("ana")

	// Search, filter and paginate.
	for i := range 3 {
		e.createUser("zed"+string(rune('a'+i)), auth.RoleExecutor)
	}
	var page Page[User]
	e.do("GET", "/api/v1/users?search=ZED&per_page=2&page=2", admin, nil).decode(t, &page)
	if page.Total != 3 || len(page.Items) != 1 || page.Items[0].Username != "zedc" || page.Page != 2 || page.PerPage != 2 {
		t.Fatalf("search page 2: %+v", page)
	}
	e.do("GET", "/api/v1/users?role=designer", admin, nil).decode(t, &page)
	if page.Total != 2 { // designer1 from setup and ana
		t.Fatalf("role filter: total %d, want 2: %+v", page.Total, page.Items)
	}
	e.do("GET", "/api/v1/users?search=ana_lima", admin, nil).decode(t, &page)
	if page.Total != 0 {
		t.Fatalf("search treated _ as a LIKE wildcard: %+v", page.Items)
	}
	e.do("GET", "/api/v1/users?search=ana%40example", admin, nil).decode(t, &page)
	if page.Total != 1 || page.Items[0].ID != ana.ID {
		t.Fatalf("email search: %+v", page)
	}

	// A role change ends the user's sessions (access and refresh tokens); the
	// next sign-in carries the new role.
	if r := e.do("PATCH", "/api/v1/users/"+ana.ID, admin, map[string]any{"role": "viewer"}); r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/auth/me", anaToken, nil); r.status != 401 {
		t.Fatalf("access token after a role change: %d, want 401", r.status)
	}
	var me struct {
		Role        string            `json:"role"`
		Permissions []auth.Permission `json:"permissions"`
	}
	e.do("GET", "/api/v1/auth/me", e.login("ana", testPassword), nil).decode(t, &me)
	if me.Role != "viewer" {
		t.Fatalf("role after change: %q", me.Role)
	}
	if r := e.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": anaRefresh}); r.status != 401 {
		t.Fatalf("refresh after role change: %d, want 401", r.status)
	}

	// Deactivation locks the user out, including existing access tokens.
	anaToken = e.login("ana", testPassword)
	if r := e.do("POST", "/api/v1/users/"+ana.ID+"/deactivate", admin, nil); r.status != 200 {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/auth/me", anaToken, nil); r.status != 401 {
		t.Fatalf("deactivated user's token: %d, want 401", r.status)
	}
	if r := e.do("POST", "/api/v1/auth/login", "", map[string]any{"login": "ana", "password": testPassword}); r.status != 403 {
		t.Fatalf("deactivated user's login: %d, want 403", r.status)
	}
	e.do("GET", "/api/v1/users?active=false", admin, nil).decode(t, &page)
	if page.Total != 1 || page.Items[0].ID != ana.ID {
		t.Fatalf("inactive filter: %+v", page)
	}

	// Reset password (reactivate first): the user must change it.
	active := true
	if _, err := e.store.UpdateUser(context.Background(), ana.ID, store.UserUpdate{Active: &active}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("POST", "/api/v1/users/"+ana.ID+"/password", admin, map[string]any{"password": "Temporary-Passw0rd-1"}); r.status != 204 {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	tmp := e.do("POST", "/api/v1/auth/login", "", map[string]any{"login": "ana", "password": "Temporary-Passw0rd-1"})
	var loginOut struct {
		User User `json:"user"`
	}
	tmp.decode(t, &loginOut)
	if tmp.status != 200 || !loginOut.User.MustChangePassword {
		t.Fatalf("login with the temporary password: %d must_change=%v", tmp.status, loginOut.User.MustChangePassword)
	}
	// Until it is changed, the temporary password opens only the profile and
	// the password change (no runs, no pipelines, no API tokens).
	tmpToken := e.login("ana", "Temporary-Passw0rd-1")
	for _, tc := range []struct{ method, path string }{
		{"GET", "/api/v1/pipelines"},
		{"POST", "/api/v1/auth/tokens"},
		{"GET", "/api/v1/runs"},
	} {
		r := e.do(tc.method, tc.path, tmpToken, map[string]any{"name": "x"})
		if r.status != 403 || !strings.Contains(r.problem(t).Detail, "password change required") {
			t.Errorf("%s %s with a temporary password: %d %s, want 403 password change required", tc.method, tc.path, r.status, r.body)
		}
	}
	if r := e.do("GET", "/api/v1/auth/me", tmpToken, nil); r.status != 200 {
		t.Fatalf("me with a temporary password: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/auth/password", tmpToken, map[string]any{"current_password": "Temporary-Passw0rd-1", "new_password": "Quiet-River-Stone-92"}); r.status != 204 {
		t.Fatalf("change the temporary password: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/pipelines", e.login("ana", "Quiet-River-Stone-92"), nil); r.status != 200 {
		t.Fatalf("pipelines after the change: %d %s", r.status, r.body)
	}

	// Delete: gone, but the audit trail keeps the actor's name.
	if r := e.do("DELETE", "/api/v1/users/"+ana.ID, admin, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/users/"+ana.ID, admin, nil); r.status != 404 {
		t.Fatalf("get deleted: %d", r.status)
	}
	if len(e.auditEntries(store.AuditFilter{ActorID: ana.ID, Action: "auth.login"})) == 0 {
		t.Fatal("the deleted user's logins left the audit log")
	}
}
