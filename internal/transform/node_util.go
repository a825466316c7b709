package transform

import (
	"fmt"
	"strings"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
)

// decodeConfig validates raw against spec and decodes it into dst.
func decodeConfig(spec configspec.Spec, raw map[string]any, dst any) error {
	if raw == nil {
		raw = map[string]any{}
	}
	return spec.Decode(raw, dst)
}

// errs collects config problems with their paths.
type errs struct{ list configspec.Errors }

func (e *errs) add(path, format string, args ...any) {
	e.list = append(e.list, configspec.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (e *errs) err() error { return e.list.Err() }

// rejectRow sends row i of b to the error policy, naming the field and the reason.
func rejectRow(out Output, b *record.Batch, i int, field, reason string) error {
	return out.Reject(record.Reject{Pos: b.PosOf(i), Field: field, Reason: reason, Values: b.TextValues(i)})
}

// unknownField words a missing-field message with what there is.
func unknownField(name string, s *record.Schema) string {
	return fmt.Sprintf("unknown field %q (fields are: %s)", name, strings.Join(s.Names(), ", "))
}

// singleInput checks the input count of a one-input node.
func singleInput(name string, inputs []*record.Schema) error {
	if len(inputs) != 1 || inputs[0] == nil {
		return fmt.Errorf("%s takes exactly one input, got %d", name, len(inputs))
	}
	return nil
}

// kindEnum lists the type names a config may give (every kind but null).
func kindEnum() []string {
	out := make([]string, 0, 10)
	for _, k := range record.Kinds() {
		if k != record.KindNull {
			out = append(out, k.String())
		}
	}
	return out
}

// compact keeps the rows of b whose keep flag is set, in order, in place.
func compact(b *record.Batch, keep []bool) {
	n := 0
	hasPos := len(b.Pos) == len(b.Rows)
	for i := range b.Rows {
		if !keep[i] {
			continue
		}
		b.Rows[n] = b.Rows[i]
		if hasPos {
			b.Pos[n] = b.Pos[i]
		}
		n++
	}
	clear(b.Rows[n:])
	b.Rows = b.Rows[:n]
	if hasPos {
		b.Pos = b.Pos[:n]
	}
}

// emitInPlace passes b downstream with the given schema when it still has rows.
func emitInPlace(out Output, b *record.Batch, s *record.Schema) error {
	b.Schema = s
	b.Rejects = nil
	if len(b.Rows) == 0 {
		return nil
	}
	return out.Emit(b)
}

// emitBuilt emits the builder's batch, if any rows were added, carrying in's byte count.
func emitBuilt(out Output, bld *record.Builder, bytes int64) error {
	b := bld.Take()
	if b == nil || len(b.Rows) == 0 {
		return nil
	}
	b.Bytes = bytes
	return out.Emit(b)
}
