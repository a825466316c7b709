package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/netguard"
)

// Environment is the deployment environment.
type Environment string

// The accepted environments.
const (
	Development Environment = "development"
	Staging     Environment = "staging"
	Production  Environment = "production"
)

// Database dialects returned by Config.Database.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// MinSecretKeyLength is the minimum length of SECRET_KEY.
const MinSecretKeyLength = 32

// Defaults.
const (
	DefaultPort           = 8001
	DefaultDataDir        = "./data"
	DefaultMaxUploadBytes = 100 << 20 // 100 MiB
	DefaultMaxBodyBytes   = 1 << 20   // 1 MiB
	DefaultRunWorkers     = 2
	DefaultRunMemoryMB    = 256
	// DefaultQueryExportRows is the most rows an analytics query export writes.
	DefaultQueryExportRows = 1_000_000
	DefaultRunMaxAttempts  = 3
	DefaultRunLease        = time.Minute
	DefaultCheckpointRows  = 100_000
	DefaultAPIRateLimit    = 600 // requests per minute per user and per IP
	DefaultAccessTokenTTL  = 15 * time.Minute
	DefaultRefreshTokenTTL = 7 * 24 * time.Hour
	DefaultShutdownTimeout = 30 * time.Second
	// DefaultPasswordHashCost is bcrypt's cost for new password hashes (bcrypt.DefaultCost), also
	// the least production accepts.
	DefaultPasswordHashCost = 10
	// DefaultWSMaxConnectionsPerUser caps one user's open live-update
	// WebSockets (GET /api/v1/ws): a browser tab holds one.
	DefaultWSMaxConnectionsPerUser = 20
)

// Postgres holds the individual POSTGRES_* variables. They are used only when
// DATABASE_URL is empty.
type Postgres struct {
	Server   string // POSTGRES_SERVER
	Port     int    // POSTGRES_PORT, default 5432
	User     string // POSTGRES_USER
	Password string // POSTGRES_PASSWORD (secret)
	DB       string // POSTGRES_DB
}

func (p Postgres) set() bool {
	return p.Server != "" || p.User != "" || p.Password != "" || p.DB != ""
}

// Config is the whole validated configuration. It is plain data: build it with
// Load, adjust fields, then call Validate.
type Config struct {
	Port        int      // PORT
	DataDir     string   // DATA_DIR
	DatabaseURL string   // DATABASE_URL (secret: may hold a password)
	Postgres    Postgres // POSTGRES_*
	RedisURL    string   // REDIS_URL (secret: may hold a password)
	SecretKey   string   // SECRET_KEY (secret)
	// EncryptionKey seals saved connectors' secrets (ENCRYPTION_KEY, secret);
	// EncryptionKeyPrevious are keys being rotated out, still readable
	// (ENCRYPTION_KEY_PREVIOUS, comma-separated, secret).
	EncryptionKey         string
	EncryptionKeyPrevious []string
	Environment           Environment // ENVIRONMENT
	PublicURL             string      // PUBLIC_URL; default http://localhost:PORT

	AutoInitDB               bool   // AUTO_INIT_DB
	CreateDevUser            bool   // CREATE_DEV_USER
	AllowDevRoleInProduction bool   // ALLOW_DEV_ROLE_IN_PRODUCTION
	AdminPassword            string // ADMIN_PASSWORD (secret)

	CORSOrigins []string // CORS_ORIGINS
	LogLevel    string   // LOG_LEVEL: debug | info | warn | error
	LogFormat   string   // LOG_FORMAT: json | text

	MaxUploadBytes int64         // MAX_UPLOAD_BYTES
	MaxBodyBytes   int64         // MAX_BODY_BYTES
	FileRoots      []string      // FILE_ROOTS
	RunWorkers     int           // RUN_WORKERS
	RunMaxAttempts int           // RUN_MAX_ATTEMPTS
	RunLease       time.Duration // RUN_LEASE
	CheckpointRows int64         // RUN_CHECKPOINT_ROWS
	// RunMemoryMB is a run's default memory budget, in MiB, for the state of its stateful
	// transforms (RUN_MEMORY_MB); a pipeline's resources.memory_mb overrides it. Beyond it they spill
	// to SpillDir (SPILL_DIR, default DATA_DIR/spill), at most SpillLimitMB per node (SPILL_LIMIT_MB,
	// 0: no cap but the disk's).
	RunMemoryMB  int64
	SpillDir     string
	SpillLimitMB int64
	// QueryExportRows caps the rows an analytics query export writes (QUERY_EXPORT_MAX_ROWS); the
	// file of a longer result is cut there and says so.
	QueryExportRows int64
	APIRateLimit    int           // API_RATE_LIMIT (per minute; 0 disables)
	AccessTokenTTL  time.Duration // ACCESS_TOKEN_TTL
	RefreshTokenTTL time.Duration // REFRESH_TOKEN_TTL
	// PasswordHashCost is the bcrypt cost of the password hashes the server and the CLI make
	// (PASSWORD_HASH_COST); hashes made at another cost still verify.
	PasswordHashCost int
	ShutdownTimeout  time.Duration // SHUTDOWN_TIMEOUT
	// WSMaxConnectionsPerUser caps a user's open live-update WebSockets
	// (WS_MAX_CONNECTIONS_PER_USER).
	WSMaxConnectionsPerUser int

	// AllowedOutbound lists extra hosts or CIDRs the server may dial beyond
	// the outbound guard's defaults (ALLOWED_OUTBOUND_HOSTS, comma-separated).
	// Link-local and cloud-metadata addresses stay refused whatever it says.
	AllowedOutbound []string
	// OutboundPrivate lets HTTP connectors reach loopback and private addresses without listing
	// them (never the link-local and cloud-metadata ones). No environment variable sets it: the
	// command line (run, validate, preview), run by the machine's own user, does unless
	// --deny-private-networks; the server never does.
	OutboundPrivate bool
}

