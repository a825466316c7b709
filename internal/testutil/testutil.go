package testutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Default service addresses.
const (
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultMySQLDSN    = "root@tcp(127.0.0.1:3306)/test"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Unavailable skips the test (or fails it under CI=true) because a service cannot be reached.
func Unavailable(t testing.TB, service string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s is not reachable: %v", service, err)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: a missing service is a failure, not a skip)", msg)
	}
	t.Skipf("%s; skipping (start it to run this test)", msg)
}

// Name returns a random lower-case identifier with the prefix, safe as a schema or database name.
func Name(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}

// PostgresURL returns the base PostgreSQL URL (the shared test database).
func PostgresURL() string { return env("AGG_TEST_POSTGRES_URL", DefaultPostgresURL) }

// PG is an isolated PostgreSQL schema for one test.
type PG struct {
	// URL connects to the test database with search_path set to Schema, so unqualified names land there.
	URL    string
	Schema string
	// BaseURL connects without the search_path.
	BaseURL string
}

// Postgres creates a fresh schema in the test database and drops it (CASCADE) when the test ends.
func Postgres(t testing.TB) PG {
	t.Helper()
	base := PostgresURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		Unavailable(t, "PostgreSQL at "+redactURL(base), err)
		return PG{}
	}
	defer conn.Close(context.Background())
	schema := Name("t")
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", redactURL(base), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return PG{URL: u.String(), Schema: schema, BaseURL: base}
}

// MySQLDSN returns the base MySQL/MariaDB DSN.
func MySQLDSN() string { return env("AGG_TEST_MYSQL_DSN", DefaultMySQLDSN) }

// MY is an isolated MariaDB/MySQL database for one test.
type MY struct {
	// DSN is a go-sql-driver/mysql DSN naming Database.
	DSN      string
	Database string
	Config   *mysql.Config
}

// MySQL creates a fresh database and drops it when the test ends.
func MySQL(t testing.TB) MY {
	t.Helper()
	cfg, err := mysql.ParseDSN(MySQLDSN())
	if err != nil {
		t.Fatalf("parse AGG_TEST_MYSQL_DSN: %v", err)
	}
	admin := cfg.Clone()
	admin.DBName = ""
	db, err := sql.Open("mysql", admin.FormatDSN())
	if err != nil {
		t.Fatalf("open mysql: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		Unavailable(t, "MariaDB/MySQL at "+cfg.Addr, err)
		return MY{}
	}
	name := Name("t")
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", admin.FormatDSN())
		if err != nil {
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	c := cfg.Clone()
	c.DBName = name
	c.ParseTime = true
	return MY{DSN: c.FormatDSN(), Database: name, Config: c}
}

// Redis is an isolated key space on the test Redis.
type Redis struct {
	URL    string
	Prefix string // every key the test writes must start with it; they are deleted when the test ends
}

// RedisURL returns the test Redis and a unique key prefix whose keys are deleted when the test ends.
func RedisURL(t testing.TB) Redis {
	t.Helper()
	raw := env("AGG_TEST_REDIS_URL", DefaultRedisURL)
	opt, err := redis.ParseURL(raw)
	if err != nil {
		t.Fatalf("parse AGG_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		Unavailable(t, "Redis at "+opt.Addr, err)
		return Redis{}
	}
	prefix := Name("t") + ":"
	t.Cleanup(func() {
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return Redis{URL: raw, Prefix: prefix}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return strings.TrimSpace(u.String())
}
