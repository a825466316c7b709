package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/testutil"
)

// oauthAPI is a paginated JSON API behind OAuth2 client credentials: /oauth/token issues tokens
// for client "etl" with the secret it is given; /v1/orders pages by cursor (?after=) and keeps
// orders updated after ?updated_since=.
type oauthAPI struct {
	secret string
	mu     sync.Mutex
	orders []map[string]any
	asked  []string
}

func (a *oauthAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch r.URL.Path {
	case "/oauth/token":
		id, secret, _ := r.BasicAuth()
		if id != "etl" || secret != a.secret {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}`)
	case "/v1/orders":
		if r.Header.Get("Authorization") != "Bearer tok-1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		a.asked = append(a.asked, r.URL.RawQuery)
		since := r.URL.Query().Get("updated_since")
		var sel []map[string]any
		for _, o := range a.orders {
			if o["updated_at"].(string) >= since {
				sel = append(sel, o)
			}
		}
		from, _ := strconv.Atoi(r.URL.Query().Get("after"))
		end := min(from+2, len(sel))
		body := map[string]any{"orders": sel[min(from, end):end], "paging": map[string]any{"next": nil}}
		if end < len(sel) {
			body["paging"] = map[string]any{"next": strconv.Itoa(end)}
		}
		_ = json.NewEncoder(w).Encode(body)
	default:
		http.NotFound(w, r)
	}
}

// A pipeline pulls a paginated, OAuth2-protected API into PostgreSQL with only YAML, its secret
// from the environment; the second run pulls only the orders changed since the first.
func TestRunRESTIntoPostgresIncrementally(t *testing.T) {
	pg := testutil.Postgres(t)
	api := &oauthAPI{secret: "s3cr3t-from-env"}
	for i := 1; i <= 5; i++ {
		api.orders = append(api.orders, map[string]any{"id": i, "total": float64(i) * 1.5, "updated_at": fmt.Sprintf("2024-03-0%dT10:00:00Z", i),
			"customer": map[string]any{"name": fmt.Sprintf("c%d", i)}})
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	file := filepath.Join(dir, "orders.yaml")
	if err := os.WriteFile(file, []byte(`version: 1
name: orders-from-api
sources:
  - id: orders
    type: rest
    config:
      url: ${API_BASE}/v1/orders
      auth: {type: oauth2, token_url: "${API_BASE}/oauth/token", client_id: etl, client_secret: "${ORDERS_CLIENT_SECRET}"}
      records_path: orders
      pagination: {type: cursor, path: paging.next, param: after}
      incremental: {param: updated_since}
    sync: {mode: incremental, cursor_field: updated_at}
destinations:
  - id: load
    type: postgres
    inputs: [orders]
    config: {url: "${PG_URL}", table: orders}
    write: {mode: upsert, key: [id]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("API_BASE", srv.URL)
	t.Setenv("PG_URL", pg.URL)

	// Unset, the secret is named.
	out, _, err := runCLI(t, "validate", "-f", file, "--data-dir", dir, "--no-open")
	if err == nil || !strings.Contains(out, "sources[0].config.auth.client_secret: environment variable ORDERS_CLIENT_SECRET is not set") {
		t.Fatalf("validate without the variable: %v\n%s", err, out)
	}
	t.Setenv("ORDERS_CLIENT_SECRET", "s3cr3t-from-env")
	if out, stderr, err := runCLI(t, "run", "-f", file, "--data-dir", dir, "--progress", "none"); err != nil {
		t.Fatalf("first run: %v\n%s\n%s", err, out, stderr)
	}
	conn, err := pgx.Connect(context.Background(), pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	count := func() (n int, names string) {
		if err := conn.QueryRow(context.Background(), `SELECT count(*), string_agg(customer->>'name', ',' ORDER BY id) FROM orders`).Scan(&n, &names); err != nil {
			t.Fatal(err)
		}
		return n, names
	}
	if n, names := count(); n != 5 || names != "c1,c2,c3,c4,c5" {
		t.Fatalf("after the first run: %d orders (%s)", n, names)
	}

	api.mu.Lock()
	api.orders[2]["customer"] = map[string]any{"name": "changed"}
	api.orders[2]["updated_at"] = "2024-03-09T10:00:00Z"
	api.asked = nil
	api.mu.Unlock()
	out, stderr, err := runCLI(t, "run", "-f", file, "--data-dir", dir, "--progress", "none")
	if err != nil {
		t.Fatalf("second run: %v\n%s\n%s", err, out, stderr)
	}
	if !strings.Contains(out, "1 rows read") && !strings.Contains(out, "rows read: 1") {
		t.Logf("summary: %s", out)
	}
	if n, names := count(); n != 5 || names != "c1,c2,changed,c4,c5" {
		t.Errorf("after the second run: %d orders (%s)", n, names)
	}
	if len(api.asked) != 1 || !strings.Contains(api.asked[0], "updated_since=2024-03-05T10%3A00%3A00Z") {
		t.Errorf("the second run asked %q, want one page of what changed after the first run's cursor", api.asked)
	}
	if strings.Contains(out+stderr, "s3cr3t-from-env") {
		t.Error("the secret appears in the output")
	}
}

// The command line reaches private addresses unless --deny-private-networks; the metadata address
// never.
func TestDenyPrivateNetworks(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `[{"id":1}]`) }))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	write := func(u string) string {
		f := filepath.Join(dir, "p.yaml")
		if err := os.WriteFile(f, []byte(fmt.Sprintf(`version: 1
name: p
sources:
  - id: in
    type: rest
    config: {url: %q}
destinations:
  - id: out
    type: ndjson
    inputs: [in]
    config: {path: out.ndjson}
`, u)), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := write(srv.URL + "/items")
	if out, _, err := runCLI(t, "preview", "-f", f, "--data-dir", dir); err != nil {
		t.Errorf("preview of a loopback API: %v\n%s", err, out)
	}
	_, stderr, err := runCLI(t, "preview", "-f", f, "--data-dir", dir, "--deny-private-networks")
	if err == nil || !strings.Contains(stderr, "(loopback address): not allowed unless ALLOWED_OUTBOUND_HOSTS lists it") {
		t.Errorf("--deny-private-networks: err = %v\n%s", err, stderr)
	}
	_, stderr, err = runCLI(t, "preview", "-f", write("http://169.254.169.254/latest/meta-data/"), "--data-dir", dir)
	if err == nil || !strings.Contains(stderr, "not allowed for any connector") {
		t.Errorf("metadata address: err = %v\n%s", err, stderr)
	}
}
