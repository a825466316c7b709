package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/dataaggregator/aggregator/internal/alerts"
	"github.com/dataaggregator/aggregator/internal/api"
	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/config"
	"github.com/dataaggregator/aggregator/internal/connections"
	"github.com/dataaggregator/aggregator/internal/live"
	"github.com/dataaggregator/aggregator/internal/logstore"
	"github.com/dataaggregator/aggregator/internal/metrics"
	"github.com/dataaggregator/aggregator/internal/pipelines"
	"github.com/dataaggregator/aggregator/internal/queries"
	"github.com/dataaggregator/aggregator/internal/ratelimit"
	"github.com/dataaggregator/aggregator/internal/retention"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/schedules"
	"github.com/dataaggregator/aggregator/internal/secretref"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Options are what the caller (cmd/aggregator) adds to the configuration.
type Options struct {
	// Version of the binary, shown in the OpenAPI document and /healthz.
	Version string
	// Commit and BuildDate of a release build, shown by /healthz.
	Commit, BuildDate string
	// Logger; NewLogger(cfg, os.Stderr) when nil.
	Logger *slog.Logger
	// Console receives the one-time bootstrap banner (the generated admin
	// password and the login URL); os.Stderr when nil.
	Console io.Writer
	// Components are the registries, connector environment, logger and clock
	// shared with the CLI; NewComponents(cfg, Logger) when nil.
	Components *Components
	// UI serves the web app at /; none when nil.
	UI http.Handler
	// Listener overrides listening on cfg.Addr() (tests pass a 127.0.0.1:0
	// listener).
	Listener net.Listener
	// RedisKeyPrefix namespaces every Redis key ("aggregator:" when empty),
	// so several deployments or test runs can share one Redis.
	RedisKeyPrefix string
	// Worker, when set, builds a worker process (`aggregator worker`): the
	// run queue's workers and periodic tasks, without the HTTP API.
	Worker *WorkerOptions
	// AlertSMTPTLS is the TLS configuration alert emails are sent with (nil:
	// the system's roots); tests trust their SMTP server's certificate.
	AlertSMTPTLS *tls.Config
	// AlertRetryBase is the wait after an alert delivery's first failed
	// attempt, doubling after each (default 10s).
	AlertRetryBase time.Duration
}

// App is the running platform. Build it with New, then Run it.
type App struct {
	cfg       config.Config
	log       *slog.Logger
	store     *store.Store
	auth      *auth.Service
	redis     *redis.Client
	server    *api.Server
	listener  net.Listener
	comp      *Components
	runs      *runs.Service
	pipelines *pipelines.Service
	queue     *runs.River
	version   string
	worker    *WorkerOptions
	// listenPool gives River its LISTEN connections on PostgreSQL.
	listenPool *pgxpool.Pool
	// ownerLock is the SQLite queue owner's lock file, held until Close.
	ownerLock *os.File
	// schedules fires pipeline schedules (Run every minute from a periodic job).
	schedules *schedules.Service
	// hub fans run events out to the live-update WebSockets.
	hub *live.Hub
	// events carries run events between the processes (events.go); closeEvents stops it.
	events      runs.Bus
	eventsKind  string
	closeEvents func()
	redisPrefix string
	// connections owns saved connectors (secrets sealed with the keyring).
	connections *connections.Service
	// secretRefs keeps the secret manager settings and resolves secret references.
	secretRefs *secretref.Service
	// retention holds the retention settings and runs the clean-up.
	retention *retention.Service
	// recorder records the metrics of the runs this process executes; analytics answers the
	// analytics queries over them.
	recorder  *metrics.Recorder
	analytics *metrics.Service
	// alerts raises alerts and sends their notifications.
	alerts           *alerts.Service
	alertSMTPTLS     *tls.Config
	alertRetryBase   time.Duration
	alertSendTimeout time.Duration
	// logs keeps the process's log records in the store (System logs page).
	logs      *logstore.Writer
	startedAt time.Time
}

