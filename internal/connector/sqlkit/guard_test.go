package sqlkit_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/mysql"
	"github.com/dataaggregator/aggregator/internal/connector/postgres"
	"github.com/dataaggregator/aggregator/internal/connector/sqlserver"
	"github.com/dataaggregator/aggregator/internal/netguard"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// guardEnv is an Env whose guard resolves metadata.test to 169.254.169.254 and db.test to
// 127.0.0.1, as a hostile or rebinding DNS server could.
func guardEnv(t *testing.T) connector.Env {
	t.Helper()
	g, err := netguard.New(netguard.Options{Lookup: func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "metadata.test":
			return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
		case "db.test":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}})
	if err != nil {
		t.Fatal(err)
	}
	return connector.Env{Dial: g.Dialer(netguard.Database).DialContext}
}

// Every SQL connector dials through the Env's guard: the metadata address, its IPv4-mapped form
// and a name resolving to it are refused at once (connect_timeout is 30 s: a dial attempt would
// outlive the test's 10 s context) with the guard's message, as a configuration error.
func TestSQLConnectorsRefuseMetadataAddresses(t *testing.T) {
	type checker interface {
		connector.Checker
		connector.Source
	}
	conns := []struct {
		name string
		c    checker
		port int
		base map[string]any
	}{
		{"postgres", postgres.New(), 5432, map[string]any{"user": "postgres", "database": "test"}},
		{"mysql", mysql.New(), 3306, map[string]any{"user": "root", "database": "test"}},
		{"sqlserver", sqlserver.New(), 1433, map[string]any{"user": "sa", "password": "x", "database": "test"}},
	}
	for _, c := range conns {
		for _, host := range []string{"169.254.169.254", "::ffff:169.254.169.254", "fe80::1", "0.0.0.0", "metadata.test"} {
			t.Run(c.name+"/"+host, func(t *testing.T) {
				t.Parallel()
				cfg := map[string]any{"host": host, "port": c.port, "connect_timeout": 30}
				for k, v := range c.base {
					cfg[k] = v
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				err := c.c.Check(ctx, guardEnv(t), cfg)
				r := netguard.Refusal(err)
				if r == nil || !r.Always || !errors.Is(err, connector.ErrConfig) {
					t.Fatalf("check: err = %v, want a refusal that is a config error", err)
				}
				want := c.name + ": " + r.Error()
				if err.Error() != want {
					t.Errorf("check: err = %q, want %q", err, want)
				}
				// The read path (preview and runs) is guarded the same way.
				if _, err := c.c.Open(ctx, guardEnv(t), cfg, connector.ReadRequest{Stream: "t"}); netguard.Refusal(err) == nil {
					t.Errorf("open: err = %v, want a refusal", err)
				}
			})
		}
	}
}

// Loopback stays allowed for databases, including through a name the guard resolves.
func TestSQLConnectorsReachLoopback(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(testutil.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	reachable(t, "PostgreSQL", u.Host)
	for _, host := range []string{u.Hostname(), "db.test"} {
		v := *u
		v.Host = net.JoinHostPort(host, v.Port())
		if err := postgres.New().Check(ctx, guardEnv(t), map[string]any{"url": v.String()}); err != nil {
			t.Errorf("postgres via %s: %v", host, err)
		}
	}
	mc, err := gomysql.ParseDSN(testutil.MySQLDSN())
	if err != nil {
		t.Fatal(err)
	}
	h, p, _ := net.SplitHostPort(mc.Addr)
	port, _ := strconv.Atoi(p)
	reachable(t, "MariaDB", mc.Addr)
	for _, host := range []string{h, "db.test"} {
		cfg := map[string]any{"host": host, "port": port, "user": mc.User, "password": mc.Passwd, "database": mc.DBName}
		if err := mysql.New().Check(ctx, guardEnv(t), cfg); err != nil {
			t.Errorf("mysql via %s: %v", host, err)
		}
	}
}

// reachable skips (fails under CI=true) when the service does not listen at addr.
func reachable(t *testing.T, service, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		testutil.Unavailable(t, service, err)
		return
	}
	c.Close()
}
