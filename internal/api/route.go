package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/dataaggregator/aggregator/internal/auth"
)

// route declares one API operation: where it lives, what permission it needs
// and what it audits. Routes are listed in registerRoutes (routes.go).
type route struct {
	Method  string
	Path    string
	ID      string // operation id, also the audit action ("users.create")
	Summary string
	Tag     string
	// Perm is the permission the caller's role must hold. Exactly one of Perm
	// and Public is set.
	Perm   auth.Permission
	Public bool
	// Status is the success status (200 when zero).
	Status int
	// Action names the audit action of a state-changing route ("user.create");
	// the operation id when empty.
	Action string
	// Target is the audit target type ("user", "api_token", ...).
	Target string
	// MaxBody overrides the server's request body limit (uploads).
	MaxBody int64
	// Description is the long text of the OpenAPI operation.
	Description string
	// WhilePasswordChange allows the route to a user who must change a
	// temporary password first (reading the own profile, changing it);
	// every other authenticated route refuses them.
	WhilePasswordChange bool
	// Audit records a read route in the audit log too (downloads of run
	// outputs); routes that change state are always audited.
	Audit bool
	// InBandAuth: the caller authenticates inside the protocol, not with the
	// Authorization header (the WebSocket's auth frame: browsers cannot set
	// headers on a WebSocket). The handler then checks Perm itself.
	InBandAuth bool
	// OptionalBody: the route takes an optional body of any type, read (at most this many bytes,
	// more is dropped) before the handler and given to it by optionalBody(ctx); huma does not read
	// or validate it. For the webhook, whose callers send what they send.
	OptionalBody int64
}

type optionalBodyKey struct{}

// optionalBody is the body of a route with OptionalBody: nil when there was none or it was longer
// than the route allows.
func optionalBody(ctx context.Context) []byte {
	b, _ := ctx.Value(optionalBodyKey{}).([]byte)
	return b
}

// handle registers one route with huma: authentication, RBAC, the per-user
// rate limit and the audit bookkeeping run before the handler; the handler's
// error goes through the funnel.
func handle[I, O any](s *Server, api huma.API, r route, h func(context.Context, *I) (*O, error)) {
	if (r.Perm == "") == !r.Public {
		s.regErrs = append(s.regErrs, fmt.Errorf("%s %s: declare exactly one of Perm or Public", r.Method, r.Path))
		return
	}
	if r.Perm != "" && !r.Perm.Valid() {
		s.regErrs = append(s.regErrs, fmt.Errorf("%s %s: unknown permission %q", r.Method, r.Path, r.Perm))
		return
	}
	maxBody := r.MaxBody
	if maxBody == 0 {
		maxBody = s.maxBody
	}
	desc := r.Description
	perm := "public"
	if !r.Public {
		perm = string(r.Perm)
		desc = strings.TrimSpace(desc + "\n\nRequires permission `" + perm + "`.")
	}
	op := huma.Operation{
		OperationID:   r.ID,
		Method:        r.Method,
		Path:          r.Path,
		Summary:       r.Summary,
		Description:   desc,
		Tags:          []string{r.Tag},
		DefaultStatus: r.Status,
		MaxBodyBytes:  maxBody,
		Metadata:      map[string]any{"permission": perm},
		Extensions:    map[string]any{"x-permission": perm},
		Middlewares:   huma.Middlewares{s.routeMiddleware(r)},
		Errors:        []int{http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusTooManyRequests},
	}
	if !r.Public && !r.InBandAuth {
		op.Security = []map[string][]string{{"bearer": {}}}
		op.Errors = append(op.Errors, http.StatusUnauthorized, http.StatusForbidden)
	}
	huma.Register(api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, s.funnel(ctx, err)
		}
		return out, nil
	})
	s.routes = append(s.routes, RouteInfo{Method: r.Method, Path: r.Path, Operation: r.ID, Permission: r.Perm, Public: r.Public})
}

// principal is the authenticated caller.
type principal struct {
	UserID   string
	Username string
	Role     auth.Role
	// APITokenID is set when the caller used an API token.
	APITokenID string
	// MustChangePassword: the user signed in with a temporary password.
	MustChangePassword bool
}

type principalKey struct{}

// principalFrom returns the caller; routes that are not Public always have one.
func principalFrom(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

// routeMiddleware authenticates, authorises and rate-limits one route.
func (s *Server) routeMiddleware(r route) func(huma.Context, func(huma.Context)) {
	auditable := r.Audit || (r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions)
	return func(ctx huma.Context, next func(huma.Context)) {
		ri := infoFrom(ctx.Context())
		action := r.Action
		if action == "" {
			action = r.ID
		}
		ri.setRoute(r.Method+" "+r.Path, action, auditable)
		if r.Target != "" {
			ri.setTarget(r.Target, ctx.Param("id"))
		}
		if r.OptionalBody > 0 {
			b, err := io.ReadAll(io.LimitReader(ctx.BodyReader(), r.OptionalBody+1))
			if err == nil && int64(len(b)) <= r.OptionalBody {
				ctx = huma.WithValue(ctx, optionalBodyKey{}, b)
			}
		}
		if r.Public || r.InBandAuth {
			next(ctx)
			return
		}
		p, err := s.authenticate(ctx.Context(), ctx.Header("Authorization"))
		if err != nil {
			ri.deny(err.Error())
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="aggregator"`)
			_ = huma.WriteErr(s.api, ctx, http.StatusUnauthorized, err.Error())
			return
		}
		ri.setActor(p.UserID, p.Username)
		if p.MustChangePassword && !r.WhilePasswordChange {
			ri.deny("password change required")
			_ = huma.WriteErr(s.api, ctx, http.StatusForbidden,
				"password change required: this account has a temporary password; change it at POST /api/v1/auth/password first")
			return
		}
		if !auth.Can(p.Role, r.Perm) {
			ri.deny("role " + string(p.Role) + " lacks " + string(r.Perm))
			_ = huma.WriteErr(s.api, ctx, http.StatusForbidden,
				fmt.Sprintf("role %s lacks permission %s", p.Role, r.Perm))
			return
		}
		if s.userLimiter != nil {
			d, err := s.userLimiter.Allow(ctx.Context(), p.UserID)
			switch {
			case err != nil:
				s.log.WarnContext(ctx.Context(), "rate limiter unavailable; request allowed", "error", err)
			case !d.Allowed:
				wait := retrySeconds(d.Reset)
				ctx.SetHeader("Retry-After", strconv.Itoa(wait))
				ctx.SetHeader("RateLimit-Limit", strconv.Itoa(d.Limit))
				ctx.SetHeader("RateLimit-Remaining", "0")
				ctx.SetHeader("RateLimit-Reset", strconv.Itoa(wait))
				ri.setDetail("rate limited")
				_ = huma.WriteErr(s.api, ctx, http.StatusTooManyRequests,
					fmt.Sprintf("too many requests for this user; retry after %ds", wait))
				return
			}
		}
		next(huma.WithValue(ctx, principalKey{}, p))
	}
}
