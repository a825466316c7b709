package sqlkit

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
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
		Connect: func(context.Context, TableConfig) (*fakeConn, error) { return conn, connectErr },
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