// Default returns the configuration used when no variable is set.
func Default() Config {
	return Config{
		Port:            DefaultPort,
		DataDir:         DefaultDataDir,
		Postgres:        Postgres{Port: 5432},
		Environment:     Development,
		AutoInitDB:      true,
		LogLevel:        "info",
		LogFormat:       "json",
		MaxUploadBytes:  DefaultMaxUploadBytes,
		MaxBodyBytes:    DefaultMaxBodyBytes,
		RunWorkers:      DefaultRunWorkers,
		RunMaxAttempts:  DefaultRunMaxAttempts,
		RunLease:        DefaultRunLease,
		CheckpointRows:  DefaultCheckpointRows,
		RunMemoryMB:     DefaultRunMemoryMB,
		QueryExportRows: DefaultQueryExportRows,
		APIRateLimit:    DefaultAPIRateLimit,
		AccessTokenTTL:  DefaultAccessTokenTTL,
		RefreshTokenTTL: DefaultRefreshTokenTTL,
		ShutdownTimeout: DefaultShutdownTimeout,

		PasswordHashCost: DefaultPasswordHashCost,

		WSMaxConnectionsPerUser: DefaultWSMaxConnectionsPerUser,
	}
}

// Load reads the configuration through env (os.Getenv in main, a map lookup
// in tests). Unset or empty variables keep their defaults. Every malformed
// value is reported at once, each message naming its variable. Load does not
// call Validate.
func Load(env func(string) string) (Config, error) {
	c := Default()
	p := parser{env: env}

	if v := p.str("PORT"); v != "" {
		c.Port = p.int("PORT", v)
	}
	if v := p.str("DATA_DIR"); v != "" {
		c.DataDir = v
	}
	c.DatabaseURL = p.str("DATABASE_URL")
	c.Postgres.Server = p.str("POSTGRES_SERVER")
	if v := p.str("POSTGRES_PORT"); v != "" {
		c.Postgres.Port = p.int("POSTGRES_PORT", v)
	}
	c.Postgres.User = p.str("POSTGRES_USER")
	c.Postgres.Password = env("POSTGRES_PASSWORD") // not trimmed: a password may have spaces
	c.Postgres.DB = p.str("POSTGRES_DB")
	c.RedisURL = p.str("REDIS_URL")
	c.SecretKey = env("SECRET_KEY")
	c.EncryptionKey = strings.TrimSpace(env("ENCRYPTION_KEY"))
	c.EncryptionKeyPrevious = splitList(env("ENCRYPTION_KEY_PREVIOUS"))
	c.AllowedOutbound = splitList(p.str("ALLOWED_OUTBOUND_HOSTS"))
	if v := p.str("ENVIRONMENT"); v != "" {
		c.Environment = Environment(strings.ToLower(v))
	}
	c.PublicURL = p.str("PUBLIC_URL")
	if v := p.str("AUTO_INIT_DB"); v != "" {
		c.AutoInitDB = p.bool("AUTO_INIT_DB", v)
	}
	if v := p.str("CREATE_DEV_USER"); v != "" {
		c.CreateDevUser = p.bool("CREATE_DEV_USER", v)
	}
	if v := p.str("ALLOW_DEV_ROLE_IN_PRODUCTION"); v != "" {
		c.AllowDevRoleInProduction = p.bool("ALLOW_DEV_ROLE_IN_PRODUCTION", v)
	}
	c.AdminPassword = env("ADMIN_PASSWORD")
	c.CORSOrigins = splitList(p.str("CORS_ORIGINS"))
	if v := p.str("LOG_LEVEL"); v != "" {
		c.LogLevel = strings.ToLower(v)
	}
	if v := p.str("LOG_FORMAT"); v != "" {
		c.LogFormat = strings.ToLower(v)
	}
	if v := p.str("MAX_UPLOAD_BYTES"); v != "" {
		c.MaxUploadBytes = p.int64("MAX_UPLOAD_BYTES", v)
	}
	if v := p.str("MAX_BODY_BYTES"); v != "" {
		c.MaxBodyBytes = p.int64("MAX_BODY_BYTES", v)
	}
	c.FileRoots = splitList(p.str("FILE_ROOTS"))
	if v := p.str("RUN_WORKERS"); v != "" {
		c.RunWorkers = p.int("RUN_WORKERS", v)
	}
	if v := p.str("RUN_MEMORY_MB"); v != "" {
		c.RunMemoryMB = p.int64("RUN_MEMORY_MB", v)
	}
	c.SpillDir = p.str("SPILL_DIR")
	if v := p.str("SPILL_LIMIT_MB"); v != "" {
		c.SpillLimitMB = p.int64("SPILL_LIMIT_MB", v)
	}
	if v := p.str("QUERY_EXPORT_MAX_ROWS"); v != "" {
		c.QueryExportRows = p.int64("QUERY_EXPORT_MAX_ROWS", v)
	}
	if v := p.str("RUN_MAX_ATTEMPTS"); v != "" {
		c.RunMaxAttempts = p.int("RUN_MAX_ATTEMPTS", v)
	}
	if v := p.str("RUN_LEASE"); v != "" {
		c.RunLease = p.duration("RUN_LEASE", v)
	}
	if v := p.str("RUN_CHECKPOINT_ROWS"); v != "" {
		c.CheckpointRows = p.int64("RUN_CHECKPOINT_ROWS", v)
	}
	if v := p.str("API_RATE_LIMIT"); v != "" {
		c.APIRateLimit = p.int("API_RATE_LIMIT", v)
	}
	if v := p.str("WS_MAX_CONNECTIONS_PER_USER"); v != "" {
		c.WSMaxConnectionsPerUser = p.int("WS_MAX_CONNECTIONS_PER_USER", v)
	}
	if v := p.str("ACCESS_TOKEN_TTL"); v != "" {
		c.AccessTokenTTL = p.duration("ACCESS_TOKEN_TTL", v)
	}
	if v := p.str("REFRESH_TOKEN_TTL"); v != "" {
		c.RefreshTokenTTL = p.duration("REFRESH_TOKEN_TTL", v)
	}
	if v := p.str("SHUTDOWN_TIMEOUT"); v != "" {
		c.ShutdownTimeout = p.duration("SHUTDOWN_TIMEOUT", v)
	}
	if v := p.str("PASSWORD_HASH_COST"); v != "" {
		c.PasswordHashCost = p.int("PASSWORD_HASH_COST", v)
	}
	if len(p.errs) > 0 {
		return c, errors.Join(p.errs...)
	}
	return c, nil
}

