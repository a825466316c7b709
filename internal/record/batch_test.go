package record

import "testing"

// TestBuilderReserve checks that reserved slots belong to their row alone: every row is extended to
// its RowCap and filled with values naming it, then every slot of every row is checked.
func TestBuilderReserve(t *testing.T) {
	s, err := NewSchema(Field{Name: "a", Kind: KindInt}, Field{Name: "b", Kind: KindInt}, Field{Name: "c", Kind: KindInt})
	if err != nil {
		t.Fatal(err)
	}
	for _, spare := range []int{-1, 0, 1, 4} {
		const rows = 10
		bld := NewBuilder(s, rows)
		bld.Reserve(spare)
		for i := range rows {
			r := bld.Row(int64(i + 1))
			if len(r) != 3 {
				t.Fatalf("spare %d: row of %d values, want 3", spare, len(r))
			}
			for j := range r[:cap(r)] {
				if !r[:cap(r)][j].IsNull() {
					t.Fatalf("spare %d: row %d slot %d not zeroed", spare, i, j)
				}
			}
			copy(r, []Value{Int(int64(i)), Int(int64(i)), Int(int64(i))})
		}
		b := bld.Take()
		want := 3 + max(spare, 0)
		if b.RowCap != want {
			t.Fatalf("spare %d: RowCap %d, want %d", spare, b.RowCap, want)
		}
		for i, r := range b.Rows {
			if cap(r) != want {
				t.Fatalf("spare %d: row %d has capacity %d, want %d", spare, i, cap(r), want)
			}
			r = r[:b.RowCap]
			for j := range r {
				r[j] = Int(int64(i*100 + j))
			}
		}
		for i, r := range b.Rows {
			for j, v := range r[:b.RowCap] {
				if !v.Equal(Int(int64(i*100 + j))) {
					t.Fatalf("spare %d: row %d slot %d = %v: another row's extension reached it", spare, i, j, v)
				}
			}
		}
	}
}
