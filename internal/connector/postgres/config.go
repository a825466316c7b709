package postgres

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
)

// Config is the decoded configuration.
type Config struct {
	Connection
	sqlkit.TableConfig
	Schema           string
	StatementTimeout int
	CopyBufferRows   int
}

// Connection is where a PostgreSQL server is and how to log in: the connection parameters of this
// connector, shared with the connectors that reach PostgreSQL their own way (postgres_cdc), which
// declare them with Bind and connect with Connect and ConnectReplication.
type Connection struct {
	sqlkit.ServerConfig
	URL             string
	Database        string
	SSLMode         string
	SSLRootCert     string
	ApplicationName string
}

// Bind declares url, host, port, user, password, database, ssl_mode and ssl_root_cert.
func (c *Connection) Bind(b *configspec.Builder) {
	b.String(&c.URL, "url").Secret().
		Doc("A connection URL (postgres://user:password@host:5432/db?sslmode=require). When set, host, port, user, password and database are taken from it unless also given.").
		Example("postgres://app@db.example.com:5432/sales?sslmode=require")
	c.BindServer(b, 5432, "postgres", "User name.")
	b.String(&c.Database, "database").Default("postgres").Doc("Database name.")
	b.String(&c.SSLMode, "ssl_mode").Enum("disable", "allow", "prefer", "require", "verify-ca", "verify-full").
		Doc("TLS mode, as libpq's sslmode (default prefer, or the URL's).")
	b.String(&c.SSLRootCert, "ssl_root_cert").Doc("Path of the CA certificate file for verify-ca and verify-full.")
}

// BindApplicationName declares application_name.
func (c *Connection) BindApplicationName(b *configspec.Builder) {
	b.String(&c.ApplicationName, "application_name").Default("aggregator").
		Doc("application_name the server shows in pg_stat_activity.")
}

var configSpec = configspec.Describe(func(c *Config, b *configspec.Builder) {
	c.Connection.Bind(b)
	b.String(&c.Schema, "schema").PerPipeline().Doc("Schema of the table (default: the first schema of the search_path); for Discover, the only schema listed.")
	c.BindTable(b, "the table's primary key")
	b.Int(&c.StatementTimeout, "statement_timeout").PerPipeline().Default(0).Min(0).
		Doc("Seconds a statement may run before the server cancels it (0: no limit).")
	c.BindNullCursor(b)
	c.BindApplicationName(b)
	b.Int(&c.CopyBufferRows, "copy_buffer_rows").PerPipeline().Default(defaultFlushRows).Min(0).Max(1000000).
		Doc("Destination: rows buffered (at most 1 MiB) before one COPY loads them in the background; a row the table refuses then comes back from a later write. 0: each batch is loaded by its own COPY before its write returns, so refused rows come back with their batch (slower: one round trip per batch).")
})

func (c Config) tableConfig() sqlkit.TableConfig { return c.TableConfig }

// decodeConfig decodes and validates the raw config.
func decodeConfig(spec connector.Spec, raw map[string]any) (Config, error) {
	return sqlkit.DecodeConfig[Config](spec, raw)
}

