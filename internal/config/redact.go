package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

const redacted = "[REDACTED]"

func redactSecret(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// redactURL hides the password of a URL. A value that does not parse is
// hidden entirely, because it may still carry a password.
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return redacted
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redactedCopy is c with every secret replaced.
func (c Config) redactedCopy() Config {
	r := c
	r.DatabaseURL = redactURL(c.DatabaseURL)
	r.RedisURL = redactURL(c.RedisURL)
	r.SecretKey = redactSecret(c.SecretKey)
	r.EncryptionKey = redactSecret(c.EncryptionKey)
	if len(c.EncryptionKeyPrevious) > 0 {
		r.EncryptionKeyPrevious = []string{redacted}
	}
	r.AdminPassword = redactSecret(c.AdminPassword)
	r.Postgres.Password = redactSecret(c.Postgres.Password)
	return r
}

// String renders the configuration with secrets redacted.
func (c Config) String() string {
	r := c.redactedCopy()
	dialect, _ := c.Database()
	var b strings.Builder
	fmt.Fprintf(&b, "environment=%s port=%d data_dir=%s database=%s", r.Environment, r.Port, r.DataDir, dialect)
	if r.DatabaseURL != "" {
		fmt.Fprintf(&b, " database_url=%s", r.DatabaseURL)
	}
	if r.Postgres.set() {
		fmt.Fprintf(&b, " postgres=%s@%s:%d/%s password=%s", r.Postgres.User, r.Postgres.Server, r.Postgres.Port, r.Postgres.DB, r.Postgres.Password)
	}
	fmt.Fprintf(&b, " redis_url=%s secret_key=%s admin_password=%s", r.RedisURL, r.SecretKey, r.AdminPassword)
	fmt.Fprintf(&b, " auto_init_db=%t create_dev_user=%t allow_dev_role_in_production=%t", r.AutoInitDB, r.CreateDevUser, r.AllowDevRoleInProduction)
	fmt.Fprintf(&b, " cors_origins=%v log_level=%s log_format=%s file_roots=%v run_workers=%d", r.CORSOrigins, r.LogLevel, r.LogFormat, r.Roots(), r.RunWorkers)
	return b.String()
}

// GoString keeps %#v from printing secrets.
func (c Config) GoString() string { return "config.Config{" + c.String() + "}" }

// LogValue implements slog.LogValuer with secrets redacted.
func (c Config) LogValue() slog.Value {
	r := c.redactedCopy()
	dialect, _ := c.Database()
	return slog.GroupValue(
		slog.String("environment", string(r.Environment)),
		slog.Int("port", r.Port),
		slog.String("data_dir", r.DataDir),
		slog.String("database", dialect),
		slog.String("database_url", r.DatabaseURL),
		slog.String("postgres_server", r.Postgres.Server),
		slog.String("postgres_password", r.Postgres.Password),
		slog.String("redis_url", r.RedisURL),
		slog.String("secret_key", r.SecretKey),
		slog.String("encryption_key", r.EncryptionKey),
		slog.Any("encryption_key_previous", r.EncryptionKeyPrevious),
		slog.Any("allowed_outbound_hosts", r.AllowedOutbound),
		slog.String("admin_password", r.AdminPassword),
		slog.String("public_url", r.BaseURL()),
		slog.Bool("auto_init_db", r.AutoInitDB),
		slog.Bool("create_dev_user", r.CreateDevUser),
		slog.Bool("allow_dev_role_in_production", r.AllowDevRoleInProduction),
		slog.Int("password_hash_cost", r.PasswordHashCost),
		slog.Any("cors_origins", r.CORSOrigins),
		slog.String("log_level", r.LogLevel),
		slog.Any("file_roots", r.Roots()),
		slog.Int("run_workers", r.RunWorkers),
		slog.Int64("max_upload_bytes", r.MaxUploadBytes),
		slog.Int("ws_max_connections_per_user", r.WSMaxConnectionsPerUser),
	)
}
