package mysql

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
)

// Config is the decoded configuration.
type Config struct {
	sqlkit.ServerConfig
	sqlkit.TableConfig
	Database    string
	SSLMode     string
	SSLRootCert string
	ReadTimeout int
}

var configSpec = configspec.Describe(func(c *Config, b *configspec.Builder) {
	c.BindServer(b, 3306, "root", "User name.")
	b.String(&c.Database, "database").Required().Doc("Database (schema) to read from or write to.")
	b.String(&c.SSLMode, "ssl_mode").Default("preferred").Enum("disabled", "preferred", "required", "verify-ca", "verify-full").
		Doc("TLS: disabled, preferred (TLS when the server offers it), required (TLS without verifying the certificate), verify-ca or verify-full (verify against ssl_root_cert or the system roots; verify-full also checks the host name).")
	b.String(&c.SSLRootCert, "ssl_root_cert").Doc("Path of the CA certificate file (PEM) for verify-ca and verify-full.")
	c.BindTable(b, "the primary key")
	b.Int(&c.ReadTimeout, "read_timeout").Default(0).Min(0).
		Doc("Seconds a statement may wait for the server's answer before it fails (0: no limit).")
	c.BindNullCursor(b)
})

func decodeConfig(spec connector.Spec, raw map[string]any) (Config, error) {
	return sqlkit.DecodeConfig[Config](spec, raw)
}

func (c Config) secrets() []string { return []string{c.Password} }

// driverConfig builds the driver configuration: strict SQL mode, UTC, client-side interpolation of
// arguments (one round trip per statement), no automatic time parsing (the dialect reads text).
func (c Config) driverConfig() (*mysql.Config, error) {
	dc := mysql.NewConfig()
	dc.Net = "tcp"
	dc.Addr = net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	dc.User = c.User
	dc.Passwd = c.Password
	dc.DBName = c.Database
	dc.Loc = time.UTC
	dc.ParseTime = false
	dc.InterpolateParams = true
	dc.MaxAllowedPacket = 0 // read the server's max_allowed_packet
	dc.Timeout = time.Duration(max(c.ConnectTimeout, 1)) * time.Second
	dc.ReadTimeout = time.Duration(c.ReadTimeout) * time.Second
	dc.Logger = &mysql.NopLogger{}
	dc.Params = map[string]string{
		"time_zone": "'+00:00'",
		"sql_mode":  "'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
	}
	dc.Collation = "utf8mb4_general_ci"
	switch c.SSLMode {
	case "disabled":
		dc.TLSConfig = "false"
	case "", "preferred":
		dc.TLS = &tls.Config{InsecureSkipVerify: true, ServerName: c.Host} //nolint:gosec // preferred: opportunistic encryption, as the mysql client does
		dc.AllowFallbackToPlaintext = true
	case "required":
		dc.TLS = &tls.Config{InsecureSkipVerify: true, ServerName: c.Host} //nolint:gosec // required: encryption without verification, as documented
	case "verify-ca", "verify-full":
		t := &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
		if c.SSLRootCert != "" {
			pem, err := os.ReadFile(c.SSLRootCert)
			if err != nil {
				return nil, connector.ConfigError(fmt.Errorf("ssl_root_cert: %w", err))
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, connector.ConfigError(fmt.Errorf("ssl_root_cert: %s holds no PEM certificate", c.SSLRootCert))
			}
			t.RootCAs = pool
		}
		if c.SSLMode == "verify-ca" {
			t.InsecureSkipVerify = true //nolint:gosec // verified below against RootCAs, without the host name
			t.VerifyPeerCertificate = verifyCA(t.RootCAs)
		}
		dc.TLS = t
	}
	return dc, nil
}

func verifyCA(roots *x509.CertPool) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("x509: server sent no certificate")
		}
		certs := make([]*x509.Certificate, len(raw))
		for i, r := range raw {
			c, err := x509.ParseCertificate(r)
			if err != nil {
				return err
			}
			certs[i] = c
		}
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
		return err
	}
}

// open returns a pool that has connected once.
func (c Config) open(ctx context.Context, dial connector.DialFunc) (*sql.DB, error) {
	dc, err := c.driverConfig()
	if err != nil {
		return nil, err
	}
	dc.DialFunc = dial
	conn, err := mysql.NewConnector(dc)
	if err != nil {
		return nil, connector.ConfigError(sqlkit.Scrub(fmt.Errorf("connection settings: %w", err), c.secrets()...))
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(max(c.MaxConnections, 1))
	db.SetMaxIdleConns(max(c.MaxConnections, 1))
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, dc.Timeout+time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		if ctx.Err() == nil && pctx.Err() != nil {
			err = fmt.Errorf("%w: %w", err, context.DeadlineExceeded)
		}
		return nil, c.connError(err, dc.Timeout)
	}
	return db, nil
}

// connError says clearly why connecting failed; the password never appears.
func (c Config) connError(err error, timeout time.Duration) error {
	where := fmt.Sprintf("mysql at %s", net.JoinHostPort(c.Host, strconv.Itoa(c.Port)))
	var me *mysql.MySQLError
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var out error
	switch {
	case errors.As(err, &me) && me.Number == 1045:
		out = connector.ConfigError(fmt.Errorf("%s: access denied for user %q: wrong password, or the user may not connect from this host", where, c.User))
	case errors.As(err, &me) && me.Number == 1049:
		out = connector.ConfigError(fmt.Errorf("%s: database %q does not exist", where, c.Database))
	case errors.As(err, &me) && me.Number == 1044:
		out = connector.ConfigError(fmt.Errorf("%s: user %q may not use database %q", where, c.User, c.Database))
	case errors.As(err, &me) && me.Number == 3159:
		out = connector.ConfigError(fmt.Errorf("%s: the server requires TLS: set ssl_mode to required, verify-ca or verify-full", where))
	case errors.As(err, &me) && (me.Number == 1040 || me.Number == 1203):
		out = fmt.Errorf("%s: too many connections: %w", where, connector.ErrTransient)
	case errors.As(err, &dnsErr):
		out = connector.ConfigError(fmt.Errorf("%s: unknown host %q (name lookup failed)", where, c.Host))
	case errors.Is(err, syscall.ECONNREFUSED):
		out = fmt.Errorf("%s: connection refused (is the server running and listening on port %d?): %w", where, c.Port, connector.ErrTransient)
	case errors.Is(err, mysql.ErrNoTLS):
		out = connector.ConfigError(fmt.Errorf("%s: TLS is required by ssl_mode but the server does not offer it: set ssl_mode to preferred or disabled, or enable TLS on the server", where))
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), strings.Contains(err.Error(), "x509:"):
		out = connector.ConfigError(fmt.Errorf("%s: TLS certificate verification failed (check ssl_mode and ssl_root_cert): %s", where, tlsReason(err)))
	case errors.Is(err, context.Canceled):
		out = fmt.Errorf("%s: connecting was cancelled: %w", where, context.Canceled)
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		out = fmt.Errorf("%s: no answer within %s (connect timeout): %w", where, timeout, connector.ErrTransient)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, syscall.ECONNRESET):
		out = fmt.Errorf("%s: the connection was closed by the server: %w", where, connector.ErrTransient)
	default:
		out = fmt.Errorf("%s: connect: %w", where, err)
	}
	return sqlkit.Scrub(out, c.secrets()...)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func tlsReason(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "x509:"); i >= 0 {
		return msg[i:]
	}
	return msg
}