type parser struct {
	env  func(string) string
	errs []error
}

func (p *parser) str(name string) string { return strings.TrimSpace(p.env(name)) }

func (p *parser) fail(name, v, want string) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s, got %q", name, want, v))
}

func (p *parser) int(name, v string) int {
	n, err := strconv.Atoi(v)
	if err != nil {
		p.fail(name, v, "must be a whole number")
	}
	return n
}

func (p *parser) int64(name, v string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		p.fail(name, v, "must be a whole number of bytes")
	}
	return n
}

func (p *parser) bool(name, v string) bool {
	switch strings.ToLower(v) {
	case "1", "t", "true", "yes", "y", "on":
		return true
	case "0", "f", "false", "no", "n", "off":
		return false
	}
	p.fail(name, v, "must be true or false")
	return false
}

func (p *parser) duration(name, v string) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil {
		p.fail(name, v, `must be a duration such as "15m" or "24h"`)
	}
	return d
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// Validate reports every problem at once (joined with errors.Join); each
// message starts with the variable name.
func (c *Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}

	if c.Port < 1 || c.Port > 65535 {
		bad("PORT", "must be between 1 and 65535, got %d", c.Port)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("DATA_DIR", "must not be empty")
	}
	switch c.Environment {
	case Development, Staging, Production:
	default:
		bad("ENVIRONMENT", "must be development, staging or production, got %q", string(c.Environment))
	}

	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		switch {
		case err != nil:
			bad("DATABASE_URL", "is not a valid URL") // the URL may hold a password: not echoed
		case u.Scheme != "postgres" && u.Scheme != "postgresql":
			bad("DATABASE_URL", "scheme must be postgres:// or postgresql://, got %q", u.Scheme)
		case u.Host == "" && u.Query().Get("host") == "":
			bad("DATABASE_URL", "must name a host, as in postgres://user:password@host:5432/db")
		}
	} else if c.Postgres.set() {
		if c.Postgres.Server == "" {
			bad("POSTGRES_SERVER", "is required when any POSTGRES_* variable is set")
		}
		if c.Postgres.User == "" {
			bad("POSTGRES_USER", "is required when any POSTGRES_* variable is set")
		}
		if c.Postgres.DB == "" {
			bad("POSTGRES_DB", "is required when any POSTGRES_* variable is set")
		}
	}
	if c.Postgres.Port < 1 || c.Postgres.Port > 65535 {
		bad("POSTGRES_PORT", "must be between 1 and 65535, got %d", c.Postgres.Port)
	}

	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		switch {
		case err != nil:
			bad("REDIS_URL", "is not a valid URL")
		case u.Scheme != "redis" && u.Scheme != "rediss":
			bad("REDIS_URL", "scheme must be redis:// or rediss://, got %q", u.Scheme)
		case u.Host == "":
			bad("REDIS_URL", "must name a host, as in redis://localhost:6379/0")
		}
	}

	switch {
	case c.SecretKey == "" && c.Environment == Production:
		bad("SECRET_KEY", "is required in production (at least %d characters; generate one with `openssl rand -hex 32`)", MinSecretKeyLength)
	case c.SecretKey != "" && len(c.SecretKey) < MinSecretKeyLength:
		bad("SECRET_KEY", "must be at least %d characters, got %d", MinSecretKeyLength, len(c.SecretKey))
	}

	switch {
	case c.EncryptionKey == "" && c.Environment == Production:
		bad("ENCRYPTION_KEY", "is required in production (at least %d characters; generate one with `openssl rand -hex 32`)", MinSecretKeyLength)
	case c.EncryptionKey != "" && len(c.EncryptionKey) < MinSecretKeyLength:
		bad("ENCRYPTION_KEY", "must be at least %d characters, got %d", MinSecretKeyLength, len(c.EncryptionKey))
	}
	for i, k := range c.EncryptionKeyPrevious {
		if len(k) < MinSecretKeyLength {
			bad("ENCRYPTION_KEY_PREVIOUS", "entry %d must be at least %d characters, got %d", i+1, MinSecretKeyLength, len(k))
		}
	}
	for i, h := range c.AllowedOutbound {
		if _, _, err := netguard.ParseEntry(h); err != nil {
			bad("ALLOWED_OUTBOUND_HOSTS", "entry %d must be a host name, an IP address or a CIDR such as 10.0.0.0/8, got %q", i+1, h)
		}
	}

	if c.CreateDevUser && c.Environment == Production {
		bad("CREATE_DEV_USER", "is refused in production")
	}

	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("PUBLIC_URL", "must be an absolute http(s) URL such as https://aggregator.example.com, got %q", c.PublicURL)
		}
	}

	for i, o := range c.CORSOrigins {
		if o == "*" {
			if c.Environment == Production {
				bad("CORS_ORIGINS", "\"*\" is refused in production; list the allowed origins")
			}
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			bad("CORS_ORIGINS", "entry %d must be an origin such as https://app.example.com, got %q", i+1, o)
		}
	}

	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		bad("LOG_FORMAT", "must be json or text, got %q", c.LogFormat)
	}

	if c.MaxUploadBytes < 1 {
		bad("MAX_UPLOAD_BYTES", "must be positive, got %d", c.MaxUploadBytes)
	}
	if c.MaxBodyBytes < 1024 {
		bad("MAX_BODY_BYTES", "must be at least 1024, got %d", c.MaxBodyBytes)
	}
	for i, r := range c.FileRoots {
		if strings.TrimSpace(r) == "" {
			bad("FILE_ROOTS", "entry %d is empty", i+1)
		}
	}
	if c.RunWorkers < 0 || c.RunWorkers > 256 {
		bad("RUN_WORKERS", "must be between 0 and 256, got %d", c.RunWorkers)
	}
	if c.RunMemoryMB < 1 || c.RunMemoryMB > 1<<20 {
		bad("RUN_MEMORY_MB", "must be between 1 and 1048576 (MiB), got %d", c.RunMemoryMB)
	}
	if c.SpillLimitMB < 0 {
		bad("SPILL_LIMIT_MB", "must be 0 (no cap) or more, got %d", c.SpillLimitMB)
	}
	if c.QueryExportRows < 1 || c.QueryExportRows > 100_000_000 {
		bad("QUERY_EXPORT_MAX_ROWS", "must be between 1 and 100000000, got %d", c.QueryExportRows)
	}
	if c.RunMaxAttempts < 1 || c.RunMaxAttempts > 100 {
		bad("RUN_MAX_ATTEMPTS", "must be between 1 and 100, got %d", c.RunMaxAttempts)
	}
	if c.CheckpointRows < 100 || c.CheckpointRows > 100_000_000 {
		bad("RUN_CHECKPOINT_ROWS", "must be between 100 and 100000000, got %d", c.CheckpointRows)
	}
	if c.RunLease < time.Second || c.RunLease > time.Hour {
		bad("RUN_LEASE", "must be between 1s and 1h, got %s", c.RunLease)
	}
	if c.APIRateLimit < 0 {
		bad("API_RATE_LIMIT", "must be 0 (off) or positive, got %d", c.APIRateLimit)
	}
	if c.WSMaxConnectionsPerUser < 1 || c.WSMaxConnectionsPerUser > 1000 {
		bad("WS_MAX_CONNECTIONS_PER_USER", "must be between 1 and 1000, got %d", c.WSMaxConnectionsPerUser)
	}
	if c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour {
		bad("ACCESS_TOKEN_TTL", "must be between 1m and 24h, got %s", c.AccessTokenTTL)
	}
	if c.RefreshTokenTTL < c.AccessTokenTTL || c.RefreshTokenTTL > 90*24*time.Hour {
		bad("REFRESH_TOKEN_TTL", "must be between ACCESS_TOKEN_TTL and 2160h (90 days), got %s", c.RefreshTokenTTL)
	}
	if c.ShutdownTimeout < time.Second {
		bad("SHUTDOWN_TIMEOUT", "must be at least 1s, got %s", c.ShutdownTimeout)
	}
	switch {
	case c.PasswordHashCost < 4 || c.PasswordHashCost > 16:
		bad("PASSWORD_HASH_COST", "must be between 4 and 16 (bcrypt's cost; each step doubles the work), got %d", c.PasswordHashCost)
	case c.IsProduction() && c.PasswordHashCost < DefaultPasswordHashCost:
		bad("PASSWORD_HASH_COST", "must be at least %d in production, got %d", DefaultPasswordHashCost, c.PasswordHashCost)
	}
	return errors.Join(errs...)
}

