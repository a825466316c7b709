package transform

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/dataaggregator/aggregator/internal/record"
)

// next is an Output that hands every batch, as it is (no copy), to the following node.
type next struct {
	node Node
	out  Output
}

func (o next) Emit(b *record.Batch) error   { return o.node.Process(context.Background(), 0, b, o.out) }
func (o next) Reject(r record.Reject) error { return o.out.Reject(r) }
func (o next) Count(c Counter, n int64)     { o.out.Count(c, n) }

// sink keeps the final batches as they are, to check the memory they share with the input.
type sink struct {
	batches []*record.Batch
	rejects []record.Reject
}

func (s *sink) Emit(b *record.Batch) error   { s.batches = append(s.batches, b); return nil }
func (s *sink) Reject(r record.Reject) error { s.rejects = append(s.rejects, r); return nil }
func (s *sink) Count(Counter, int64)         {}

// TestMapExpressionChainKeepsEveryValue runs map (narrowing) then expression (appending three
// fields) on one multi-row batch whose rows own 0 to 3 spare slots, or whose capacity runs into the
// next rows (no RowCap promise), and checks every value of every row against values computed
// here: a row extended into memory another row uses would show up as a wrong value.
func TestMapExpressionChainKeepsEveryValue(t *testing.T) {
	const rows = 64
	s := schemaOf(t, "id:int", "name:string", "qty:int", "price:float", "note:string")
	input := func(i int) record.Row {
		id := int64(i + 1)
		return record.Row{record.Int(id), record.String("name" + strconv.Itoa(i+1)), record.Int(id % 13),
			record.Float(float64(id) + 0.5), record.String("note" + strconv.Itoa(i+1))}
	}
	const badID = 7 // qty % (id - 7) divides by zero: the row is rejected by the expression node
	fromBuilder := func(spare int) *record.Batch {
		bld := record.NewBuilder(s, rows)
		bld.Reserve(spare)
		for i := range rows {
			copy(bld.Row(int64(i+1)), input(i))
		}
		return bld.Take()
	}
	overlapping := func() *record.Batch { // rows sliced with two indexes: each row's capacity runs on
		vals := make([]record.Value, rows*5, rows*5+8) // room past the last row too
		b := &record.Batch{Schema: s}
		for i := range rows {
			r := record.Row(vals[i*5 : (i+1)*5])
			copy(r, input(i))
			b.Rows = append(b.Rows, r)
			b.Pos = append(b.Pos, int64(i+1))
		}
		return b
	}
	cases := []struct {
		name    string
		batch   func() *record.Batch
		inPlace bool // the expression node extends the rows instead of copying them
	}{
		{"builder, no spare", func() *record.Batch { return fromBuilder(0) }, false},
		{"builder, 1 spare (too few)", func() *record.Batch { return fromBuilder(1) }, false},
		{"builder, 2 spare (exact)", func() *record.Batch { return fromBuilder(2) }, true},
		{"builder, 3 spare", func() *record.Batch { return fromBuilder(3) }, true},
		{"capacity runs into the next rows", overlapping, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mapNode, ms := setup(t, "map", map[string]any{"rename": map[string]any{"name": "customer"},
				"drop": []any{"note"}}, s)
			exprNode, es := setup(t, "expression", map[string]any{"fields": []any{
				map[string]any{"name": "total", "expression": "price * qty"},
				map[string]any{"name": "tag", "expression": `customer + "!"`},
				map[string]any{"name": "m", "expression": fmt.Sprintf("qty %% (id - %d)", badID)},
			}}, ms)
			if got, want := fmt.Sprint(es.Names()), "[id customer qty price total tag m]"; got != want {
				t.Fatalf("schema %s, want %s", got, want)
			}
			in := tc.batch()
			first := &in.Rows[0][0]
			out := &sink{}
			if err := mapNode.Process(context.Background(), 0, in, next{node: exprNode, out: out}); err != nil {
				t.Fatal(err)
			}
			if len(out.batches) != 1 {
				t.Fatalf("%d batches, want 1", len(out.batches))
			}
			b := out.batches[0]
			if b.Schema != es {
				t.Fatalf("schema %v, want the expression's", b.Schema.Names())
			}
			if got := &b.Rows[0][0] == first; got != tc.inPlace {
				t.Errorf("rows extended in place: %v, want %v", got, tc.inPlace)
			}
			if len(out.rejects) != 1 || out.rejects[0].Pos != badID || out.rejects[0].Field != "m" ||
				out.rejects[0].Values["qty"] != "7" || out.rejects[0].Values["customer"] != "name7" {
				t.Fatalf("%d rejects (%.300v), want one: row %d on field m with its input values", len(out.rejects), out.rejects, badID)
			}
			if len(b.Rows) != rows-1 || len(b.Pos) != rows-1 {
				t.Fatalf("%d rows, %d positions, want %d", len(b.Rows), len(b.Pos), rows-1)
			}
			k := 0
			for i := range rows {
				id := int64(i + 1)
				if id == badID {
					continue
				}
				want := []record.Value{record.Int(id), record.String("name" + strconv.Itoa(i+1)), record.Int(id % 13),
					record.Float(float64(id) + 0.5), record.Float(float64(id%13) * (float64(id) + 0.5)),
					record.String("name" + strconv.Itoa(i+1) + "!"), record.Int((id % 13) % (id - badID))}
				r := b.Rows[k]
				if len(r) != len(want) || b.Pos[k] != id {
					t.Fatalf("row %d: %d values at pos %d, want %d at %d", k, len(r), b.Pos[k], len(want), id)
				}
				for j, w := range want {
					if !r[j].Equal(w) {
						t.Errorf("row %d (id %d) field %s = %v, want %v", k, id, es.Fields[j].Name, r[j], w)
					}
				}
				k++
			}
		})
	}
}

