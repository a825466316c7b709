package api

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/store"
)

// call is one request a route case makes for a caller.
type call struct {
	path    string // the route path when empty
	body    any
	headers []string // name, value pairs (e.g. a multipart Content-Type)
}

// routeCase says what permission a route needs and how to build a request
// that succeeds when the caller holds it. prepare runs once per caller; as
// is the user the request is made as (zero for the anonymous caller).
type routeCase struct {
	perm    auth.Permission // "" for public routes
	public  bool
	prepare func(e *env, as store.User) call
	// ws: the route is a WebSocket whose caller authenticates in its first
	// frame; the test subscribes as the caller instead of a request.
	ws bool
}

var seq atomic.Int64

func uniq(prefix string) string { return fmt.Sprintf("%s%d", prefix, seq.Add(1)) }

// routeTable is the expectation for EVERY route. A route registered in the
// server but missing here fails TestEveryRouteWithEveryRole.
func routeTable() map[string]routeCase {
	static := func(path string, body any) func(*env, store.User) call {
		return func(*env, store.User) call { return call{path: path, body: body} }
	}
	// fresh creates a user that any users:write holder may manage.
	fresh := func(e *env) store.User { return e.createUser(uniq("target"), auth.RoleViewer) }
	// ownLayout creates a layout owned by as (or by the admin for anonymous
	// callers, who are refused before the lookup).
	ownLayout := func(e *env, as store.User) string {
		owner := as.ID
		if owner == "" {
			owner = e.users[auth.RoleAdmin].ID
		}
		l, err := e.store.CreateDashboardLayout(context.Background(), store.DashboardLayout{UserID: owner, Name: uniq("layout")})
		if err != nil {
			e.t.Fatal(err)
		}
		return l.ID
	}
	ownToken := func(e *env, as store.User) string {
		owner := as.ID
		if owner == "" {
			owner = e.users[auth.RoleAdmin].ID
		}
		_, t, err := e.auth.CreateAPIToken(context.Background(), owner, uniq("tok"), nil)
		if err != nil {
			e.t.Fatal(err)
		}
		return t.ID
	}
	refreshToken := func(e *env, _ store.User) call {
		_, rt := e.loginPair(e.users[auth.RoleViewer].Username)
		return call{body: map[string]any{"refresh_token": rt}}
	}
	return map[string]routeCase{
		"GET /api/v1/ws": {perm: auth.PermRunsRead, ws: true},
		"GET /healthz":   {public: true, prepare: static("/healthz", nil)},
		"GET /readyz":    {public: true, prepare: static("/readyz", nil)},

		"POST /api/v1/auth/login": {public: true, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/auth/login", body: map[string]any{"login": e.users[auth.RoleExecutive].Username, "password": testPassword}}
		}},
		"POST /api/v1/auth/refresh": {public: true, prepare: func(e *env, as store.User) call {
			c := refreshToken(e, as)
			c.path = "/api/v1/auth/refresh"
			return c
		}},
		"POST /api/v1/auth/logout": {public: true, prepare: func(e *env, as store.User) call {
			c := refreshToken(e, as)
			c.path = "/api/v1/auth/logout"
			return c
		}},
		"GET /api/v1/auth/me": {perm: auth.PermProfileSelf, prepare: static("/api/v1/auth/me", nil)},
		"POST /api/v1/auth/password": {perm: auth.PermProfileSelf, prepare: func(e *env, as store.User) call {
			// Runs last for each caller (see the sort below): the change ends
			// the caller's other sessions.
			return call{path: "/api/v1/auth/password", body: map[string]any{"current_password": testPassword, "new_password": testPassword + "-2"}}
		}},
		"GET /api/v1/auth/tokens": {perm: auth.PermTokensSelf, prepare: static("/api/v1/auth/tokens", nil)},
		"POST /api/v1/auth/tokens": {perm: auth.PermTokensSelf, prepare: func(*env, store.User) call {
			return call{path: "/api/v1/auth/tokens", body: map[string]any{"name": uniq("ci")}}
		}},
		"DELETE /api/v1/auth/tokens/{id}": {perm: auth.PermTokensSelf, prepare: func(e *env, as store.User) call {
			return call{path: "/api/v1/auth/tokens/" + ownToken(e, as)}
		}},

		"GET /api/v1/users": {perm: auth.PermUsersRead, prepare: static("/api/v1/users?search=target&role=viewer&active=true&page=1&per_page=5", nil)},
		"POST /api/v1/users": {perm: auth.PermUsersWrite, prepare: func(*env, store.User) call {
			n := uniq("new")
			return call{path: "/api/v1/users", body: map[string]any{"username": n, "email": n + "@example.com", "role": "designer", "password": testPassword}}
		}},
		"GET /api/v1/users/{id}": {perm: auth.PermUsersRead, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/users/" + fresh(e).ID}
		}},
		"PATCH /api/v1/users/{id}": {perm: auth.PermUsersWrite, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/users/" + fresh(e).ID, body: map[string]any{"full_name": "Renamed", "role": "executor"}}
		}},
		"POST /api/v1/users/{id}/deactivate": {perm: auth.PermUsersWrite, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/users/" + fresh(e).ID + "/deactivate"}
		}},
		"POST /api/v1/users/{id}/password": {perm: auth.PermUsersWrite, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/users/" + fresh(e).ID + "/password", body: map[string]any{"password": "Temporary-Passw0rd-1"}}
		}},
		"DELETE /api/v1/users/{id}": {perm: auth.PermUsersWrite, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/users/" + fresh(e).ID}
		}},

		"GET /api/v1/audit-logs": {perm: auth.PermAuditRead, prepare: static("/api/v1/audit-logs?action=auth.&result=success&from=2020-01-01T00:00:00Z", nil)},

		"GET /api/v1/analytics/timeseries":     {perm: auth.PermAnalyticsRead, prepare: static("/api/v1/analytics/timeseries?metric=rows_out&group_by=pipeline&limit=5", nil)},
		"GET /api/v1/analytics/pipelines":      {perm: auth.PermAnalyticsRead, prepare: static("/api/v1/analytics/pipelines", nil)},
		"GET /api/v1/analytics/summary":        {perm: auth.PermAnalyticsRead, prepare: static("/api/v1/analytics/summary", nil)},
		"GET /api/v1/admin/settings/retention": {perm: auth.PermSettingsRead, prepare: static("/api/v1/admin/settings/retention", nil)},
		"PUT /api/v1/admin/settings/retention": {perm: auth.PermSettingsWrite, prepare: static("/api/v1/admin/settings/retention",
			map[string]any{"runs": "90d", "dead_letters": "30d", "server_logs": "30d", "uploads": "7d", "staged_outputs": "1d"})},
		"GET /api/v1/system/logs":                    {perm: auth.PermSystemLogsRead, prepare: static("/api/v1/system/logs?level=info,error&component=api&q=request&limit=10", nil)},
		"GET /api/v1/system/requests/{id}":           {perm: auth.PermSystemLogsRead, prepare: static("/api/v1/system/requests/req-1", nil)},
		"GET /api/v1/system/health":                  {perm: auth.PermSettingsRead, prepare: static("/api/v1/system/health", nil)},
		"POST /api/v1/admin/cleanup":                 {perm: auth.PermCleanup, prepare: static("/api/v1/admin/cleanup", nil)},
		"GET /api/v1/admin/settings/secret-managers": {perm: auth.PermSettingsRead, prepare: static("/api/v1/admin/settings/secret-managers", nil)},
		"PUT /api/v1/admin/settings/secret-managers": {perm: auth.PermSettingsWrite, prepare: static("/api/v1/admin/settings/secret-managers",
			map[string]any{"vault": map[string]any{"address": ""}, "file_roots": []string{}, "cache_ttl": "5m"})},
		"POST /api/v1/admin/settings/secret-managers/test": {perm: auth.PermSettingsWrite, prepare: static("/api/v1/admin/settings/secret-managers/test",
			map[string]any{"settings": map[string]any{"vault": map[string]any{"address": ""}, "file_roots": []string{}, "cache_ttl": "5m"}, "reference": "file:///nowhere"})},

		"GET /api/v1/me/preferences": {perm: auth.PermPreferencesSelf, prepare: static("/api/v1/me/preferences", nil)},
		"PUT /api/v1/me/preferences": {perm: auth.PermPreferencesSelf, prepare: static("/api/v1/me/preferences",
			map[string]any{"theme": "dark", "language": "de-CH", "timezone": "Europe/Zurich"})},
		"GET /api/v1/me/dashboards": {perm: auth.PermLayoutsSelf, prepare: static("/api/v1/me/dashboards", nil)},
		"POST /api/v1/me/dashboards": {perm: auth.PermLayoutsSelf, prepare: static("/api/v1/me/dashboards",
			map[string]any{"name": "Ops", "layout": map[string]any{"widgets": []any{"runs"}}})},
		"GET /api/v1/me/dashboards/{id}": {perm: auth.PermLayoutsSelf, prepare: func(e *env, as store.User) call {
			return call{path: "/api/v1/me/dashboards/" + ownLayout(e, as)}
		}},
		"PUT /api/v1/me/dashboards/{id}": {perm: auth.PermLayoutsSelf, prepare: func(e *env, as store.User) call {
			return call{path: "/api/v1/me/dashboards/" + ownLayout(e, as), body: map[string]any{"name": "Renamed", "layout": map[string]any{}}}
		}},
		"POST /api/v1/me/dashboards/{id}/default": {perm: auth.PermLayoutsSelf, prepare: func(e *env, as store.User) call {
			return call{path: "/api/v1/me/dashboards/" + ownLayout(e, as) + "/default"}
		}},
		"DELETE /api/v1/me/dashboards/{id}": {perm: auth.PermLayoutsSelf, prepare: func(e *env, as store.User) call {
			return call{path: "/api/v1/me/dashboards/" + ownLayout(e, as)}
		}},
	}
}

