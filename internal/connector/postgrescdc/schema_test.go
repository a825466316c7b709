package postgrescdc_test

import (
	"context"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// schemaRow is a change with the schema of the batch that carried it.
type schemaRow struct {
	schema *record.Schema
	id     int64
	qty    record.Value
	note   record.Value
}

func readSchemaRows(t *testing.T, r connector.Reader, n int) []schemaRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []schemaRow
	for len(out) < n {
		b, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("next after %d changes: %v", len(out), err)
		}
		if b == nil {
			continue
		}
		for i := range b.Rows {
			sr := schemaRow{schema: b.Schema, id: b.Get(i, "id").AsInt(), qty: b.Get(i, "qty"), note: record.Null}
			if b.Schema.Index("note") >= 0 {
				sr.note = b.Get(i, "note")
			}
			out = append(out, sr)
		}
	}
	return out
}

// TestSchemaChangesDuringTheStream: an ADD COLUMN and an ALTER COLUMN ... TYPE on a captured table
// while the stream runs give the rows after them a new schema (the column added before the change
// fields, the column's new kind); the rows before keep the old one. A reader started from before
// the change (a resume) reads the old rows with the new, wider type.
func TestSchemaChangesDuringTheStream(t *testing.T) {
	f := setup(t)
	f.config["snapshot"] = "never"
	r := f.open(t, nil) // creates the slot
	f.exec(t, "INSERT INTO items (id, qty) VALUES (1, 10)")
	before := readSchemaRows(t, r, 1)
	f.exec(t, "ALTER TABLE items ADD COLUMN note text, ALTER COLUMN qty TYPE numeric(12,2)")
	f.exec(t, "INSERT INTO items (id, qty, note) VALUES (2, 20.5, 'new')")
	after := readSchemaRows(t, r, 1)
	r.Close()
	if before[0].schema.Index("note") >= 0 || before[0].qty.Kind() != record.KindInt {
		t.Fatalf("the row before the change has schema %v and qty %v", before[0].schema.Names(), before[0].qty)
	}
	s := after[0].schema
	if s == before[0].schema || s.Index("note") < 0 || s.Index("note") > s.Index("_op") {
		t.Fatalf("the row after the change has schema %v, want note among the table's columns", s.Names())
	}
	if k := s.Fields[s.Index("qty")].Kind; k != record.KindDecimal || after[0].qty.String() != "20.50" || after[0].note.Str() != "new" {
		t.Fatalf("the row after the change: qty %v (%s), note %v", after[0].qty, k, after[0].note)
	}

	// a new reader from the slot's start reads row 1 (old relation: integer) as decimal
	r2 := f.open(t, nil)
	defer r2.Close()
	again := readSchemaRows(t, r2, 2)
	if again[0].id != 1 || again[0].qty.Kind() != record.KindDecimal || again[0].qty.String() != "10" || !again[0].note.IsNull() {
		t.Fatalf("row 1 read again: qty %v (%s), note %v", again[0].qty, again[0].qty.Kind(), again[0].note)
	}
	if again[1].id != 2 || again[1].note.Str() != "new" {
		t.Fatalf("row 2 read again: %+v", again[1])
	}
}
