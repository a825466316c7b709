package app

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/testutil"
)

// TestOutboundGuardThroughTheAPI checks and previews PostgreSQL configurations through the
// running server: the cloud-metadata address and its IPv4-mapped form are refused at once with a
// clear message, even when ALLOWED_OUTBOUND_HOSTS tries to allow them, while 127.0.0.1 checks fine.
func TestOutboundGuardThroughTheAPI(t *testing.T) {
	if c, err := net.DialTimeout("tcp", "127.0.0.1:5432", 5*time.Second); err != nil {
		testutil.Unavailable(t, "PostgreSQL at 127.0.0.1:5432", err)
	} else {
		c.Close()
	}
	cfg := testConfig(t)
	cfg.AdminPassword = "Outbound-Guard-Passw0rd-1"
	cfg.AllowedOutbound = []string{"169.254.0.0/16", "::/0"} // cannot allow what every connector is refused
	r := start(t, cfg, Options{})
	s := signIn(t, r, cfg.AdminPassword)

	const refusal = "refused to connect to %s (link-local / cloud metadata address): not allowed for any connector"
	for i, tc := range []struct {
		host string
		want string // "" when the check must succeed
	}{
		{host: "169.254.169.254", want: "postgres: " + strings.Replace(refusal, "%s", "169.254.169.254:5432", 1)},
		{host: "::ffff:169.254.169.254", want: "postgres: " + strings.Replace(refusal, "%s", "[::ffff:169.254.169.254]:5432", 1)},
		{host: "127.0.0.1"},
	} {
		config := map[string]any{"host": tc.host, "port": 5432, "user": "postgres", "database": "test", "ssl_mode": "disable", "connect_timeout": 30}
		var c struct{ ID string }
		name := "pg" + string(rune('a'+i))
		if st := s.call(http.MethodPost, "/api/v1/connectors", map[string]any{"name": name, "type": "postgres", "config": config}, &c); st != http.StatusCreated {
			t.Fatalf("create connector for %s: %d", tc.host, st)
		}
		var check struct {
			OK      bool
			Message string
		}
		began := time.Now()
		st := s.call(http.MethodPost, "/api/v1/connectors/"+c.ID+"/check", nil, &check)
		took := time.Since(began)
		switch {
		case st != http.StatusOK:
			t.Errorf("check %s: status %d", tc.host, st)
		case tc.want == "" && !check.OK:
			t.Errorf("check %s: %+v, want ok", tc.host, check)
		case tc.want != "" && (check.OK || check.Message != tc.want):
			t.Errorf("check %s: %+v\nwant message %q", tc.host, check, tc.want)
		}
		// A dial attempt to an unrouted address would wait for the 30 s connect timeout.
		if took > 10*time.Second {
			t.Errorf("check %s took %s: the refusal must not wait for a connection attempt", tc.host, took)
		}
		if tc.want == "" {
			continue
		}

		spec := "version: 1\nname: guard-preview\nsources:\n  - id: src\n    type: postgres\n    config: {host: \"" + tc.host +
			"\", port: 5432, user: postgres, database: test, table: t, connect_timeout: 30}\ndestinations:\n  - id: out\n    type: csv\n    inputs: [src]\n    config: {path: out.csv}\n"
		var preview struct {
			Errors []struct{ Message, Location string }
		}
		began = time.Now()
		st = s.call(http.MethodPost, "/api/v1/pipelines/preview", spec, &preview)
		took = time.Since(began)
		if st != http.StatusUnprocessableEntity || len(preview.Errors) != 1 || preview.Errors[0].Location != "body.sources[0]" ||
			preview.Errors[0].Message != "open postgres source: "+tc.want {
			t.Errorf("preview %s: %d %+v\nwant 422 with sources[0]: open postgres source: %s", tc.host, st, preview, tc.want)
		}
		if took > 10*time.Second {
			t.Errorf("preview %s took %s: the refusal must not wait for a connection attempt", tc.host, took)
		}
	}
}
