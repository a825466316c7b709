package transform

import (
	"math/rand/v2"
	"testing"
)

func TestHashSet(t *testing.T) {
	var s hashSet
	r := rand.New(rand.NewPCG(1, 2))
	const n = 200_000
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = r.Uint64()
	}
	keys[0], keys[1] = 0, 1 // 0 is stored as 1: the two are one key
	for i, k := range keys {
		if !s.Add(k) && i != 1 {
			t.Fatalf("key %d reported as present on first add", i)
		}
	}
	for i, k := range keys {
		if s.Add(k) {
			t.Fatalf("key %d added twice", i)
		}
		if !s.Has(k) {
			t.Fatalf("key %d missing", i)
		}
	}
	if s.Len() != n-1 {
		t.Errorf("len = %d, want %d", s.Len(), n-1)
	}
	misses := 0
	for range 10_000 {
		if s.Has(r.Uint64()) {
			misses++
		}
	}
	if misses != 0 {
		t.Errorf("%d random keys found that were never added", misses)
	}
	if per := float64(s.Bytes()) / float64(s.Len()); per < 10 || per > 16 {
		t.Errorf("%.1f bytes per key, want 10..16", per)
	}
}