// Database says which metadata store to open: PostgreSQL when DATABASE_URL or
// POSTGRES_* is set, otherwise SQLite at DATA_DIR/aggregator.db. For SQLite
// the DSN is a file path.
func (c *Config) Database() (dialect, dsn string) {
	if c.DatabaseURL != "" {
		return DialectPostgres, c.DatabaseURL
	}
	if c.Postgres.set() {
		u := url.URL{
			Scheme: "postgres",
			Host:   net.JoinHostPort(c.Postgres.Server, strconv.Itoa(c.Postgres.Port)),
			Path:   "/" + c.Postgres.DB,
		}
		if c.Postgres.Password != "" {
			u.User = url.UserPassword(c.Postgres.User, c.Postgres.Password)
		} else {
			u.User = url.User(c.Postgres.User)
		}
		return DialectPostgres, u.String()
	}
	return DialectSQLite, filepath.Join(c.DataDir, "aggregator.db")
}

// IsProduction reports whether ENVIRONMENT is production.
func (c *Config) IsProduction() bool { return c.Environment == Production }

// Addr is the listen address for the HTTP server (":PORT").
func (c *Config) Addr() string { return ":" + strconv.Itoa(c.Port) }

// BaseURL is PUBLIC_URL, or http://localhost:PORT when unset.
func (c *Config) BaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	return "http://localhost:" + strconv.Itoa(c.Port)
}

