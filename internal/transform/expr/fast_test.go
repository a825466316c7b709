package expr

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dataaggregator/aggregator/internal/record"
)

// TestFastExprMatchesVM evaluates covered expressions on random rows (nulls included) both ways:
// the fast path must give the VM's result with the same Go type, or hand the row to the VM.
func TestFastExprMatchesVM(t *testing.T) {
	schema, err := record.NewSchema(
		record.Field{Name: "q", Kind: record.KindInt, Nullable: true},
		record.Field{Name: "n", Kind: record.KindInt, Nullable: true},
		record.Field{Name: "price", Kind: record.KindFloat, Nullable: true},
		record.Field{Name: "amount", Kind: record.KindDecimal, Nullable: true},
		record.Field{Name: "active", Kind: record.KindBool, Nullable: true},
		record.Field{Name: "vip", Kind: record.KindBool, Nullable: true},
		record.Field{Name: "name", Kind: record.KindString, Nullable: true},
	)
	if err != nil {
		t.Fatal(err)
	}
	covered := []string{
		"price * q", "q > 10", "active && q > 2", "active and vip", "active || vip", "active or !vip",
		"not active", "q + n", "q - n * 2", "q * n", "q / n", "price / 0", "-q", "-price", "+q", "q",
		"price", "amount", "active", "amount * 2 + price", "q == n", "q != 3", "price >= 1.5", "q <= price",
		"price < q", "q == 2.0", "active == vip", "active != true", "(q + 1) * (n - 1)", "1 + 2",
		"9223372036854775807 + q", "q > 2 && (price < 50 || vip)", "-(q * 3) > n",
	}
	uncovered := []string{"q % n", "q ** 2", "name == 'x'", "len(name) > 2", "q in [1, 2]", "price ?? 0"}
	r := rand.New(rand.NewPCG(7, 8))
	row := make(record.Row, len(schema.Fields))
	randomRow := func() {
		vals := []func() record.Value{
			func() record.Value { return record.Int(int64(r.IntN(41) - 20)) },
			func() record.Value { return record.Int(int64(r.IntN(41) - 20)) },
			func() record.Value {
				return record.Float([]float64{0, -0.5, 1.5, 19.99, math.NaN(), math.Inf(1)}[r.IntN(6)] + float64(r.IntN(5)))
			},
			func() record.Value { return record.MustDecimal(fmt.Sprintf("%d.%02d", r.IntN(100), r.IntN(100))) },
			func() record.Value { return record.Bool(r.IntN(2) == 0) },
			func() record.Value { return record.Bool(r.IntN(2) == 0) },
			func() record.Value { return record.String("x") },
		}
		for i, mk := range vals {
			if r.IntN(8) == 0 {
				row[i] = record.Null
			} else {
				row[i] = mk()
			}
		}
	}
	for _, src := range covered {
		p, err := Compile(src, schema)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if p.fast == nil {
			t.Fatalf("%s: not covered by the fast path", src)
		}
		vm := *p
		vm.fast = nil
		fast := 0
		for range 2000 {
			randomRow()
			want, werr := vm.Run(row)
			got, ok := p.fast(row)
			if !ok {
				continue // handed to the VM
			}
			fast++
			if werr != nil {
				t.Fatalf("%s on %v: fast path gave %v, the VM failed: %v", src, row, got.box(), werr)
			}
			g := got.box()
			if fmt.Sprintf("%T %v", g, g) != fmt.Sprintf("%T %v", want, want) {
				t.Fatalf("%s on %v: fast %T %v, VM %T %v", src, row, g, g, want, want)
			}
		}
		if fast == 0 {
			t.Fatalf("%s: the fast path never answered", src)
		}
	}
	for _, src := range uncovered {
		p, err := Compile(src, schema)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if p.fast != nil {
			t.Errorf("%s: unexpectedly covered by the fast path", src)
		}
	}
}

// TestFastExprNullGoesToVM: a null operand is evaluated by the VM, with its error or result.
func TestFastExprNullGoesToVM(t *testing.T) {
	schema, _ := record.NewSchema(
		record.Field{Name: "q", Kind: record.KindInt, Nullable: true},
		record.Field{Name: "active", Kind: record.KindBool, Nullable: true},
	)
	p, err := Compile("active && q > 2", schema)
	if err != nil || p.fast == nil {
		t.Fatalf("compile: %v (fast %v)", err, p.fast != nil)
	}
	vm := *p
	vm.fast = nil
	for _, row := range []record.Row{{record.Null, record.Bool(true)}, {record.Null, record.Bool(false)}, {record.Int(3), record.Null}} {
		want, werr := vm.Run(row)
		got, gerr := p.Run(row)
		if fmt.Sprint(want, werr) != fmt.Sprint(got, gerr) {
			t.Errorf("row %v: run gave %v %v, the VM %v %v", row, got, gerr, want, werr)
		}
	}
}

// FuzzFastExpr compares the fast path with the VM on fuzzed expressions and rows.
func FuzzFastExpr(f *testing.F) {
	for _, s := range []string{"price * q", "active && q > 2", "-(q * 3) > n", "q / n + price", "!active || q == n",
		"9223372036854775807 + q * n", "price >= 1.5 and not vip", "(q - 1) * 2.5 < price"} {
		f.Add(s, int64(3), int64(-2), 19.99, true, false, uint8(0))
	}
	schema, err := record.NewSchema(
		record.Field{Name: "q", Kind: record.KindInt, Nullable: true},
		record.Field{Name: "n", Kind: record.KindInt, Nullable: true},
		record.Field{Name: "price", Kind: record.KindFloat, Nullable: true},
		record.Field{Name: "active", Kind: record.KindBool, Nullable: true},
		record.Field{Name: "vip", Kind: record.KindBool, Nullable: true},
	)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string, q, n int64, price float64, active, vip bool, nulls uint8) {
		if len(src) > 200 || CheckSyntax(src) != nil {
			return
		}
		p, err := Compile(src, schema)
		if err != nil || p.fast == nil {
			return
		}
		row := record.Row{record.Int(q), record.Int(n), record.Float(price), record.Bool(active), record.Bool(vip)}
		for i := range row {
			if nulls&(1<<i) != 0 {
				row[i] = record.Null
			}
		}
		vm := *p
		vm.fast = nil
		want, werr := vm.Run(row)
		got, ok := p.fast(row)
		if !ok {
			return
		}
		if werr != nil {
			t.Fatalf("%s on %v: fast path gave %v, the VM failed: %v", src, row, got.box(), werr)
		}
		if g := got.box(); fmt.Sprintf("%T %v", g, g) != fmt.Sprintf("%T %v", want, want) {
			t.Fatalf("%s on %v: fast %T %v, VM %T %v", src, row, g, g, want, want)
		}
	})
}
