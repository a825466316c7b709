package api

import (
	"time"

	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dataaggregator/aggregator/internal/alerts"
	"github.com/dataaggregator/aggregator/internal/auth"
	analytics "github.com/dataaggregator/aggregator/internal/metrics"
	"github.com/dataaggregator/aggregator/internal/queries"
	"github.com/dataaggregator/aggregator/internal/ratelimit"
	"github.com/dataaggregator/aggregator/internal/retention"
	"github.com/dataaggregator/aggregator/internal/secretref"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Deps are the server's collaborators, built by internal/app. Issue-specific
// services (pipelines, runs, connectors, files, ...) are added here as fields
// when their routes are added.
type Deps struct {
	Logger *slog.Logger
	Store  *store.Store
	Auth   *auth.Service
	// Metrics receives the HTTP and runtime collectors and is served at
	// /metrics. Required.
	Metrics *prometheus.Registry

	// IPLimiter limits /api/ requests per client IP, UserLimiter per
	// authenticated user. nil disables that limit.
	IPLimiter   ratelimit.Limiter
	UserLimiter ratelimit.Limiter
	// TriggerLimiter counts wrong webhook tokens per client IP and pipeline and locks that pair
	// out (POST /api/v1/pipelines/{id}/trigger); an in-process one with auth.DefaultWebhookPolicy
	// when nil.
	TriggerLimiter auth.LoginLimiter

	// CORSOrigins are the origins allowed to call the API from a browser.
	CORSOrigins []string
	// PublicURL is the address users reach the server at (PUBLIC_URL): an
	// https URL makes the session cookie Secure, and its origin counts as
	// this server's own on the cookie path.
	PublicURL string
	// MaxBodyBytes limits JSON request bodies (default 1 MiB).
	MaxBodyBytes int64
	// Version is reported by the OpenAPI document and /healthz.
	Version string
	// Commit and BuildDate are stamped into the binary at release (-ldflags);
	// /healthz reports them.
	Commit, BuildDate string
	// UI, when set, serves everything outside /api/, /docs, /metrics and the
	// health checks (the embedded web app).
	UI http.Handler

	// Data holds the services behind the pipelines, runs, transformations,
	// connectors, files and mappings routes (data.go). Required.
	Data DataDeps
	// Live serves GET /api/v1/ws (ws.go).
	Live LiveDeps
	// Retention holds the retention settings and runs the clean-up (admin.go). Required.
	Retention *retention.Service
	// SecretRefs holds the secret manager settings (secretrefs.go). Required.
	SecretRefs *secretref.Service
	// WorkerLease is how old a worker's heartbeat may be for GET /api/v1/workers to call it alive
	// (RUN_LEASE; default 1m).
	WorkerLease time.Duration
	// Alerts holds alert rules and channels and raises alerts (alerts.go). Required.
	Alerts *alerts.Service
	// Analytics answers the analytics queries over the metrics history (analytics.go). Required.
	Analytics *analytics.Service
	// Queries runs and saves analytics queries (queries.go). Required.
	Queries *queries.Service
	// System serves the System logs and System pages (system.go).
	System SystemDeps
}

// Server is the HTTP interface. Build it with New; it is safe for concurrent use.
type Server struct {
	log         *slog.Logger
	store       *store.Store
	auth        *auth.Service
	ipLimiter   ratelimit.Limiter
	userLimiter ratelimit.Limiter
	// triggerLimiter locks out an address that sends wrong webhook tokens for a pipeline.
	triggerLimiter auth.LoginLimiter
	maxBody        int64
	publicURL      string
	metrics        *metrics
	data           DataDeps
	workerLease    time.Duration
	live           LiveDeps
	retention      *retention.Service
	alerts         *alerts.Service
	analytics      *analytics.Service
	queries        *queries.Service
	secretRefs     *secretref.Service
	wsOrigins      []string
	build          buildInfo
	system         SystemDeps

	api     huma.API
	handler http.Handler
	routes  []RouteInfo
	regErrs []error
}

// RouteInfo describes one registered API route.
type RouteInfo struct {
	Method     string
	Path       string
	Operation  string
	Permission auth.Permission // empty for public routes
	Public     bool
}

// New builds the server and registers every route.
func New(d Deps) (*Server, error) {
	switch {
	case d.Store == nil:
		return nil, errors.New("api: Deps.Store is required")
	case d.Auth == nil:
		return nil, errors.New("api: Deps.Auth is required")
	case d.Metrics == nil:
		return nil, errors.New("api: Deps.Metrics is required")
	case d.Data.Runs == nil:
		return nil, errors.New("api: Deps.Data.Runs is required")
	case d.Data.Pipelines == nil:
		return nil, errors.New("api: Deps.Data.Pipelines is required")
	case d.Retention == nil:
		return nil, errors.New("api: Deps.Retention is required")
	case d.Queries == nil:
		return nil, errors.New("api: Deps.Queries is required")
	case d.Alerts == nil:
		return nil, errors.New("api: Deps.Alerts is required")
	case d.SecretRefs == nil:
		return nil, errors.New("api: Deps.SecretRefs is required")
	case d.Analytics == nil:
		return nil, errors.New("api: Deps.Analytics is required")
	}
	s := &Server{
		log:         d.Logger,
		store:       d.Store,
		auth:        d.Auth,
		ipLimiter:   d.IPLimiter,
		userLimiter: d.UserLimiter,
		maxBody:     d.MaxBodyBytes,
		publicURL:   d.PublicURL,
		data:        d.Data,
		workerLease: d.WorkerLease,
		live:        d.Live,
		retention:   d.Retention,
		alerts:      d.Alerts,
		analytics:   d.Analytics,
		queries:     d.Queries,
		secretRefs:  d.SecretRefs,
		wsOrigins:   wsOriginPatterns(d.CORSOrigins),
		build:       buildInfo{Version: d.Version, Commit: d.Commit, Date: d.BuildDate},
		system:      d.System,
	}
	if s.build.Version == "" {
		s.build.Version = "dev"
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.triggerLimiter = d.TriggerLimiter
	if s.triggerLimiter == nil {
		s.triggerLimiter = auth.NewMemoryLimiter(auth.DefaultWebhookPolicy(), nil)
	}
	if s.workerLease <= 0 {
		s.workerLease = time.Minute
	}
	if s.maxBody <= 0 {
		s.maxBody = 1 << 20
	}
	m, err := newMetrics(d.Metrics)
	if err != nil {
		return nil, fmt.Errorf("api: metrics: %w", err)
	}
	s.metrics = m

	mux := http.NewServeMux()
	s.api = humago.New(mux, s.humaConfig(d.Version))
	s.registerRoutes(s.api)
	if err := errors.Join(s.regErrs...); err != nil {
		return nil, fmt.Errorf("api: routes: %w", err)
	}

	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Metrics, promhttp.HandlerOpts{}))
	mux.Handle("/docs", docsHandler())
	mux.Handle("/docs/", docsHandler())
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "no API route for "+r.Method+" "+r.URL.Path+"; see /docs", nil)
	})
	if d.UI != nil {
		mux.Handle("/", d.UI)
	} else {
		// Without a built web UI the root leads to the interactive API docs.
		mux.Handle("GET /{$}", http.RedirectHandler("/docs", http.StatusFound))
	}

	s.handler = chain(mux,
		requestID,
		s.recoverer,
		s.observe,
		securityHeaders,
		cors(d.CORSOrigins),
		s.ipRateLimit,
		s.audit,
	)
	return s, nil
}

// Handler is the root http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// OpenAPI is the generated document (for tests and tooling).
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// Routes lists every registered API route in registration order.
func (s *Server) Routes() []RouteInfo { return append([]RouteInfo(nil), s.routes...) }

func (s *Server) humaConfig(version string) huma.Config {
	if version == "" {
		version = "dev"
	}
	cfg := huma.DefaultConfig("Data Aggregator API", version)
	cfg.Info.Description = "REST API of the Data Aggregator. Authenticate with `Authorization: Bearer <token>` " +
		"(an access token from POST /api/v1/auth/login, or an API token). Errors are RFC 9457 problem+json."
	cfg.OpenAPIPath = "/api/v1/openapi"
	cfg.DocsPath = "" // served by docsHandler with an embedded Swagger UI
	cfg.SchemasPath = ""
	cfg.CreateHooks = nil // no $schema links in responses
	cfg.RejectUnknownQueryParameters = true
	cfg.Transformers = append(cfg.Transformers, scrubProblem)
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "Access JWT or API token"},
	}
	return cfg
}
