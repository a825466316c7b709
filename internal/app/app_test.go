package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/config"
	"github.com/dataaggregator/aggregator/internal/store/storetest"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	storetest.Seed(t, filepath.Join(cfg.DataDir, "aggregator.db")) // migrated already: a second of CPU less under -race
	cfg.Port = 8001
	cfg.PasswordHashCost = 4 // bcrypt's least cost: the default's hashing is slow under -race
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

type running struct {
	app     *App
	base    string
	console *testutil.SyncBuffer
	logs    *testutil.SyncBuffer
	cancel  context.CancelFunc
	done    chan error
}

// start builds and runs the app on a random local port; the test ends it.
func start(t *testing.T, cfg config.Config, opts Options) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &running{console: &testutil.SyncBuffer{}, logs: &testutil.SyncBuffer{}, done: make(chan error, 1)}
	opts.Listener, opts.Console = ln, r.console
	opts.Logger = NewLogger(cfg, r.logs)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, opts)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatal(err)
	}
	r.app, r.cancel, r.base = a, cancel, "http://"+ln.Addr().String()
	go func() { r.done <- a.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
}

func postJSON(t *testing.T, url string, body any) (*http.Response, []byte) {
	t.Helper()
	raw, _ := json.Marshal(body)
	res, err := http.Post(url, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, out
}

var bannerPassword = regexp.MustCompile(`password: (\S+)`)

func TestFirstStartPrintsAdminPasswordOnceAndServes(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	r := start(t, cfg, Options{Version: "t1"})
	m := bannerPassword.FindStringSubmatch(r.console.String())
	if m == nil {
		t.Fatalf("no generated password in the console output:\n%s", r.console.String())
	}
	if !strings.Contains(r.console.String(), "Sign in at http://localhost:8001/") {
		t.Fatalf("banner lacks the login URL:\n%s", r.console.String())
	}
	if strings.Contains(r.logs.String(), m[1]) {
		t.Fatal("the generated password is in the JSON log")
	}
	res, body := postJSON(t, r.base+"/api/v1/auth/login", map[string]string{"login": "admin", "password": m[1]})
	if res.StatusCode != 200 {
		t.Fatalf("login with the printed password: %d %s", res.StatusCode, body)
	}
	res2, err := http.Get(r.base + "/readyz")
	if err != nil || res2.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", res2, err)
	}
	res2.Body.Close()
	r.stop(t)

	// Second start on the same data: no new admin, no banner.
	r2 := start(t, cfg, Options{})
	if strings.Contains(r2.console.String(), "password:") {
		t.Fatalf("second start printed a password:\n%s", r2.console.String())
	}
	res, _ = postJSON(t, r2.base+"/api/v1/auth/login", map[string]string{"login": "admin", "password": m[1]})
	if res.StatusCode != 200 {
		t.Fatalf("login after restart: %d", res.StatusCode)
	}
}

func TestAdminPasswordFromEnvironment(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.AdminPassword = "Chosen-Root-Passw0rd-7"
	cfg.SecretKey = "a-very-secret-key-that-is-long-enough-1234"
	cfg.CreateDevUser = true
	cfg.LogLevel = "debug"
	r := start(t, cfg, Options{})
	if strings.Contains(r.console.String(), cfg.AdminPassword) {
		t.Fatal("the chosen ADMIN_PASSWORD was printed")
	}
	if !strings.Contains(r.logs.String(), `"msg":"configuration"`) {
		t.Fatal("the configuration was not logged at debug level")
	}
	for _, secret := range []string{cfg.AdminPassword, cfg.SecretKey} {
		if strings.Contains(r.logs.String(), secret) {
			t.Fatalf("the log contains a secret:\n%s", r.logs.String())
		}
	}
	if res, body := postJSON(t, r.base+"/api/v1/auth/login", map[string]string{"login": "admin", "password": cfg.AdminPassword}); res.StatusCode != 200 {
		t.Fatalf("login: %d %s", res.StatusCode, body)
	}
	if !strings.Contains(r.console.String(), "CREATE_DEV_USER") {
		t.Fatalf("developer user banner missing:\n%s", r.console.String())
	}
}

func TestStartRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*config.Config)
		want string
	}{
		{"pending schema without AUTO_INIT_DB", func(c *config.Config) {
			c.AutoInitDB = false
			_ = os.Remove(filepath.Join(c.DataDir, "aggregator.db")) // testConfig's migrated store: start on an empty one
		}, "aggregator migrate up"},
		{"weak ADMIN_PASSWORD", func(c *config.Config) { c.AdminPassword = "admin" }, "ADMIN_PASSWORD"},
		{"unreachable Redis", func(c *config.Config) { c.RedisURL = "redis://127.0.0.1:1/0" }, "REDIS_URL"},
		{"unreachable PostgreSQL", func(c *config.Config) { c.DatabaseURL = "postgres://nobody@127.0.0.1:1/db?connect_timeout=2" }, "DATABASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			tt.edit(&cfg)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			a, err := New(context.Background(), cfg, Options{Listener: ln, Console: io.Discard, Logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				a.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestPostgresAndRedis(t *testing.T) {
	pg := testutil.Postgres(t)
	rd := testutil.RedisURL(t)
	cfg := testConfig(t)
	cfg.DatabaseURL = pg.URL
	cfg.RedisURL = rd.URL
	cfg.AdminPassword = "Chosen-Root-Passw0rd-7"
	cfg.APIRateLimit = 1000
	r := start(t, cfg, Options{RedisKeyPrefix: rd.Prefix})
	res, err := http.Get(r.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"database":"postgres"`) {
		t.Fatalf("readyz: %d %s", res.StatusCode, body)
	}
	// Failed logins lock through Redis: the lock key appears under the prefix.
	for range 5 {
		postJSON(t, r.base+"/api/v1/auth/login", map[string]string{"login": "admin", "password": "wrong-password-x"})
	}
	res, body = postJSON(t, r.base+"/api/v1/auth/login", map[string]string{"login": "admin", "password": cfg.AdminPassword})
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("login after 5 failures: %d %s", res.StatusCode, body)
	}
}

// TestShutdownDrainsThenCancels exercises the two phases: an in-flight
// request finishes during drain; one that outlives the timeout is cut.
func TestShutdownDrainsThenCancels(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		release   bool // the handler finishes on its own during drain
		wantError bool
	}{
		{"drain completes", true, false},
		{"drain times out", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(entered)
				select {
				case <-release:
					_, _ = w.Write([]byte("done"))
				case <-r.Context().Done():
				}
			})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			drained := make(chan error, 1)
			served := make(chan error, 1)
			go func() {
				served <- serveHTTP(ctx, ln, h, 200*time.Millisecond, func(err error) { drained <- err })
			}()
			got := make(chan string, 1)
			go func() {
				res, err := http.Get("http://" + ln.Addr().String() + "/")
				if err != nil {
					got <- "error: " + err.Error()
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				got <- string(b)
			}()
			<-entered
			cancel() // SIGTERM
			if tt.release {
				// New connections are refused once draining started.
				deadline := time.Now().Add(5 * time.Second)
				for {
					c, err := net.DialTimeout("tcp", ln.Addr().String(), 100*time.Millisecond)
					if err != nil {
						break
					}
					c.Close()
					if time.Now().After(deadline) {
						t.Fatal("listener still accepts after shutdown began")
					}
				}
				close(release)
			}
			err = <-served
			if (err != nil) != tt.wantError {
				t.Fatalf("serveHTTP: %v, want error %v", err, tt.wantError)
			}
			derr := <-drained
			if tt.release && derr != nil {
				t.Fatalf("drain: %v", derr)
			}
			if !tt.release && !errors.Is(derr, context.DeadlineExceeded) {
				t.Fatalf("drain error %v, want deadline exceeded", derr)
			}
			resp := <-got
			if tt.release && resp != "done" {
				t.Fatalf("in-flight request got %q, want done", resp)
			}
			if !tt.release && resp == "done" {
				t.Fatal("request outlived the timeout and completed")
			}
		})
	}
}
