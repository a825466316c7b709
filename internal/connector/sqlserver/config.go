package sqlserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
)

// Config is the decoded configuration.
type Config struct {
	sqlkit.ServerConfig
	sqlkit.TableConfig
	Instance               string
	Database               string
	Encrypt                string
	TrustServerCertificate bool
	SSLRootCert            string
	Schema                 string
}

var configSpec = configspec.Describe(func(c *Config, b *configspec.Builder) {
	c.BindAddress(b, 1433)
	b.String(&c.Instance, "instance").Doc("Named instance (resolved through the SQL Browser service; port is then ignored).")
	c.BindLogin(b, "sa", "SQL Server login.")
	b.String(&c.Database, "database").Required().Doc("Database name.")
	b.String(&c.Encrypt, "encrypt").Default("true").Enum("disable", "false", "true", "strict").
		Doc("TLS: disable (never), false (login packet only), true (whole connection), strict (TDS 8.0).")
	b.Bool(&c.TrustServerCertificate, "trust_server_certificate").Default(false).
		Doc("Accept the server certificate without verifying it (test servers with self-signed certificates).")
	b.String(&c.SSLRootCert, "ssl_root_cert").Doc("Path of the CA certificate file (PEM) that signs the server certificate.")
	b.String(&c.Schema, "schema").PerPipeline().Doc("Schema of the table (default: the login's default schema, usually dbo).")
	c.BindTable(b, "the primary key")
	c.BindNullCursor(b)
})

func decodeConfig(spec connector.Spec, raw map[string]any) (Config, error) {
	return sqlkit.DecodeConfig[Config](spec, raw)
}

func (c Config) secrets() []string {
	return []string{c.Password, url.QueryEscape(c.Password), url.PathEscape(c.Password)}
}

// dsn builds the sqlserver:// URL; every part is escaped by net/url.
func (c Config) dsn() string {
	u := &url.URL{Scheme: "sqlserver", User: url.UserPassword(c.User, c.Password), Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port))}
	if c.Instance != "" {
		u.Host = c.Host
		u.Path = "/" + c.Instance
	}
	q := url.Values{}
	q.Set("database", c.Database)
	q.Set("encrypt", c.Encrypt)
	q.Set("TrustServerCertificate", strconv.FormatBool(c.TrustServerCertificate))
	if c.SSLRootCert != "" {
		q.Set("certificate", c.SSLRootCert)
	}
	q.Set("dial timeout", strconv.Itoa(max(c.ConnectTimeout, 1)))
	q.Set("connection timeout", strconv.Itoa(max(c.ConnectTimeout, 1)))
	q.Set("app name", "aggregator")
	u.RawQuery = q.Encode()
	return u.String()
}

func (c Config) open(ctx context.Context, dial connector.DialFunc) (*sql.DB, error) {
	conn, err := mssql.NewConnector(c.dsn())
	if err != nil {
		return nil, connector.ConfigError(sqlkit.Scrub(fmt.Errorf("connection settings: %w", err), c.secrets()...))
	}
	conn.Dialer = hostDialer(dial)
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(max(c.MaxConnections, 1))
	db.SetMaxIdleConns(max(c.MaxConnections, 1))
	timeout := time.Duration(max(c.ConnectTimeout, 1)) * time.Second
	pctx, cancel := context.WithTimeout(ctx, timeout+time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		if ctx.Err() == nil && pctx.Err() != nil {
			err = fmt.Errorf("%w: %w", err, context.DeadlineExceeded)
		}
		return nil, c.connError(err, timeout)
	}
	return db, nil
}

// connError says clearly why connecting failed; the password never appears.
func (c Config) connError(err error, timeout time.Duration) error {
	where := "sqlserver at " + net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	var me mssql.Error
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var out error
	switch {
	case errors.As(err, &me) && me.Number == 18456:
		out = connector.ConfigError(fmt.Errorf("%s: login failed for user %q: wrong password or unknown login", where, c.User))
	case errors.As(err, &me) && me.Number == 4060:
		out = connector.ConfigError(fmt.Errorf("%s: database %q does not exist or login %q may not open it", where, c.Database, c.User))
	case errors.As(err, &dnsErr):
		out = connector.ConfigError(fmt.Errorf("%s: unknown host %q (name lookup failed)", where, c.Host))
	case errors.Is(err, syscall.ECONNREFUSED):
		out = fmt.Errorf("%s: connection refused (is the server running and listening on port %d?): %w", where, c.Port, connector.ErrTransient)
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), strings.Contains(err.Error(), "x509:"):
		out = connector.ConfigError(fmt.Errorf("%s: TLS certificate verification failed (set ssl_root_cert, or trust_server_certificate for a test server)", where))
	case strings.Contains(err.Error(), "encryption"):
		out = connector.ConfigError(fmt.Errorf("%s: TLS settings do not match the server's (encrypt=%s): %v", where, c.Encrypt, err))
	case errors.Is(err, context.Canceled):
		out = fmt.Errorf("%s: connecting was cancelled: %w", where, context.Canceled)
	case errors.Is(err, context.DeadlineExceeded):
		out = fmt.Errorf("%s: no answer within %s (connect timeout): %w", where, timeout, connector.ErrTransient)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		out = fmt.Errorf("%s: the connection was closed by the server: %w", where, connector.ErrTransient)
	default:
		out = fmt.Errorf("%s: connect: %w", where, err)
	}
	return sqlkit.Scrub(out, c.secrets()...)
}

// hostDialer is the driver's Dialer for dial. Being a HostDialer, it receives host names
// unresolved, so name resolution goes through dial (the outbound guard) too.
type hostDialer connector.DialFunc

func (d hostDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d(ctx, network, addr)
}

// HostName is part of mssql.HostDialer; the driver does not use its value.
func (d hostDialer) HostName() string { return "" }
