package rest

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/netguard"
)

// guardEnv is a connector environment whose guarded HTTP client may reach the test servers on
// 127.0.0.1 (allow-listed as ALLOWED_OUTBOUND_HOSTS would), and nothing else private.
func guardEnv(t testing.TB) connector.Env {
	t.Helper()
	g, err := netguard.New(netguard.Options{Allowed: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	return connector.Env{HTTPClient: g.HTTPClient()}
}
