package connections

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
)

// rotator is a connector whose Check refreshes its token and persists the new one (and, when
// asked, a field it may not save), as an OAuth connector with rotating refresh tokens would.
type rotator struct{}

func (rotator) Spec() connector.Spec {
	return connector.Spec{Name: "rotator", Source: true, Config: configspec.Spec{Params: []configspec.Param{
		{Name: "host", Type: configspec.String, Required: true},
		{Name: "refresh_token", Type: configspec.String, Secret: true},
		{Name: "auth", Type: configspec.Object, Fields: []configspec.Param{{Name: "refresh_token", Type: configspec.String, Secret: true}}},
	}}}
}

func (rotator) Check(ctx context.Context, env connector.Env, cfg map[string]any) error {
	fields := map[string]string{"refresh_token": cfg["refresh_token"].(string) + "-next"}
	switch cfg["host"] {
	case "bad":
		fields["host"] = "elsewhere"
	case "nested": // a secret in a nested object is named by its path
		fields = map[string]string{"auth.refresh_token": cfg["auth"].(map[string]any)["refresh_token"].(string) + "-next"}
	}
	return env.PersistCredentials(ctx, fields)
}

func TestRefreshedCredentialsAreSavedSealed(t *testing.T) {
	e := setup(t, setupOpts{})
	reg, err := connector.NewRegistry(rotator{})
	if err != nil {
		t.Fatal(err)
	}
	e.svc.conns = reg
	for _, tc := range []struct {
		host    string
		want    string // the token after Check
		wantMsg string
		// wantNested is auth.refresh_token after Check ("": unchanged)
		wantNested string
	}{
		{host: "h", want: "tok-next", wantMsg: "connection works"},
		{host: "bad", want: "tok", wantMsg: `"host" is not a secret field of connector type rotator`},
		{host: "nested", want: "tok", wantNested: "ntok-next", wantMsg: "connection works"},
	} {
		c, err := e.svc.Create(bg, Input{Name: "r-" + tc.host, Type: "rotator", Config: map[string]any{"host": tc.host, "refresh_token": "tok",
			"auth": map[string]any{"refresh_token": "ntok"}}}, "u1")
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.svc.Check(bg, c.ID)
		if err != nil || !strings.Contains(res.Message, tc.wantMsg) {
			t.Errorf("%s: check = %+v, %v; want message containing %q", tc.host, res, err, tc.wantMsg)
		}
		_, cfg, err := e.svc.Resolve(bg, "r-"+tc.host)
		if err != nil || cfg["refresh_token"] != tc.want {
			t.Errorf("%s: stored token = %v (%v), want %q", tc.host, cfg["refresh_token"], err, tc.want)
		}
		wantNested := tc.wantNested
		if wantNested == "" {
			wantNested = "ntok"
		}
		if got := cfg["auth"].(map[string]any)["refresh_token"]; got != wantNested {
			t.Errorf("%s: stored auth.refresh_token = %v, want %q", tc.host, got, wantNested)
		}
		stored, err := e.st.GetConnector(bg, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored.Secrets, tc.want) || strings.Contains(string(stored.Config), `"`+tc.want) || stored.SecretsKeyID == "" {
			t.Errorf("%s: the saved token is not sealed: config %s", tc.host, stored.Config)
		}
	}
	// Without a saved connector there is nowhere to save: the connector is told so.
	if err := (rotator{}).Check(bg, connector.Env{}, map[string]any{"host": "h", "refresh_token": "t"}); !errors.Is(err, connector.ErrCredentialsNotPersisted) {
		t.Errorf("inline config: err = %v, want ErrCredentialsNotPersisted", err)
	}
}