// registeredRoutes enumerates the operations of the generated OpenAPI
// document (what clients see) with their declared x-permission.
func registeredRoutes(e *env) map[string]string {
	out := map[string]string{}
	for path, item := range e.api.OpenAPI().Paths {
		for method, op := range map[string]*huma.Operation{
			http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put,
			http.MethodPatch: item.Patch, http.MethodDelete: item.Delete, http.MethodHead: item.Head,
		} {
			if op == nil {
				continue
			}
			perm, _ := op.Extensions["x-permission"].(string)
			out[method+" "+path] = perm
		}
	}
	// The server's own registry must agree with the document.
	for _, r := range e.api.Routes() {
		if _, ok := out[r.Method+" "+r.Path]; !ok {
			e.t.Errorf("route %s %s is in Routes() but not in the OpenAPI document", r.Method, r.Path)
		}
	}
	return out
}

func TestEveryRouteWithEveryRole(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := setup(t, setupOptions{postgres: backend == "postgres"})
			table := routeTable()
			maps.Copy(table, dataRouteTable()) // pipelines, runs, transformations, connectors, files (data_routes_test.go)
			maps.Copy(table, alertRouteTable())
			maps.Copy(table, queryRouteTable())
			registered := registeredRoutes(e)
			if len(registered) == 0 {
				t.Fatal("no routes found in the OpenAPI document")
			}
			var keys []string
			for k := range registered {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, key := range keys {
				if _, ok := table[key]; !ok {
					t.Errorf("route %s is registered but missing from routeTable: add its permission and a request", key)
				}
			}
			for key := range table {
				if _, ok := registered[key]; !ok {
					t.Errorf("routeTable lists %s, which is not registered", key)
				}
			}
			if t.Failed() {
				return
			}

			// Callers: anonymous, then every role. The password change runs last
			// for each caller because it ends the caller's other sessions.
			type caller struct {
				name  string
				user  store.User
				token string
				role  auth.Role
			}
			callers := []caller{{name: "anonymous"}}
			for _, r := range auth.Roles() {
				// A dedicated user per role, so that a password change does not
				// invalidate the tokens other tests use.
				u := e.createUser(uniq("rbac-"+string(r)+"-"), r)
				callers = append(callers, caller{name: string(r), user: u, token: e.login(u.Username, testPassword), role: r})
			}
			const last = "POST /api/v1/auth/password"
			keys = append(slices.DeleteFunc(keys, func(k string) bool { return k == last }), last)
			for _, key := range keys {
				rc := table[key]
				method, _, _ := strings.Cut(key, " ")
				declared := registered[key]
				wantDeclared := string(rc.perm)
				if rc.public {
					wantDeclared = "public"
				}
				if declared != wantDeclared {
					t.Errorf("%s declares permission %q, routeTable expects %q", key, declared, wantDeclared)
				}
				for _, c := range callers {
					if rc.ws {
						e.checkLiveAccess(t, c.name, c.token, c.role, rc.perm)
						continue
					}
					req := rc.prepare(e, c.user)
					if req.path == "" {
						req.path = strings.SplitN(key, " ", 2)[1]
					}
					res := e.do(method, req.path, c.token, req.body, req.headers...)
					var ok bool
					var want string
					switch {
					case rc.public:
						ok, want = res.status >= 200 && res.status < 300, "2xx (public)"
					case c.token == "":
						ok, want = res.status == http.StatusUnauthorized, "401"
					case auth.Can(c.role, rc.perm):
						ok, want = res.status >= 200 && res.status < 300, "2xx"
					default:
						ok, want = res.status == http.StatusForbidden, "403"
					}
					if !ok {
						t.Errorf("%s as %s: status %d, want %s; body %s", key, c.name, res.status, want, res.body)
					}
					if res.status >= 400 {
						res.problem(t)
					}
				}
			}
		})
	}
}
