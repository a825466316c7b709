package streamkit_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/connector/streamkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

func jsonDecoder(t testing.TB, fields ...streamkit.FieldConfig) *streamkit.Decoder {
	t.Helper()
	d, err := streamkit.NewDecoder(streamkit.Payload{Format: streamkit.JSON, Fields: fields},
		[]record.Field{{Name: "_offset", Kind: record.KindInt}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDecodeJSONFields: declared fields are read by name into their types (keys not declared are
// ignored, a repeated key keeps its last value); a payload that is not an object, or a value that
// does not fit its field, is a reject naming the field, the source and the position.
func TestDecodeJSONFields(t *testing.T) {
	t.Parallel()
	d := jsonDecoder(t, streamkit.FieldConfig{Name: "id", Type: "int"}, streamkit.FieldConfig{Name: "name"},
		streamkit.FieldConfig{Name: "amount", Type: "decimal"}, streamkit.FieldConfig{Name: "ok", Type: "bool"},
		streamkit.FieldConfig{Name: "at", Type: "timestamp"}, streamkit.FieldConfig{Name: "doc", Type: "json"})
	for _, tc := range []struct {
		payload string
		want    map[string]any
		field   string // of the reject, when there is one
		reason  string
	}{
		{payload: `{"id": 1, "name": "a", "amount": 12.25, "ok": true, "at": "2026-01-02T03:04:05Z", "doc": {"x": [1]}, "extra": 1}`,
			want: map[string]any{"id": int64(1), "name": "a", "amount": "12.25", "ok": true, "at": "2026-01-02T03:04:05Z", "doc": `{"x":[1]}`}},
		{payload: ` {"name": "caf\u00e9 \"q\"", "id": 2, "id": 3} `, want: map[string]any{"id": int64(3), "name": `café "q"`}},
		{payload: `{"name": 12, "amount": "1e2"}`, want: map[string]any{"name": "12", "amount": "100"}},
		{payload: `{}`, want: map[string]any{}},
		{payload: `{"id": "x"}`, field: "id", reason: `invalid integer "x"`},
		{payload: `{"id": 1, "ok": "maybe"}`, field: "ok", reason: "want a boolean"},
		{payload: `{"id": 99999999999999999999}`, field: "id", reason: "outside the int64 range"},
		{payload: `[1, 2]`, reason: "payload is not a JSON object: json: cannot unmarshal array"},
		{payload: `null`, reason: "payload is not a JSON object"},
		{payload: `{"id": 1`, reason: "payload is not a JSON object: unexpected end of JSON input"},
		{payload: ``, reason: "payload is not a JSON object"},
	} {
		b := record.NewBuilder(d.Schema(), 10)
		n := d.Add(b, []byte(tc.payload), 7, "t/0@7", func(r record.Row) { r[0] = record.Int(7) })
		out := b.Take()
		if tc.reason != "" {
			if n != 0 || out.Len() != 0 || len(out.Rejects) != 1 {
				t.Errorf("%s: %d rows, rejects %+v, want one reject", tc.payload, out.Len(), out.Rejects)
				continue
			}
			rj := out.Rejects[0]
			if rj.Field != tc.field || !strings.Contains(rj.Reason, tc.reason) || rj.Source != "t/0@7" || rj.Pos != 7 || rj.Raw != strings.TrimSpace(tc.payload) {
				t.Errorf("%s: reject %+v, want field %q, reason %q at t/0@7", tc.payload, rj, tc.field, tc.reason)
			}
			continue
		}
		if n != 1 || out.Len() != 1 || len(out.Rejects) != 0 {
			t.Errorf("%s: %d rows, rejects %+v, want one row", tc.payload, out.Len(), out.Rejects)
			continue
		}
		got := map[string]any{}
		for i, f := range out.Schema.Fields {
			if v := out.Rows[0][i]; !v.IsNull() && f.Name != "_offset" {
				got[f.Name] = v.String()
				switch v.Kind() {
				case record.KindInt:
					got[f.Name] = v.AsInt()
				case record.KindBool:
					got[f.Name] = v.AsBool()
				}
			}
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.payload, d)
		}
		if off := out.Rows[0][len(out.Schema.Fields)-1]; off.AsInt() != 7 {
			t.Errorf("%s: metadata field %v, want 7", tc.payload, off)
		}
	}
}

// TestDecodeJSONBatchesKeepTheirStrings: the strings of a batch stay as they were while the
// decoder fills later batches (they live in an arena that each batch replaces, never reuses).
func TestDecodeJSONBatchesKeepTheirStrings(t *testing.T) {
	t.Parallel()
	d := jsonDecoder(t, streamkit.FieldConfig{Name: "name"})
	var batches []*record.Batch
	for k := range 50 {
		b := record.NewBuilder(d.Schema(), 100)
		for i := range 100 {
			d.Add(b, fmt.Appendf(nil, `{"name":"batch %d row %d %s"}`, k, i, strings.Repeat("x", i*10)), int64(i), "t", func(record.Row) {})
		}
		batches = append(batches, b.Take())
	}
	for k, out := range batches {
		for i := range 100 {
			if got, want := out.Rows[i][0].String(), fmt.Sprintf("batch %d row %d %s", k, i, strings.Repeat("x", i*10)); got != want {
				t.Fatalf("batch %d row %d: %q, want %q", k, i, got, want)
			}
		}
	}
}
