package sqlkit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/netguard"
)

// Kit is how one database connector decodes its config and connects. Use and Hand run the steps
// every connector operation (Check, Discover, Open, OpenWriter) repeats around its own work: decode
// the config against the spec, connect through Env's guarded dialer, do the work, close the
// connection when it is no longer needed, and scrub the config's secrets from every error.
type Kit[C, H any] struct {
	Spec connector.Spec
	// Env is the environment of the operation; Connect dials through its Dialer, so the outbound
	// guard applies to every check, discover, preview and run.
	Env    connector.Env
	Decode func(connector.Spec, map[string]any) (C, error)
	// Connect opens the connection (pool), every network connection through dial.
	Connect func(ctx context.Context, dial connector.DialFunc, cfg C) (H, error)
	Close   func(H)
	Secrets func(C) []string
}

// Use runs fn with the decoded config and a new connection, which it closes when fn returns.
func Use[C, H, R any](ctx context.Context, k Kit[C, H], raw map[string]any, fn func(C, H) (R, error)) (R, error) {
	return run(ctx, k, raw, true, fn)
}

// Hand is Use for a result that keeps the connection (a reader, a writer, which close it
// themselves): the connection is closed only when fn fails.
func Hand[C, H, R any](ctx context.Context, k Kit[C, H], raw map[string]any, fn func(C, H) (R, error)) (R, error) {
	return run(ctx, k, raw, false, fn)
}

func run[C, H, R any](ctx context.Context, k Kit[C, H], raw map[string]any, closeAfter bool, fn func(C, H) (R, error)) (R, error) {
	var zero R
	cfg, err := k.Decode(k.Spec, raw)
	if err != nil {
		return zero, err
	}
	h, err := k.Connect(ctx, k.Env.Dialer(), cfg)
	if err != nil {
		if r := netguard.Refusal(err); r != nil {
			// The guard's own message says what and why; the driver's wrapping adds nothing.
			return zero, connector.ConfigError(fmt.Errorf("%s: %w", k.Spec.Name, r))
		}
		return zero, Scrub(err, k.Secrets(cfg)...)
	}
	r, err := fn(cfg, h)
	if closeAfter || err != nil {
		k.Close(h)
	}
	if err != nil {
		return zero, Scrub(err, k.Secrets(cfg)...)
	}
	return r, nil
}

// CloseDB closes a database/sql pool (a Kit's Close).
func CloseDB(db *sql.DB) { _ = db.Close() }

// Done adapts a function returning only an error to Use.
func Done(err error) (struct{}, error) { return struct{}{}, err }

// ForWriter is k whose Decode also refuses, before connecting, what a destination cannot do
// (CheckWrite).
func ForWriter[C, H any](k Kit[C, H], table func(C) TableConfig, req connector.WriteRequest) Kit[C, H] {
	decode := k.Decode
	k.Decode = func(s connector.Spec, raw map[string]any) (C, error) {
		c, err := decode(s, raw)
		if err != nil {
			return c, err
		}
		return c, CheckWrite(table(c), req)
	}
	return k
}

// CheckWrite refuses a destination config with a query, an upsert without a key, and a write mode
// no SQL destination knows.
func CheckWrite(t TableConfig, req connector.WriteRequest) error {
	if t.Query != "" {
		return connector.ConfigError(errors.New("query: a destination writes a table; remove query"))
	}
	switch req.Mode {
	case "", connector.Append, connector.Overwrite:
	case connector.Upsert:
		if len(req.Key) == 0 {
			return connector.ConfigError(errors.New("write.key: upsert needs a key"))
		}
	default:
		return fmt.Errorf("write mode %q: %w", req.Mode, connector.ErrUnsupported)
	}
	return nil
}

// CheckDestination is a connector's connector.DestinationChecker: it decodes the config, connects,
// and checks with CheckTarget the table the destination would write (TableOf) in the schema inspect
// names, through the Inspector inspect gives. Secrets are scrubbed from every error.
func CheckDestination[C, H any](ctx context.Context, k Kit[C, H], raw map[string]any, req connector.WriteRequest, table func(C) TableConfig,
	inspect func(context.Context, C, H) (ins Inspector, schema string, err error)) error {
	_, err := Use(ctx, k, raw, func(cfg C, h H) (struct{}, error) {
		ins, schema, err := inspect(ctx, cfg, h)
		if err != nil {
			return Done(err)
		}
		return Done(CheckTarget(ctx, ins, schema, TableOf(table(cfg), req), table(cfg), req))
	})
	return err
}

// TableOf is the table a destination writes: the config's, else the request's stream.
func TableOf(t TableConfig, req connector.WriteRequest) string {
	if t.Table != "" {
		return t.Table
	}
	return req.Stream
}