// New builds every service. On error everything built so far is released.
func New(ctx context.Context, cfg config.Config, opts Options) (_ *App, err error) {
	log := opts.Logger
	if log == nil {
		log = NewLogger(cfg, os.Stderr)
	}
	console := opts.Console
	if console == nil {
		console = os.Stderr
	}
	// Every record is also kept in the system log store (docs/system-logs.md): a bounded,
	// batched, asynchronous writer that starts writing once the store is open.
	logs := logstore.NewWriter(logstore.Options{Logger: log})
	log = slog.New(logstore.NewHandler(log.Handler(), logs, api.RequestUser))
	a := &App{cfg: cfg, log: log, comp: opts.Components, version: opts.Version, worker: opts.Worker,
		alertSMTPTLS: opts.AlertSMTPTLS, alertRetryBase: opts.AlertRetryBase, logs: logs, startedAt: time.Now()}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.comp == nil {
		if a.comp, err = NewComponents(cfg, log); err != nil {
			return nil, err
		}
	}

	if created, err := config.EnsureSecret(&a.cfg); err != nil {
		return nil, err
	} else if created {
		log.InfoContext(ctx, "generated SECRET_KEY for development", "file", a.cfg.SecretFile())
	}

	keys, err := Keyring(ctx, &a.cfg, log)
	if err != nil {
		return nil, err
	}

	log.DebugContext(ctx, "configuration", "config", a.cfg) // Config redacts its secrets

	if a.store, err = OpenStore(ctx, a.cfg, log); err != nil {
		return nil, err
	}
	if err := PrepareSchema(ctx, a.cfg, a.store, log); err != nil {
		return nil, err
	}
	a.logs.Start(a.store)

	if a.worker != nil {
		// A worker process: the run queue, its workers and periodic tasks; events go on the bus the
		// API nodes listen to.
		a.redisPrefix = opts.RedisKeyPrefix
		if a.redisPrefix == "" {
			a.redisPrefix = "aggregator:"
		}
		if a.cfg.RedisURL != "" {
			if a.redis, err = connectRedis(ctx, a.cfg.RedisURL); err != nil {
				return nil, err
			}
		}
		if err := a.buildEvents(ctx); err != nil {
			return nil, fmt.Errorf("run events: %w", err)
		}
		if a.connections, a.secretRefs, err = newConnections(ctx, a.store, a.comp.Connectors, keys, a.comp.Env, log); err != nil {
			return nil, err
		}
		if err := a.buildRuns(); err != nil {
			return nil, fmt.Errorf("runs: %w", err)
		}
		if a.retention, err = retention.New(retention.Options{Store: a.store, UploadDir: a.cfg.UploadDir(),
			OutputDir: a.cfg.OutputDir(), Logger: log.With("component", "retention")}); err != nil {
			return nil, err
		}
		if err := a.buildAlerts(keys); err != nil {
			return nil, fmt.Errorf("alerts: %w", err)
		}
		if err := a.buildQueue(ctx, nil); err != nil {
			return nil, fmt.Errorf("run queue: %w", err)
		}
		return a, nil
	}

	prefix := opts.RedisKeyPrefix
	if prefix == "" {
		prefix = "aggregator:"
	}
	accountLimiter, ipLoginLimiter, webhookLimiter := auth.LoginLimiter(nil), auth.LoginLimiter(nil), auth.LoginLimiter(nil)
	var ipLimiter, userLimiter ratelimit.Limiter
	if a.cfg.RedisURL != "" {
		if a.redis, err = connectRedis(ctx, a.cfg.RedisURL); err != nil {
			return nil, err
		}
		if accountLimiter, err = redisLockout(a.redis, prefix+"login:account:", auth.DefaultAccountPolicy()); err != nil {
			return nil, err
		}
		if ipLoginLimiter, err = redisLockout(a.redis, prefix+"login:ip:", auth.DefaultIPPolicy()); err != nil {
			return nil, err
		}
		if webhookLimiter, err = redisLockout(a.redis, prefix+"webhook:", auth.DefaultWebhookPolicy()); err != nil {
			return nil, err
		}
	}
	if a.cfg.APIRateLimit > 0 {
		rule := ratelimit.Rule{Limit: a.cfg.APIRateLimit, Window: time.Minute}
		if a.redis != nil {
			if ipLimiter, err = ratelimit.NewRedis(a.redis, prefix+"rl:ip:", rule); err != nil {
				return nil, err
			}
			if userLimiter, err = ratelimit.NewRedis(a.redis, prefix+"rl:user:", rule); err != nil {
				return nil, err
			}
		} else {
			if ipLimiter, err = ratelimit.NewMemory(rule, nil); err != nil {
				return nil, err
			}
			if userLimiter, err = ratelimit.NewMemory(rule, nil); err != nil {
				return nil, err
			}
		}
	}

	a.auth, err = auth.NewService(auth.Options{
		Store: a.store, Secret: a.cfg.SecretKey, Logger: log.With("component", "auth"),
		AccessTTL: a.cfg.AccessTokenTTL, RefreshTTL: a.cfg.RefreshTokenTTL, BcryptCost: a.cfg.PasswordHashCost,
		Production: a.cfg.IsProduction(), AllowDevRoleInProduction: a.cfg.AllowDevRoleInProduction,
		AccountLimiter: accountLimiter, IPLimiter: ipLoginLimiter,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if err := a.bootstrapUsers(ctx, console); err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewDBStatsCollector(a.store.DB(), "metadata")); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if a.connections, a.secretRefs, err = newConnections(ctx, a.store, a.comp.Connectors, keys, a.comp.Env, log); err != nil {
		return nil, err
	}
	a.redisPrefix = prefix
	if err := a.buildEvents(ctx); err != nil {
		return nil, err
	}
	if err := registerEventMetrics(reg, a.events); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if err := a.buildRuns(); err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	if a.retention, err = retention.New(retention.Options{Store: a.store, UploadDir: a.cfg.UploadDir(),
		OutputDir: a.cfg.OutputDir(), Logger: log.With("component", "retention")}); err != nil {
		return nil, err
	}
	if err := a.buildAlerts(keys); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	if err := a.buildQueue(ctx, reg); err != nil {
		return nil, fmt.Errorf("run queue: %w", err)
	}
	a.server, err = api.New(api.Deps{
		Logger: log.With("component", "api"), Store: a.store, Auth: a.auth, Metrics: reg,
		IPLimiter: ipLimiter, UserLimiter: userLimiter, TriggerLimiter: webhookLimiter,
		CORSOrigins: a.cfg.CORSOrigins, PublicURL: a.cfg.PublicURL, MaxBodyBytes: a.cfg.MaxBodyBytes,
		Version: opts.Version, Commit: opts.Commit, BuildDate: opts.BuildDate, UI: opts.UI, Data: a.dataDeps(),
		Live: api.LiveDeps{Hub: a.hub}, Retention: a.retention, SecretRefs: a.secretRefs, WorkerLease: a.cfg.RunLease, Alerts: a.alerts,
		Analytics: a.analytics,
		Queries:   queries.New(a.store, a.connections, queries.Limits{ExportRows: int(a.cfg.QueryExportRows)}),
		System:    a.systemDeps(),
	})
	if err != nil {
		return nil, err
	}

	a.listener = opts.Listener
	if a.listener == nil {
		if a.listener, err = net.Listen("tcp", a.cfg.Addr()); err != nil {
			return nil, fmt.Errorf("PORT: listen on %s: %w", a.cfg.Addr(), err)
		}
	}
	return a, nil
}

// OpenStore opens the metadata store the configuration names (it does not
// migrate).
func OpenStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.Store, error) {
	dialect, dsn := cfg.Database()
	st, err := store.Open(ctx, store.Options{Dialect: store.Dialect(dialect), DSN: dsn, Logger: log})
	if err != nil {
		if dialect == config.DialectPostgres {
			return nil, fmt.Errorf("metadata store (DATABASE_URL / POSTGRES_*): %w", err)
		}
		return nil, fmt.Errorf("metadata store (DATA_DIR=%s): %w", cfg.DataDir, err)
	}
	return st, nil
}

