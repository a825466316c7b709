package conformance

import (
	"fmt"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Harness tells the suite how to drive one connector.
type Harness struct {
	// Connector is the connector under test. It implements connector.Source and/or
	// connector.Destination exactly as its Spec declares, and should implement Checker and Discoverer.
	Connector connector.Connector

	// NewTarget returns a fresh, empty target for one test case (a file path in t.TempDir(), a new table
	// in the test's own schema). Dest writes there; Source reads what was written there.
	NewTarget func(t *testing.T) Target

	// Kinds declares how each record kind round-trips (destination then source). Every kind except
	// null must be declared; NULL must come back as NULL in every field.
	Kinds map[record.Kind]Expect

	// TypedRead says the source reads untyped input (text formats): the suite passes the written
	// schema's kinds as ReadRequest.Overrides, as a pipeline that declares its field types does.
	// Without it, the source must report the kinds itself (a database's column types).
	TypedRead bool

	// Unordered says the source does not return rows in the order they were written; the suite then
	// sorts rows by the "id" field before comparing. Ordered sources are checked for order too.
	Unordered bool

	// Seed puts rows into a fresh target for a connector that is not a Destination.
	Seed func(t *testing.T, tg Target, s *record.Schema, rows []record.Row)
	// Fetch reads back everything in a target for a connector that is not a Source.
	Fetch func(t *testing.T, tg Target) (*record.Schema, []record.Row)

	// Crash simulates the death of the process holding w (drop its connection without committing).
	// Nil: the writer is simply abandoned, neither closed nor aborted.
	Crash func(t *testing.T, w connector.Writer)

	// BadConfigs are configurations Check must refuse, each with text the error must contain. The
	// suite always adds one of its own: the source config with an unknown key.
	BadConfigs []BadConfig

	// LargeRows is the size of the large stream (default 60,000); BatchSize the batch size the suite
	// asks for (default 1,000). A reader must not return batches larger than BatchSize.
	LargeRows int
	BatchSize int
	// Timeout bounds how long Next may take to notice a cancelled context (default 5s).
	Timeout time.Duration
}

// Target is one place to write to and read from.
type Target struct {
	// Env is passed to every call (file roots, uploads, logger).
	Env connector.Env
	// Source is a source config reading what Dest wrote; Dest is a destination config for the target.
	Source map[string]any
	Dest   map[string]any
	// Stream is passed as ReadRequest.Stream and WriteRequest.Stream when the connector takes the
	// object's name there rather than in its config.
	Stream string
}

// BadConfig is a configuration Check must refuse.
type BadConfig struct {
	Name string
	// Config builds the bad config for a fresh target.
	Config func(tg Target) map[string]any
	// Want is text the error must contain (a field name, "outside", "refused"...).
	Want string
}

// Expect says how values of one kind come back.
type Expect struct {
	// Kind is the kind the source reports the field as and the values come back as.
	Kind record.Kind
	// Convert maps a written value to the value expected back; nil means record.Cast to Kind (identity
	// when Kind is the written kind).
	Convert func(record.Value) (record.Value, error)
	// Unsupported, when set, says the destination cannot store this kind and why: writing it must fail
	// with an error naming the field.
	Unsupported string
}

// Exact says the kind comes back as written.
func Exact(k record.Kind) Expect { return Expect{Kind: k} }

// As says values come back cast to kind k with record.Cast (bytes as base64 text, json as its text).
func As(k record.Kind) Expect { return Expect{Kind: k} }

// AsFunc says values come back as kind k, converted by f.
func AsFunc(k record.Kind, f func(record.Value) (record.Value, error)) Expect {
	return Expect{Kind: k, Convert: f}
}

// Unsupported says the destination refuses fields of this kind, for the given reason.
func Unsupported(reason string) Expect { return Expect{Unsupported: reason} }

// expected returns the value v is expected to come back as.
func (e Expect) expected(v record.Value) (record.Value, error) {
	if v.IsNull() {
		return record.Null, nil
	}
	if e.Convert != nil {
		return e.Convert(v)
	}
	return record.Cast(v, e.Kind)
}

func (h *Harness) defaults() error {
	if h.Connector == nil {
		return fmt.Errorf("harness: Connector is nil")
	}
	if h.NewTarget == nil {
		return fmt.Errorf("harness: NewTarget is nil")
	}
	for _, k := range record.Kinds() {
		if k == record.KindNull {
			continue
		}
		if _, ok := h.Kinds[k]; !ok {
			return fmt.Errorf("harness: Kinds does not declare how %s round-trips (declare Exact, As, AsFunc or Unsupported)", k)
		}
	}
	if h.LargeRows <= 0 {
		h.LargeRows = 60_000
	}
	if h.BatchSize <= 0 {
		h.BatchSize = 1_000
	}
	if h.Timeout <= 0 {
		h.Timeout = 5 * time.Second
	}
	return nil
}
