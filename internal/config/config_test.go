package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

const goodSecret = "0123456789abcdef0123456789abcdef"

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(envFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Default(), c); diff != "" {
		t.Fatalf("Load(empty) differs from Default (-want +got):\n%s", diff)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	dialect, dsn := c.Database()
	if dialect != DialectSQLite || dsn != filepath.Join("data", "aggregator.db") {
		t.Fatalf("Database() = %s %s", dialect, dsn)
	}
	if c.Addr() != ":8001" || c.BaseURL() != "http://localhost:8001" || c.UploadDir() != filepath.Join("data", "uploads") {
		t.Fatalf("derived values: %s %s %s", c.Addr(), c.BaseURL(), c.UploadDir())
	}
	if got := c.Roots(); !cmp.Equal(got, []string{filepath.Join("data", "files"), "examples"}) {
		t.Fatalf("Roots() = %v", got)
	}
}

func TestLoadParsesEveryVariable(t *testing.T) {
	t.Parallel()
	c, err := Load(envFrom(map[string]string{
		"PORT": " 9000 ", "DATA_DIR": "/var/lib/agg", "REDIS_URL": "redis://localhost:6379/1",
		"SECRET_KEY": goodSecret, "ENVIRONMENT": "Production", "PUBLIC_URL": "https://agg.example.com/",
		"AUTO_INIT_DB": "false", "CREATE_DEV_USER": "no", "ALLOW_DEV_ROLE_IN_PRODUCTION": "yes",
		"ADMIN_PASSWORD": " spaced secret ", "CORS_ORIGINS": "https://a.example.com, https://b.example.com,",
		"LOG_LEVEL": "DEBUG", "LOG_FORMAT": "text", "MAX_UPLOAD_BYTES": "1048576", "MAX_BODY_BYTES": "2048",
		"FILE_ROOTS": "/srv/in,/srv/out", "RUN_WORKERS": "4", "RUN_MAX_ATTEMPTS": "5", "RUN_LEASE": "90s", "RUN_CHECKPOINT_ROWS": "5000", "API_RATE_LIMIT": "0",
		"WS_MAX_CONNECTIONS_PER_USER": "5", "RUN_MEMORY_MB": "512", "SPILL_DIR": "/scratch/spill", "SPILL_LIMIT_MB": "10240", "QUERY_EXPORT_MAX_ROWS": "5000",
		"ACCESS_TOKEN_TTL": "10m", "REFRESH_TOKEN_TTL": "24h", "SHUTDOWN_TIMEOUT": "5s", "PASSWORD_HASH_COST": "12",
		"ENCRYPTION_KEY": " " + goodSecret + "e ", "ENCRYPTION_KEY_PREVIOUS": goodSecret + "1," + goodSecret + "2",
		"ALLOWED_OUTBOUND_HOSTS": "api.example.com, 10.1.0.0/16",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Port: 9000, DataDir: "/var/lib/agg", Postgres: Postgres{Port: 5432}, RedisURL: "redis://localhost:6379/1",
		SecretKey: goodSecret, Environment: Production, PublicURL: "https://agg.example.com/",
		AutoInitDB: false, CreateDevUser: false, AllowDevRoleInProduction: true, AdminPassword: " spaced secret ",
		CORSOrigins: []string{"https://a.example.com", "https://b.example.com"}, LogLevel: "debug", LogFormat: "text",
		MaxUploadBytes: 1 << 20, MaxBodyBytes: 2048, FileRoots: []string{"/srv/in", "/srv/out"}, RunWorkers: 4,
		RunMaxAttempts: 5, RunLease: 90 * time.Second, CheckpointRows: 5000, APIRateLimit: 0, AccessTokenTTL: 10 * time.Minute, RefreshTokenTTL: 24 * time.Hour, ShutdownTimeout: 5 * time.Second,
		PasswordHashCost: 12, WSMaxConnectionsPerUser: 5, RunMemoryMB: 512, SpillDir: "/scratch/spill", SpillLimitMB: 10240, QueryExportRows: 5000,
		EncryptionKey: goodSecret + "e", EncryptionKeyPrevious: []string{goodSecret + "1", goodSecret + "2"},
		AllowedOutbound: []string{"api.example.com", "10.1.0.0/16"},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Fatalf("Load mismatch (-want +got):\n%s", diff)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.BaseURL() != "https://agg.example.com" || c.SlogLevel() != slog.LevelDebug || !c.IsProduction() {
		t.Fatalf("derived: %s %v %v", c.BaseURL(), c.SlogLevel(), c.IsProduction())
	}
	if got := c.Roots(); !cmp.Equal(got, []string{"/srv/in", "/srv/out"}) {
		t.Fatalf("Roots() = %v", got)
	}
	if c.SpillPath() != "/scratch/spill" {
		t.Fatalf("SpillPath() = %q", c.SpillPath())
	}
	if d := Default(); d.SpillPath() != filepath.Join(DefaultDataDir, "spill") || d.RunMemoryMB != 256 {
		t.Fatalf("default spill path %q, memory %d MiB", d.SpillPath(), d.RunMemoryMB)
	}
}

func TestLoadReportsEveryMalformedValue(t *testing.T) {
	t.Parallel()
	_, err := Load(envFrom(map[string]string{
		"PORT": "eighty", "POSTGRES_PORT": "x", "AUTO_INIT_DB": "maybe", "MAX_UPLOAD_BYTES": "1GB",
		"RUN_WORKERS": "two", "ACCESS_TOKEN_TTL": "15", "CREATE_DEV_USER": "ja",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`PORT: must be a whole number, got "eighty"`,
		`POSTGRES_PORT: must be a whole number, got "x"`,
		`AUTO_INIT_DB: must be true or false, got "maybe"`,
		`MAX_UPLOAD_BYTES: must be a whole number of bytes, got "1GB"`,
		`RUN_WORKERS: must be a whole number, got "two"`,
		`ACCESS_TOKEN_TTL: must be a duration such as "15m" or "24h", got "15"`,
		`CREATE_DEV_USER: must be true or false, got "ja"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 7 {
		t.Errorf("%d problems reported, want 7:\n%v", n, err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // one entry per expected problem; empty means valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"port range", func(c *Config) { c.Port = 70000 }, []string{"PORT: must be between 1 and 65535, got 70000"}},
		{"run memory", func(c *Config) { c.RunMemoryMB = 0; c.SpillLimitMB = -1 }, []string{
			"RUN_MEMORY_MB: must be between 1 and 1048576 (MiB), got 0", "SPILL_LIMIT_MB: must be 0 (no cap) or more, got -1"}},
		{"query export cap", func(c *Config) { c.QueryExportRows = 0 }, []string{"QUERY_EXPORT_MAX_ROWS: must be between 1 and 100000000, got 0"}},
		{"environment", func(c *Config) { c.Environment = "prod" }, []string{`ENVIRONMENT: must be development, staging or production, got "prod"`}},
		{"production needs keys", func(c *Config) { c.Environment = Production }, []string{"SECRET_KEY: is required in production", "ENCRYPTION_KEY: is required in production"}},
		{"short secret", func(c *Config) { c.SecretKey = "abc" }, []string{"SECRET_KEY: must be at least 32 characters, got 3"}},
		{"short encryption keys", func(c *Config) { c.EncryptionKey = "abc"; c.EncryptionKeyPrevious = []string{goodSecret, "x"} }, []string{
			"ENCRYPTION_KEY: must be at least 32 characters, got 3", "ENCRYPTION_KEY_PREVIOUS: entry 2 must be at least 32 characters, got 1"}},
		{"outbound hosts", func(c *Config) { c.AllowedOutbound = []string{"api.example.com", "10.0.0.0/33", "fd00::1", "host:80"} }, []string{
			`ALLOWED_OUTBOUND_HOSTS: entry 2 must be a host name, an IP address or a CIDR such as 10.0.0.0/8, got "10.0.0.0/33"`,
			`ALLOWED_OUTBOUND_HOSTS: entry 4 must be`}},
		{"production ok", func(c *Config) { c.Environment = Production; c.SecretKey = goodSecret; c.EncryptionKey = goodSecret }, nil},
		{"dev user in production", func(c *Config) {
			c.Environment = Production
			c.SecretKey = goodSecret
			c.EncryptionKey = goodSecret
			c.CreateDevUser = true
		},
			[]string{"CREATE_DEV_USER: is refused in production"}},
		{"database url scheme", func(c *Config) { c.DatabaseURL = "mysql://h/db" }, []string{`DATABASE_URL: scheme must be postgres:// or postgresql://, got "mysql"`}},
		{"database url no host", func(c *Config) { c.DatabaseURL = "postgres:///db" }, []string{"DATABASE_URL: must name a host"}},
		{"database url ok", func(c *Config) { c.DatabaseURL = "postgresql://u:p@db:5432/agg?sslmode=disable" }, nil},
		{"partial postgres", func(c *Config) { c.Postgres.Password = "pw" }, []string{
			"POSTGRES_SERVER: is required", "POSTGRES_USER: is required", "POSTGRES_DB: is required"}},
		{"postgres port", func(c *Config) { c.Postgres.Port = 0 }, []string{"POSTGRES_PORT: must be between 1 and 65535, got 0"}},
		{"redis scheme", func(c *Config) { c.RedisURL = "http://x" }, []string{`REDIS_URL: scheme must be redis:// or rediss://, got "http"`}},
		{"cors entry", func(c *Config) { c.CORSOrigins = []string{"https://ok.example.com", "ftp://x", "https://x.com/path"} }, []string{
			`CORS_ORIGINS: entry 2 must be an origin such as https://app.example.com, got "ftp://x"`,
			`CORS_ORIGINS: entry 3 must be an origin`}},
		{"cors wildcard in production", func(c *Config) {
			c.Environment = Production
			c.SecretKey, c.EncryptionKey = goodSecret, goodSecret
			c.CORSOrigins = []string{"*"}
		},
			[]string{`CORS_ORIGINS: "*" is refused in production`}},
		{"cors wildcard in development", func(c *Config) { c.CORSOrigins = []string{"*"} }, nil},
		{"log level", func(c *Config) { c.LogLevel = "verbose" }, []string{`LOG_LEVEL: must be debug, info, warn or error, got "verbose"`}},
		{"log format", func(c *Config) { c.LogFormat = "xml" }, []string{`LOG_FORMAT: must be json or text, got "xml"`}},
		{"public url", func(c *Config) { c.PublicURL = "agg.example.com" }, []string{"PUBLIC_URL: must be an absolute http(s) URL"}},
		{"sizes and workers", func(c *Config) {
			c.MaxUploadBytes = 0
			c.MaxBodyBytes = 10
			c.RunWorkers = -1
			c.APIRateLimit = -5
			c.RunMaxAttempts = 0
			c.RunLease = 500 * time.Millisecond
			c.WSMaxConnectionsPerUser = 0
		}, []string{
			"MAX_UPLOAD_BYTES: must be positive, got 0", "MAX_BODY_BYTES: must be at least 1024, got 10",
			"RUN_WORKERS: must be between 0 and 256, got -1", "RUN_MAX_ATTEMPTS: must be between 1 and 100, got 0", "RUN_LEASE: must be between 1s and 1h, got 500ms", "API_RATE_LIMIT: must be 0 (off) or positive, got -5",
			"WS_MAX_CONNECTIONS_PER_USER: must be between 1 and 1000, got 0"}},
		{"token ttls", func(c *Config) { c.AccessTokenTTL = time.Second; c.RefreshTokenTTL = 100 * 24 * time.Hour }, []string{
			"ACCESS_TOKEN_TTL: must be between 1m and 24h, got 1s", "REFRESH_TOKEN_TTL: must be between ACCESS_TOKEN_TTL and 2160h"}},
		{"empty data dir and file root", func(c *Config) { c.DataDir = " "; c.FileRoots = []string{"a", ""} }, []string{
			"DATA_DIR: must not be empty", "FILE_ROOTS: entry 2 is empty"}},
		{"shutdown", func(c *Config) { c.ShutdownTimeout = 0 }, []string{"SHUTDOWN_TIMEOUT: must be at least 1s, got 0s"}},
		{"password hash cost too low", func(c *Config) { c.PasswordHashCost = 3 }, []string{"PASSWORD_HASH_COST: must be between 4 and 16 (bcrypt's cost; each step doubles the work), got 3"}},
		{"password hash cost too high", func(c *Config) { c.PasswordHashCost = 17 }, []string{"PASSWORD_HASH_COST: must be between 4 and 16"}},
		{"low password hash cost in development", func(c *Config) { c.PasswordHashCost = 4 }, nil},
		{"low password hash cost in production", func(c *Config) {
			c.Environment = Production
			c.SecretKey, c.EncryptionKey = goodSecret, goodSecret
			c.PasswordHashCost = 9
		},
			[]string{"PASSWORD_HASH_COST: must be at least 10 in production, got 9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("problem %d = %q, want containing %q", i+1, lines[i], w)
				}
			}
		})
	}
}

func TestDatabaseFromPostgresVariables(t *testing.T) {
	t.Parallel()
	c, err := Load(envFrom(map[string]string{
		"POSTGRES_SERVER": "db.internal", "POSTGRES_PORT": "6543", "POSTGRES_USER": "agg",
		"POSTGRES_PASSWORD": "p@ss word/:", "POSTGRES_DB": "meta",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	dialect, dsn := c.Database()
	if dialect != DialectPostgres || dsn != "postgres://agg:p%40ss%20word%2F%3A@db.internal:6543/meta" {
		t.Fatalf("Database() = %s %s", dialect, dsn)
	}
	// DATABASE_URL wins over POSTGRES_*.
	c.DatabaseURL = "postgres://other:5432/x"
	if _, dsn := c.Database(); dsn != c.DatabaseURL {
		t.Fatalf("DATABASE_URL not preferred: %s", dsn)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	c := Default()
	c.SecretKey = "super-secret-key-super-secret-key-1"
	c.AdminPassword = "admin-pass-value"
	c.DatabaseURL = "postgres://user:db-pass-value@db:5432/agg?password=query-pass-value"
	c.RedisURL = "redis://:redis-pass-value@cache:6379/0"
	c.Postgres.Password = "pg-pass-value"
	c.EncryptionKey = "encryption-key-value-encryption-key-value"
	c.EncryptionKeyPrevious = []string{"previous-key-value-previous-key-value"}

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
	outputs := map[string]string{
		"String": c.String(), "%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
		"%s ptr": fmt.Sprint(&c), "slog": buf.String(),
	}
	for name, out := range outputs {
		for _, secret := range []string{"super-secret-key", "admin-pass-value", "db-pass-value", "query-pass-value", "redis-pass-value", "pg-pass-value", "encryption-key-value", "previous-key-value"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output leaks %q: %s", name, secret, out)
			}
		}
	}
	if !strings.Contains(buf.String(), `"secret_key":"[REDACTED]"`) || !strings.Contains(c.String(), "db:5432") {
		t.Errorf("redacted output lost its non-secret parts:\n%s\n%s", buf.String(), c.String())
	}
	// Validation messages about URLs do not echo them either.
	c.DatabaseURL = "postgres://user:db-pass-value@%zz"
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "db-pass-value") {
		t.Errorf("Validate error leaks the URL: %v", err)
	}
}

func TestEnsureEncryptionKey(t *testing.T) {
	t.Parallel()
	c := Default()
	c.DataDir = filepath.Join(t.TempDir(), "data")
	created, err := EnsureEncryptionKey(&c)
	if err != nil || !created || len(c.EncryptionKey) != 64 {
		t.Fatalf("EnsureEncryptionKey = %v, %v, key len %d", created, err, len(c.EncryptionKey))
	}
	if info, err := os.Stat(c.EncryptionKeyFile()); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v", err)
	}
	again := Default()
	again.DataDir = c.DataDir
	if created, err := EnsureEncryptionKey(&again); err != nil || created || again.EncryptionKey != c.EncryptionKey {
		t.Fatalf("second start: %v %v, key kept %v", created, err, again.EncryptionKey == c.EncryptionKey)
	}
	if again.EncryptionKey == again.SecretKey || c.SecretFile() == c.EncryptionKeyFile() {
		t.Fatal("encryption key shares the SECRET_KEY file")
	}
	prod := Default()
	prod.DataDir, prod.Environment = t.TempDir(), Production
	if _, err := EnsureEncryptionKey(&prod); err == nil || err.Error() != "ENCRYPTION_KEY: is required in production" {
		t.Fatalf("production: %v", err)
	}
}

func TestEnsureSecret(t *testing.T) {
	t.Parallel()
	t.Run("generated once and kept", func(t *testing.T) {
		t.Parallel()
		c := Default()
		c.DataDir = filepath.Join(t.TempDir(), "nested", "data")
		created, err := EnsureSecret(&c)
		if err != nil || !created || len(c.SecretKey) != 64 {
			t.Fatalf("EnsureSecret = %v, %v, key len %d", created, err, len(c.SecretKey))
		}
		info, err := os.Stat(c.SecretFile())
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("secret file mode = %v, %v", info.Mode().Perm(), err)
		}
		again := Default()
		again.DataDir = c.DataDir
		created, err = EnsureSecret(&again)
		if err != nil || created || again.SecretKey != c.SecretKey {
			t.Fatalf("second EnsureSecret = %v, %v; key changed: %v", created, err, again.SecretKey != c.SecretKey)
		}
		if err := again.Validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("explicit key untouched", func(t *testing.T) {
		t.Parallel()
		c := Default()
		c.DataDir = t.TempDir()
		c.SecretKey = goodSecret
		if created, err := EnsureSecret(&c); err != nil || created || c.SecretKey != goodSecret {
			t.Fatalf("EnsureSecret = %v, %v", created, err)
		}
		if _, err := os.Stat(c.SecretFile()); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("secret file written although SECRET_KEY was set: %v", err)
		}
	})
	t.Run("production refuses", func(t *testing.T) {
		t.Parallel()
		c := Default()
		c.DataDir = t.TempDir()
		c.Environment = Production
		if _, err := EnsureSecret(&c); err == nil || !strings.HasPrefix(err.Error(), "SECRET_KEY: ") {
			t.Fatalf("production: %v", err)
		}
	})
	t.Run("open permissions refused", func(t *testing.T) {
		t.Parallel()
		c := Default()
		c.DataDir = t.TempDir()
		if err := os.WriteFile(c.SecretFile(), []byte(goodSecret+goodSecret), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(c.SecretFile(), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := EnsureSecret(&c)
		if err == nil || !strings.Contains(err.Error(), "permissions 0644") || strings.Contains(err.Error(), goodSecret) {
			t.Fatalf("open permissions: %v", err)
		}
	})
	t.Run("short stored key refused", func(t *testing.T) {
		t.Parallel()
		c := Default()
		c.DataDir = t.TempDir()
		if err := os.WriteFile(c.SecretFile(), []byte("short\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := EnsureSecret(&c); err == nil || !strings.Contains(err.Error(), "holds 5 characters") {
			t.Fatalf("short key: %v", err)
		}
	})
}

// Processes starting together on a new DATA_DIR (two workers, `make cluster`) all get the one key
// that is kept: none reads a key file another is still writing.
func TestKeyFileGeneratedOnceByConcurrentStarts(t *testing.T) {
	t.Parallel()
	ensure := map[string]func(*Config) (bool, error){
		"ENCRYPTION_KEY": EnsureEncryptionKey,
		"SECRET_KEY":     EnsureSecret,
	}
	const starts = 8
	for name, fn := range ensure {
		for round := range 40 {
			dir := filepath.Join(t.TempDir(), "data")
			keys := make([]string, starts)
			created := make([]bool, starts)
			errs := make([]error, starts)
			ready := make(chan struct{})
			done := make(chan int)
			for i := range starts {
				go func() {
					c := Default()
					c.DataDir = dir
					<-ready
					created[i], errs[i] = fn(&c)
					keys[i] = c.EncryptionKey
					if name == "SECRET_KEY" {
						keys[i] = c.SecretKey
					}
					done <- i
				}()
			}
			close(ready)
			for range starts {
				<-done
			}
			makers := 0
			for i := range starts {
				if errs[i] != nil {
					t.Fatalf("%s, round %d: start %d: %v", name, round, i, errs[i])
				}
				if keys[i] != keys[0] || len(keys[i]) != 64 {
					t.Fatalf("%s, round %d: start %d got key %q, start 0 %q", name, round, i, keys[i], keys[0])
				}
				if created[i] {
					makers++
				}
			}
			if makers != 1 {
				t.Fatalf("%s, round %d: %d starts say they generated the key, want 1", name, round, makers)
			}
			left, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 1 {
				t.Fatalf("%s, round %d: DATA_DIR holds %d files, want only the key file", name, round, len(left))
			}
		}
	}
}