// PrepareSchema migrates when AUTO_INIT_DB is true; otherwise it refuses a
// schema with pending migrations and says how to apply them.
func PrepareSchema(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger) error {
	if cfg.AutoInitDB {
		applied, err := st.Migrate(ctx)
		if err != nil {
			return err
		}
		if len(applied) > 0 {
			log.InfoContext(ctx, "database schema migrated", "applied", applied)
		}
		return nil
	}
	if err := st.CheckSchema(ctx); err != nil {
		if errors.Is(err, store.ErrPendingMigrations) {
			return fmt.Errorf("AUTO_INIT_DB=false and %w", err)
		}
		return err
	}
	return nil
}

func connectRedis(ctx context.Context, url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	c := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("REDIS_URL: cannot reach Redis at %s: %w", opt.Addr, err)
	}
	return c, nil
}

func redisLockout(c *redis.Client, prefix string, p auth.LimiterPolicy) (auth.LoginLimiter, error) {
	return ratelimit.NewRedisLockout(c, prefix, ratelimit.LockoutPolicy{MaxFailures: p.MaxFailures, Window: p.Window, Lockout: p.Lockout})
}

// bootstrapUsers creates the first admin (and the developer user when asked)
// and prints a generated password once, with the login URL.
func (a *App) bootstrapUsers(ctx context.Context, console io.Writer) error {
	b, err := a.auth.EnsureAdmin(ctx, a.cfg.AdminPassword)
	if err != nil {
		return err
	}
	if b.Created {
		a.log.InfoContext(ctx, "admin user created", "username", b.Username, "password_generated", b.Password != "")
		printBanner(console, "Admin user created", b, a.cfg.BaseURL())
	}
	if a.cfg.CreateDevUser {
		d, err := a.auth.EnsureDevUser(ctx)
		if err != nil {
			return err
		}
		if d.Created {
			a.log.InfoContext(ctx, "developer user created", "username", d.Username)
			printBanner(console, "Developer user created (CREATE_DEV_USER=true)", d, a.cfg.BaseURL())
		}
	}
	return nil
}

