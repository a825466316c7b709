package sqlkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/netguard"
)

type fakeConn struct{ closed int }

func fakeKit(conn *fakeConn, connectErr error) Kit[TableConfig, *fakeConn] {
	return Kit[TableConfig, *fakeConn]{
		Decode: func(_ connector.Spec, raw map[string]any) (TableConfig, error) {
			if raw["bad"] != nil {
				return TableConfig{}, connector.ConfigError(errors.New("bad: not allowed"))
			}
			q, _ := raw["query"].(string)
			return TableConfig{Table: "t", Query: q}, nil
		},
		Connect: func(context.Context, connector.DialFunc, TableConfig) (*fakeConn, error) { return conn, connectErr },
		Close:   func(c *fakeConn) { c.closed++ },
		Secrets: func(TableConfig) []string { return []string{"s3cret"} },
	}
}

func TestKitClosesAndScrubs(t *testing.T) {
	ctx := context.Background()
	fail := errors.New("server said: password s3cret is wrong")
	for _, tc := range []struct {
		name       string
		raw        map[string]any
		connectErr error
		hand       bool
		fnErr      error
		wantClosed int
		wantErr    string // "" for none; the error must never hold the secret
	}{
		{name: "use closes after success", raw: map[string]any{}, wantClosed: 1},
		{name: "use closes after failure", raw: map[string]any{}, fnErr: fail, wantClosed: 1, wantErr: "server said"},
		{name: "hand keeps the connection", raw: map[string]any{}, hand: true, wantClosed: 0},
		{name: "hand closes after failure", raw: map[string]any{}, hand: true, fnErr: fail, wantClosed: 1, wantErr: "server said"},
		{name: "connect failure is scrubbed", raw: map[string]any{}, connectErr: fail, wantErr: "server said"},
		{name: "config errors stop before connecting", raw: map[string]any{"bad": true}, wantErr: "bad: not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := &fakeConn{}
			k := fakeKit(conn, tc.connectErr)
			fn := func(TableConfig, *fakeConn) (int, error) { return 7, tc.fnErr }
			var got int
			var err error
			if tc.hand {
				got, err = Hand(ctx, k, tc.raw, fn)
			} else {
				got, err = Use(ctx, k, tc.raw, fn)
			}
			if conn.closed != tc.wantClosed {
				t.Errorf("closed %d times, want %d", conn.closed, tc.wantClosed)
			}
			switch {
			case tc.wantErr == "" && (err != nil || got != 7):
				t.Errorf("got %d, %v; want 7, nil", got, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), "s3cret"):
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestForWriterRefusesBeforeConnecting(t *testing.T) {
	for _, tc := range []struct {
		raw  map[string]any
		req  connector.WriteRequest
		want error
	}{
		{raw: map[string]any{"query": "SELECT 1"}, req: connector.WriteRequest{Mode: connector.Append}, want: connector.ErrConfig},
		{raw: map[string]any{}, req: connector.WriteRequest{Mode: connector.Upsert}, want: connector.ErrConfig},
		{raw: map[string]any{}, req: connector.WriteRequest{Mode: "merge"}, want: connector.ErrUnsupported},
	} {
		conn := &fakeConn{}
		k := ForWriter(fakeKit(conn, errors.New("must not connect")), func(c TableConfig) TableConfig { return c }, tc.req)
		_, err := Hand(context.Background(), k, tc.raw, func(TableConfig, *fakeConn) (int, error) { return 0, nil })
		if !errors.Is(err, tc.want) {
			t.Errorf("%v %+v: err = %v, want %v", tc.raw, tc.req, err, tc.want)
		}
	}
	if got := TableOf(TableConfig{}, connector.WriteRequest{Stream: "s"}); got != "s" {
		t.Errorf("TableOf = %q, want the stream", got)
	}
}

// dialKit is a kit whose Connect dials addr through the dial the kit hands it and wraps the error
// as drivers do.
func dialKit(env connector.Env, addr string) Kit[TableConfig, *fakeConn] {
	k := fakeKit(&fakeConn{}, nil)
	k.Spec, k.Env = connector.Spec{Name: "fake"}, env
	k.Connect = func(ctx context.Context, dial connector.DialFunc, _ TableConfig) (*fakeConn, error) {
		conn, err := dial(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("fake at %s: connect: failed to connect: dial error: %w", addr, err)
		}
		conn.Close()
		return &fakeConn{}, nil
	}
	return k
}

func TestKitDialsThroughTheEnvGuard(t *testing.T) {
	ctx := context.Background()
	noop := func(TableConfig, *fakeConn) (int, error) { return 0, nil }

	// A zero Env still dials through the guard: the refusal is a config error with the guard's
	// message alone, not the driver's wrapping.
	_, err := Use(ctx, dialKit(connector.Env{}, "169.254.169.254:5432"), map[string]any{}, noop)
	want := "fake: refused to connect to 169.254.169.254:5432 (link-local / cloud metadata address): not allowed for any connector"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if !errors.Is(err, connector.ErrConfig) || !errors.Is(err, netguard.ErrRefused) {
		t.Errorf("err = %v: want ErrConfig and netguard.ErrRefused in its chain", err)
	}

	// The Env's own dialer is the one used.
	var dialed []string
	env := connector.Env{Dial: func(_ context.Context, network, addr string) (net.Conn, error) {
		dialed = append(dialed, network+" "+addr)
		return nil, errors.New("no network here")
	}}
	if _, err := Use(ctx, dialKit(env, "db.internal:5432"), map[string]any{}, noop); err == nil || !strings.Contains(err.Error(), "no network here") {
		t.Errorf("err = %v, want the env dialer's error", err)
	}
	if len(dialed) != 1 || dialed[0] != "tcp db.internal:5432" {
		t.Errorf("env dialer saw %q, want one dial of tcp db.internal:5432", dialed)
	}
}
