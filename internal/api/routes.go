package api

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/dataaggregator/aggregator/internal/auth"
)

// registerRoutes is the one place that lists every API route with its
// permission. To add a resource: write its handlers in a new file and add its
// lines here (and, for a new permission, a line in auth/permissions.go). The
// route-by-role test fails until the new route is in its expectation table.
func (s *Server) registerRoutes(api huma.API) {
	const (
		get, post, put, patch, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
		created, empty             = http.StatusCreated, http.StatusNoContent
	)

	// Operations.
	handle(s, api, route{Method: get, Path: "/healthz", ID: "healthz", Tag: "operations", Public: true,
		Summary: "Liveness: the process serves HTTP"}, s.healthz)
	handle(s, api, route{Method: get, Path: "/readyz", ID: "readyz", Tag: "operations", Public: true,
		Summary: "Readiness: the metadata store answers and its schema is current"}, s.readyz)

	// Authentication and the caller's own account.
	handle(s, api, route{Method: post, Path: "/api/v1/auth/login", ID: "login", Action: "auth.login", Target: "user", Tag: "auth", Public: true,
		Summary: "Sign in with username or email and password; returns an access and a refresh token"}, s.login)
	handle(s, api, route{Method: post, Path: "/api/v1/auth/refresh", ID: "refresh", Action: "auth.refresh", Tag: "auth", Public: true,
		Summary: "Exchange a refresh token for a new token pair (the old refresh token is spent)"}, s.refresh)
	handle(s, api, route{Method: post, Path: "/api/v1/auth/logout", ID: "logout", Action: "auth.logout", Tag: "auth", Public: true, Status: empty,
		Summary: "Revoke a refresh token and every token of its login session"}, s.logout)
	handle(s, api, route{Method: get, Path: "/api/v1/auth/me", ID: "get-me", Tag: "auth", Perm: auth.PermProfileSelf,
		Summary: "The signed-in user, with the permissions of their role"}, s.me)
	handle(s, api, route{Method: post, Path: "/api/v1/auth/password", ID: "change-password", Action: "auth.password_change", Tag: "auth", Perm: auth.PermProfileSelf, Status: empty,
		Summary: "Change your own password (the current one is required); ends your other sessions"}, s.changePassword)

	// API tokens (own).
	handle(s, api, route{Method: get, Path: "/api/v1/auth/tokens", ID: "list-api-tokens", Tag: "auth", Perm: auth.PermTokensSelf,
		Summary: "Your API tokens (the tokens themselves are never shown again)"}, s.listTokens)
	handle(s, api, route{Method: post, Path: "/api/v1/auth/tokens", ID: "create-api-token", Action: "api_token.create", Target: "api_token", Tag: "auth", Perm: auth.PermTokensSelf, Status: created,
		Summary: "Create an API token carrying your role; the response shows it once"}, s.createToken)
	handle(s, api, route{Method: del, Path: "/api/v1/auth/tokens/{id}", ID: "revoke-api-token", Action: "api_token.revoke", Target: "api_token", Tag: "auth", Perm: auth.PermTokensSelf, Status: empty,
		Summary: "Revoke one of your API tokens"}, s.revokeToken)

	// Users.
	handle(s, api, route{Method: get, Path: "/api/v1/users", ID: "list-users", Tag: "users", Perm: auth.PermUsersRead,
		Summary: "List users (search, filter by role and active, paginated with total)"}, s.listUsers)
	handle(s, api, route{Method: post, Path: "/api/v1/users", ID: "create-user", Action: "user.create", Target: "user", Tag: "users", Perm: auth.PermUsersWrite, Status: created,
		Summary: "Create a user (only an admin may create an admin)"}, s.createUser)
	handle(s, api, route{Method: get, Path: "/api/v1/users/{id}", ID: "get-user", Tag: "users", Perm: auth.PermUsersRead,
		Summary: "Get a user"}, s.getUser)
	handle(s, api, route{Method: patch, Path: "/api/v1/users/{id}", ID: "update-user", Action: "user.update", Target: "user", Tag: "users", Perm: auth.PermUsersWrite,
		Summary: "Change a user's email, name, role or active flag (only an admin may touch admins or grant admin)"}, s.updateUser)
	handle(s, api, route{Method: post, Path: "/api/v1/users/{id}/deactivate", ID: "deactivate-user", Action: "user.deactivate", Target: "user", Tag: "users", Perm: auth.PermUsersWrite,
		Summary: "Deactivate a user and end their sessions"}, s.deactivateUser)
	handle(s, api, route{Method: post, Path: "/api/v1/users/{id}/password", ID: "reset-user-password", Action: "user.password_reset", Target: "user", Tag: "users", Perm: auth.PermUsersWrite, Status: empty,
		Summary: "Set a temporary password for a user (never for an admin); they must change it"}, s.resetPassword)
	handle(s, api, route{Method: del, Path: "/api/v1/users/{id}", ID: "delete-user", Action: "user.delete", Target: "user", Tag: "users", Perm: auth.PermUsersWrite, Status: empty,
		Summary: "Delete a user (their audit entries stay)"}, s.deleteUser)

	// Audit log (read only: no route changes or deletes an entry).
	handle(s, api, route{Method: get, Path: "/api/v1/audit-logs", ID: "list-audit-logs", Tag: "audit", Perm: auth.PermAuditRead,
		Summary: "Audit entries, newest first, filtered by actor, action, target, result and time range"}, s.listAudit)

	// Own preferences and dashboard layouts.
	handle(s, api, route{Method: get, Path: "/api/v1/me/preferences", ID: "get-preferences", Tag: "me", Perm: auth.PermPreferencesSelf,
		Summary: "Your preferences (defaults until you save them)"}, s.getPreferences)
	handle(s, api, route{Method: put, Path: "/api/v1/me/preferences", ID: "put-preferences", Action: "preferences.update", Tag: "me", Perm: auth.PermPreferencesSelf,
		Summary: "Save your theme, language and time zone"}, s.putPreferences)
	handle(s, api, route{Method: get, Path: "/api/v1/me/dashboards", ID: "list-dashboard-layouts", Tag: "me", Perm: auth.PermLayoutsSelf,
		Summary: "Your dashboard layouts, the default first"}, s.listLayouts)
	handle(s, api, route{Method: post, Path: "/api/v1/me/dashboards", ID: "create-dashboard-layout", Action: "dashboard_layout.create", Target: "dashboard_layout", Tag: "me", Perm: auth.PermLayoutsSelf, Status: created,
		Summary: "Save a dashboard layout (your first one becomes the default)"}, s.createLayout)
	handle(s, api, route{Method: get, Path: "/api/v1/me/dashboards/{id}", ID: "get-dashboard-layout", Tag: "me", Perm: auth.PermLayoutsSelf,
		Summary: "One of your dashboard layouts"}, s.getLayout)
	handle(s, api, route{Method: put, Path: "/api/v1/me/dashboards/{id}", ID: "update-dashboard-layout", Action: "dashboard_layout.update", Target: "dashboard_layout", Tag: "me", Perm: auth.PermLayoutsSelf,
		Summary: "Replace a dashboard layout's name and content"}, s.updateLayout)
	handle(s, api, route{Method: post, Path: "/api/v1/me/dashboards/{id}/default", ID: "set-default-dashboard-layout", Action: "dashboard_layout.set_default", Target: "dashboard_layout", Tag: "me", Perm: auth.PermLayoutsSelf,
		Summary: "Make a layout your default (exactly one is)"}, s.setDefaultLayout)
	handle(s, api, route{Method: del, Path: "/api/v1/me/dashboards/{id}", ID: "delete-dashboard-layout", Action: "dashboard_layout.delete", Target: "dashboard_layout", Tag: "me", Perm: auth.PermLayoutsSelf, Status: empty,
		Summary: "Delete a dashboard layout (the most recent other one becomes the default)"}, s.deleteLayout)
}