func printBanner(w io.Writer, title string, b auth.Bootstrap, baseURL string) {
	pw := b.Password
	if pw == "" {
		pw = "(the one you set in ADMIN_PASSWORD)"
	}
	fmt.Fprintf(w, `
================================================================
 %s
   username: %s
   password: %s
 Sign in at %s/
   (API docs at /docs; or POST /api/v1/auth/login with {"login", "password"})
 This password is shown once; change it after signing in.
================================================================

`, title, b.Username, pw, baseURL)
}

// Handler is the HTTP handler (for tests that drive the app in process).
func (a *App) Handler() http.Handler { return a.server.Handler() }

// Addr is the address the app listens on.
func (a *App) Addr() net.Addr { return a.listener.Addr() }

// Components are the registries, connector environment, logger and clock
// the app was built with.
func (a *App) Components() *Components { return a.comp }

// Run serves until ctx is cancelled, then shuts down gracefully (see
// serveHTTP) and releases every resource. It returns nil after a clean
// shutdown.
func (a *App) Run(ctx context.Context) error {
	defer a.Close()
	if a.worker != nil {
		o := a.queue.Options()
		a.log.InfoContext(ctx, "worker started", "worker_id", o.WorkerID, "queues", o.Queues, "concurrency", o.Workers,
			"database", a.store.Dialect())
		a.startRuns(ctx)()
		a.log.Info("worker stopped", "worker_id", o.WorkerID)
		return nil
	}
	a.log.InfoContext(ctx, "serving", "addr", a.listener.Addr().String(), "url", a.cfg.BaseURL()+"/",
		"database", a.store.Dialect(), "environment", a.cfg.Environment, "redis", a.redis != nil, "events", a.eventsKind)
	waitRuns := a.startRuns(ctx)
	defer waitRuns() // before Close: interrupted runs are requeued in the store
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		_ = a.hub.Run(ctx) // returns nil when ctx is done, after closing every live connection
	}()
	defer func() { <-hubDone }()
	alertsDone := make(chan struct{})
	go func() {
		defer close(alertsDone)
		a.alerts.Watch(ctx, a.events) // alert rules on run ends, until ctx is done
	}()
	defer func() { <-alertsDone }()
	err := serveHTTP(ctx, a.listener, a.server.Handler(), a.cfg.ShutdownTimeout, func(drainErr error) {
		if drainErr != nil {
			a.log.Warn("shutdown: drain timed out; closing connections", "timeout", a.cfg.ShutdownTimeout)
		} else {
			a.log.Info("shutdown: drained")
		}
	})
	a.listener = nil // closed by the server
	return err
}

// Close releases what New built. Safe to call more than once.
func (a *App) Close() {
	if a.listener != nil {
		_ = a.listener.Close()
		a.listener = nil
	}
	if a.closeEvents != nil { // before Redis and the store: it flushes the last events
		a.closeEvents()
		a.closeEvents = nil
	}
	if a.logs != nil && a.store != nil { // before the store: it writes the last records
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = a.logs.Close(ctx)
		cancel()
	}
	if a.redis != nil {
		_ = a.redis.Close()
		a.redis = nil
	}
	if a.listenPool != nil {
		a.listenPool.Close()
		a.listenPool = nil
	}
	if a.store != nil {
		_ = a.store.Close()
		a.store = nil
	}
	if a.ownerLock != nil {
		_ = a.ownerLock.Close() // releases the lock
		a.ownerLock = nil
	}
}

// systemDeps are what the System pages need from the process.
func (a *App) systemDeps() api.SystemDeps {
	d := api.SystemDeps{LogStats: a.logs.Stats, DataDir: a.cfg.DataDir, StartedAt: a.startedAt}
	if a.redis != nil {
		r := a.redis
		d.Redis = func(ctx context.Context) error { return r.Ping(ctx).Err() }
	}
	return d
}