// connString builds the pgx connection string: the URL (if any) with the discrete fields applied.
func (c Connection) connString() (string, error) {
	u := &url.URL{Scheme: "postgres"}
	if c.URL != "" {
		p, err := url.Parse(c.URL)
		if err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
			return "", connector.ConfigError(errors.New("url: not a postgres:// URL"))
		}
		u = p
	}
	q := u.Query()
	host, port := u.Hostname(), u.Port()
	if host == "" || c.URL == "" {
		host = c.Host
	}
	if port == "" || c.URL == "" {
		port = strconv.Itoa(c.Port)
	}
	u.Host = net.JoinHostPort(host, port)
	user, pass := "", ""
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	if user == "" || c.URL == "" {
		user = c.User
	}
	if c.Password != "" {
		pass = c.Password
	}
	if pass != "" {
		u.User = url.UserPassword(user, pass)
	} else {
		u.User = url.User(user)
	}
	if strings.TrimPrefix(u.Path, "/") == "" || c.URL == "" {
		u.Path = "/" + c.Database
	}
	if c.SSLMode != "" {
		q.Set("sslmode", c.SSLMode)
	}
	if c.SSLRootCert != "" {
		q.Set("sslrootcert", c.SSLRootCert)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// secrets returns what must never appear in errors or logs.
func (c Connection) secrets() []string {
	out := []string{c.Password}
	if u, err := url.Parse(c.URL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	return out
}

// target describes where the connection goes, for messages (never the password).
type target struct {
	host, port, user, database string
	timeout                    time.Duration
}

func (c Config) poolConfig() (*pgxpool.Config, target, error) {
	cs, err := c.connString()
	if err != nil {
		return nil, target{}, err
	}
	pc, err := pgxpool.ParseConfig(cs)
	if err != nil {
		return nil, target{}, connector.ConfigError(sqlkit.Scrub(fmt.Errorf("connection settings: %w", err), c.secrets()...))
	}
	pc.MaxConns = int32(max(c.MaxConnections, 1))
	pc.MinConns = 0
	pc.ConnConfig.ConnectTimeout = time.Duration(max(c.ConnectTimeout, 1)) * time.Second
	if pc.ConnConfig.RuntimeParams == nil {
		pc.ConnConfig.RuntimeParams = map[string]string{}
	}
	pc.ConnConfig.RuntimeParams["application_name"] = c.ApplicationName
	if c.StatementTimeout > 0 {
		pc.ConnConfig.RuntimeParams["statement_timeout"] = strconv.Itoa(c.StatementTimeout * 1000)
	}
	t := target{host: pc.ConnConfig.Host, port: strconv.Itoa(int(pc.ConnConfig.Port)), user: pc.ConnConfig.User, database: pc.ConnConfig.Database, timeout: pc.ConnConfig.ConnectTimeout}
	return pc, t, nil
}

// connect opens a pool and checks that it can connect.
func (c Config) connect(ctx context.Context, dial connector.DialFunc) (*pgxpool.Pool, error) {
	pc, t, err := c.poolConfig()
	if err != nil {
		return nil, err
	}
	// dial resolves host names itself (through the outbound guard), so pgx hands it the name as is.
	pc.ConnConfig.LookupFunc = func(_ context.Context, host string) ([]string, error) { return []string{host}, nil }
	pc.ConnConfig.DialFunc = pgconn.DialFunc(dial)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, connError(err, t, c.secrets())
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, connError(err, t, c.secrets())
	}
	return pool, nil
}

// connError turns a connection failure into one clear message per cause. The password never appears.
func connError(err error, t target, secrets []string) error {
	where := fmt.Sprintf("postgres at %s:%s", t.host, t.port)
	var pgErr *pgconn.PgError
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var out error
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "28P01":
		out = connector.ConfigError(fmt.Errorf("%s: wrong password for user %q", where, t.user))
	case errors.As(err, &pgErr) && pgErr.Code == "28000" && strings.Contains(pgErr.Message, "no encryption"):
		out = connector.ConfigError(fmt.Errorf("%s: the server requires TLS for user %q: set ssl_mode to require, verify-ca or verify-full", where, t.user))
	case errors.As(err, &pgErr) && pgErr.Code == "28000" && strings.Contains(pgErr.Message, "role"):
		out = connector.ConfigError(fmt.Errorf("%s: user %q does not exist", where, t.user))
	case errors.As(err, &pgErr) && (pgErr.Code == "28000" || strings.HasPrefix(pgErr.Code, "28")):
		out = connector.ConfigError(fmt.Errorf("%s: the server refused user %q: %s", where, t.user, pgErr.Message))
	case errors.As(err, &pgErr) && pgErr.Code == "3D000":
		out = connector.ConfigError(fmt.Errorf("%s: database %q does not exist", where, t.database))
	case errors.As(err, &pgErr) && (pgErr.Code == "57P03" || pgErr.Code == "53300"):
		out = fmt.Errorf("%s: the server cannot accept connections now (%s): %w", where, pgErr.Message, connector.ErrTransient)
	case errors.As(err, &dnsErr):
		out = connector.ConfigError(fmt.Errorf("%s: unknown host %q (name lookup failed)", where, t.host))
	case errors.Is(err, syscall.ECONNREFUSED):
		out = fmt.Errorf("%s: connection refused (is the server running and listening on port %s?): %w", where, t.port, connector.ErrTransient)
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), strings.Contains(err.Error(), "x509:"):
		out = connector.ConfigError(fmt.Errorf("%s: TLS certificate verification failed (check ssl_mode and ssl_root_cert): %s", where, tlsReason(err)))
	case strings.Contains(err.Error(), "server refused TLS connection"):
		out = connector.ConfigError(fmt.Errorf("%s: TLS is required by ssl_mode but the server does not offer it: set ssl_mode to prefer or disable, or enable ssl on the server", where))
	case errors.Is(err, context.Canceled):
		out = fmt.Errorf("%s: connecting was cancelled: %w", where, context.Canceled)
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		out = fmt.Errorf("%s: no answer within %s (connect timeout): %w", where, t.timeout, connector.ErrTransient)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		out = fmt.Errorf("%s: the connection was closed by the server: %w", where, connector.ErrTransient)
	default:
		out = fmt.Errorf("%s: connect: %w", where, err)
	}
	return sqlkit.Scrub(out, secrets...)
}

func tlsReason(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "x509:"); i >= 0 {
		return msg[i:]
	}
	return msg
}