// SpillPath is where runs put the files of the stateful transforms that exceed their memory
// budget: SPILL_DIR, or DATA_DIR/spill. Each run makes its own directory in it and removes it.
func (c *Config) SpillPath() string {
	if c.SpillDir != "" {
		return c.SpillDir
	}
	return filepath.Join(c.DataDir, "spill")
}

// UploadDir is where uploaded files are stored: DATA_DIR/uploads.
func (c *Config) UploadDir() string { return filepath.Join(c.DataDir, "uploads") }

// SecretFile is where the development SECRET_KEY is kept: DATA_DIR/secret_key.
func (c *Config) SecretFile() string { return filepath.Join(c.DataDir, "secret_key") }

// EncryptionKeyFile is where the development ENCRYPTION_KEY is kept:
// DATA_DIR/encryption_key.
func (c *Config) EncryptionKeyFile() string { return filepath.Join(c.DataDir, "encryption_key") }

// OutputDir is where the server's file destinations write (relative destination paths resolve
// there) and where run outputs are downloaded from: DATA_DIR/files.
func (c *Config) OutputDir() string { return filepath.Join(c.DataDir, "files") }

// Roots returns FILE_ROOTS, or the default roots when unset: DATA_DIR/files,
// plus ./examples outside production and staging so that the shipped
// examples run through the API.
func (c *Config) Roots() []string {
	if len(c.FileRoots) > 0 {
		return append([]string(nil), c.FileRoots...)
	}
	roots := []string{c.OutputDir()}
	if c.Environment == Development {
		roots = append(roots, "examples")
	}
	return roots
}

// SlogLevel converts LOG_LEVEL to a slog.Level (info when unrecognised).
func (c *Config) SlogLevel() slog.Level {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
