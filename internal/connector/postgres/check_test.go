package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

const secret = "s3cr3t-Pa55word"

func TestCheckSaysWhatIsWrong(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, `CREATE TABLE present (id int)`)
	port := testutil.FreePort(t)
	cases := []struct {
		name    string
		cfg     map[string]any
		want    string
		is      error
		success bool
	}{
		{"ok", e.with("table", "present"), "", nil, true},
		{"unknown host", map[string]any{"host": "no-such-host.invalid", "password": secret}, `unknown host "no-such-host.invalid"`, connector.ErrConfig, false},
		{"refused port", map[string]any{"host": "127.0.0.1", "port": port, "password": secret}, fmt.Sprintf("connection refused (is the server running and listening on port %d?)", port), connector.ErrTransient, false},
		{"missing database", map[string]any{"host": "127.0.0.1", "database": "no_such_db_x", "password": secret}, `database "no_such_db_x" does not exist`, connector.ErrConfig, false},
		{"unknown user", map[string]any{"host": "127.0.0.1", "user": "no_such_user_x", "password": secret, "database": "test"}, `user "no_such_user_x" does not exist`, connector.ErrConfig, false},
		{"missing table", e.with("table", "absent", "password", secret), `table "absent" not found in schema "` + e.pg.Schema + `"`, connector.ErrNotFound, false},
		{"bad query", e.with("query", "SELEC 1", "password", secret), `syntax error`, nil, false},
		{"bad config", map[string]any{"port": 70000, "prot": 1}, "port: must be at most 65535, got 70000; prot: unknown field (did you mean \"port\"?)", connector.ErrConfig, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := New().Check(context.Background(), connector.Env{}, c.cfg)
			if c.success {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("err = %v, want errors.Is %v", err, c.is)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the password leaked into the error: %v", err)
			}
		})
	}
}

// TestConnErrorMessages covers causes the local trust-auth server cannot produce.
func TestConnErrorMessages(t *testing.T) {
	t.Parallel()
	tg := target{host: "db", port: "5432", user: "app", database: "sales"}
	cases := []struct {
		err  error
		want string
	}{
		{&pgconn.PgError{Code: "28P01", Message: "password authentication failed for user \"app\""}, `postgres at db:5432: wrong password for user "app"`},
		{&pgconn.PgError{Code: "28000", Message: `no pg_hba.conf entry for host "1.2.3.4", user "app", database "sales", no encryption`}, "the server requires TLS for user \"app\": set ssl_mode to require"},
		{errors.New("server refused TLS connection"), "TLS is required by ssl_mode but the server does not offer it"},
		{fmt.Errorf("tls: failed to verify certificate: x509: certificate signed by unknown authority"), "TLS certificate verification failed (check ssl_mode and ssl_root_cert): x509: certificate signed by unknown authority"},
		{fmt.Errorf("dial: %w", context.DeadlineExceeded), "no answer within"},
		{fmt.Errorf("auth failed for password %s", secret), "auth failed for password ********"},
	}
	for _, c := range cases {
		got := connError(c.err, tg, []string{secret}).Error()
		if !strings.Contains(got, c.want) {
			t.Errorf("connError(%v) = %q, want it to contain %q", c.err, got, c.want)
		}
		if strings.Contains(got, secret) {
			t.Errorf("secret leaked: %q", got)
		}
	}
}

func TestSSLModes(t *testing.T) {
	t.Parallel()
	e := setup(t)
	// require encrypts without verifying; verify-full with the system roots cannot verify the local
	// self-signed certificate (or, without TLS on the server, says so): both are clear.
	errReq := New().Check(context.Background(), connector.Env{}, e.with("ssl_mode", "require"))
	errFull := New().Check(context.Background(), connector.Env{}, e.with("ssl_mode", "verify-full", "ssl_root_cert", "/etc/ssl/certs/ca-certificates.crt"))
	if errReq != nil {
		if !strings.Contains(errReq.Error(), "TLS is required by ssl_mode but the server does not offer it") {
			t.Fatalf("require: %v", errReq)
		}
		return
	}
	if errFull == nil || !strings.Contains(errFull.Error(), "TLS certificate verification failed") {
		t.Fatalf("verify-full: %v", errFull)
	}
}

// TestServerRestartMidRunIsTransient simulates a server restart by terminating the writer's backend.
func TestServerRestartMidRunIsTransient(t *testing.T) {
	t.Parallel()
	e := setup(t)
	app := testutil.Name("agg")
	var logs bytes.Buffer
	ctx := context.Background()
	w, err := New().OpenWriter(ctx, connector.Env{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, e.with("table", "people", "application_name", app, "password", secret), connector.WriteRequest{Mode: connector.Append, Schema: people})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, batchOf(people, person(1, "a"))); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.conn.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&n); err != nil || n != 1 {
		t.Fatalf("terminate backend: %d, %v", n, err)
	}
	err = w.Commit(ctx)
	if !errors.Is(err, connector.ErrTransient) {
		t.Fatalf("commit after the backend died: %v, want ErrTransient", err)
	}
	_ = w.Abort(ctx)
	if got := e.rowsOf(t, "SELECT count(*) FROM people"); got[0] != "0" {
		t.Fatalf("rows after a failed commit = %s, want 0 (no partial write)", got[0])
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
		t.Fatalf("secret leaked: %v / %s", err, logs.String())
	}
}

func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var logs bytes.Buffer
	env := connector.Env{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	u := strings.Replace(e.pg.URL, "postgres@", "postgres:"+secret+"@", 1)
	errs := []error{
		New().Check(context.Background(), env, map[string]any{"url": strings.Replace(u, "/test", "/nodb_"+secret, 1)}),
		New().Check(context.Background(), env, map[string]any{"url": u, "table": "missing"}),
		New().Check(context.Background(), env, map[string]any{"url": "postgres://u:" + secret + "@no-such-host.invalid/db"}),
	}
	_, err := New().OpenWriter(context.Background(), env, map[string]any{"url": u, "table": "t"}, connector.WriteRequest{Mode: connector.Upsert, Key: []string{"nope"}, Schema: people})
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("case %d leaks the secret: %v", i, err)
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("logs leak the secret: %s", logs.String())
	}
	red := New().Spec().Config.Redact(map[string]any{"url": u, "password": secret, "host": "h"})
	if red["url"] != "********" || red["password"] != "********" || red["host"] != "h" {
		t.Errorf("redact = %v", red)
	}
	_ = record.Null
}
