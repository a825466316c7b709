package main

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBackupCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DATA_DIR", dir)
	t.Setenv("DATABASE_URL", "")
	out := filepath.Join(t.TempDir(), "backup.db")

	if _, _, err := run(t, "", "backup", "--output", out); err == nil || !strings.Contains(err.Error(), "no SQLite store at") {
		t.Fatalf("backup before any store: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "aggregator.db")); err == nil {
		t.Fatal("backup created an empty store")
	}
	if _, _, err := run(t, "", "migrate", "up"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "Str0ng-Passw0rd-Here\n", "user", "create", "--username", "ana", "--email", "ana@example.com", "--role", "viewer"); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := run(t, "", "backup", "-o", out)
	if err != nil || !strings.HasPrefix(stdout, "backed up "+filepath.Join(dir, "aggregator.db")+" to "+out) {
		t.Fatalf("backup: %v\n%s", err, stdout)
	}
	db, err := sql.Open("sqlite", "file:"+out+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM users WHERE username = 'ana'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the backup's users: %d %v", n, err)
	}

	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no output", nil, []string{"backup"}, "--output: name the backup file"},
		{"postgres", map[string]string{"DATABASE_URL": "postgres://u@127.0.0.1:5432/db"}, []string{"backup", "-o", out}, "pg_dump"},
		{"missing directory", nil, []string{"backup", "-o", filepath.Join(dir, "no", "such", "b.db")}, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if _, _, err := run(t, "", tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%v: %v, want %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestHealthcheckCommand(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	defer ok.Close()
	if out, _, err := run(t, "", "healthcheck", "--url", ok.URL+"/healthz"); err != nil || !strings.Contains(out, "200 OK") {
		t.Fatalf("healthy server: %v %q", err, out)
	}
	if _, _, err := run(t, "", "healthcheck", "--url", ok.URL+"/nope"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: %v", err)
	}
	t.Setenv("PORT", "not-a-port")
	if _, _, err := run(t, "", "healthcheck"); err == nil || !strings.Contains(err.Error(), "PORT") {
		t.Fatalf("bad PORT: %v", err)
	}
}