// BenchmarkMapExpression runs the benchmark pipeline's map (rename, drop a field) and expression
// (two appended fields) on rows without and with two reserved slots (record.Builder.Reserve): with
// them the expression node appends in place instead of copying every row into a wider one.
func BenchmarkMapExpression(b *testing.B) {
	for _, spare := range []int{0, 2} {
		b.Run(fmt.Sprintf("spare=%d", spare), func(b *testing.B) {
			s, batches := benchInput(b, 16)
			w := len(s.Fields)
			pristine := make([][]record.Value, len(batches))
			pos := make([][]int64, len(batches))
			for i, bt := range batches { // rebuilt with the spare slots
				bld := record.NewBuilder(s, len(bt.Rows))
				bld.Reserve(spare)
				for j, r := range bt.Rows {
					copy(bld.Row(bt.Pos[j]), r)
					pristine[i] = append(pristine[i], r...)
				}
				batches[i] = bld.Take()
				pos[i] = append([]int64(nil), batches[i].Pos...)
			}
			saved := make([][]record.Row, len(batches))
			for i, bt := range batches {
				saved[i] = append([]record.Row(nil), bt.Rows...)
			}
			mapNode, ms := setup(b, "map", map[string]any{"rename": map[string]any{"name": "customer"}, "drop": []any{"note"}}, s)
			exprNode, _ := setup(b, "expression", map[string]any{"fields": []any{
				map[string]any{"name": "total", "expression": "amount * qty"},
				map[string]any{"name": "big", "expression": "qty > 3"},
			}}, ms)
			out := next{node: exprNode, out: &nullOutput{}}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			rows := 0
			for i := 0; rows < b.N; i++ {
				k := i % len(batches)
				bt := batches[k]
				bt.Rows = append(bt.Rows[:0], saved[k]...)
				for j, r := range bt.Rows {
					bt.Rows[j] = r[:w]
					copy(bt.Rows[j], pristine[k][j*w:(j+1)*w])
				}
				bt.Pos = append(bt.Pos[:0], pos[k]...)
				bt.Schema = s
				if err := mapNode.Process(ctx, 0, bt, out); err != nil {
					b.Fatal(err)
				}
				rows += len(saved[k])
			}
			b.StopTimer()
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
