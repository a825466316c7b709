package registry

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type comp struct{ name string }

func setup(t *testing.T, names ...string) *Registry[comp] {
	t.Helper()
	items := make([]comp, len(names))
	for i, n := range names {
		items[i] = comp{n}
	}
	r, err := New("widget", func(c comp) string { return c.name }, items...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRegistryListsSortedAndGets(t *testing.T) {
	t.Parallel()
	r := setup(t, "b", "c", "a")
	if diff := cmp.Diff([]string{"a", "b", "c"}, r.Names()); diff != "" {
		t.Fatalf("names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]comp{{"a"}, {"b"}, {"c"}}, r.All(), cmp.AllowUnexported(comp{})); diff != "" {
		t.Fatalf("all (-want +got):\n%s", diff)
	}
	got, err := r.Get("b")
	if err != nil || got.name != "b" {
		t.Fatalf("Get(b) = %v, %v", got, err)
	}
	// Names hands out a copy: changing it does not change the registry.
	r.Names()[0] = "zzz"
	if r.Names()[0] != "a" {
		t.Fatal("Names exposed the registry's own slice")
	}
}

func TestRegistryErrors(t *testing.T) {
	t.Parallel()
	nameOf := func(c comp) string { return c.name }
	tests := []struct {
		name  string
		items []comp
		want  string
	}{
		{"empty name", []comp{{"a"}, {""}}, "widget registry.comp has an empty name"},
		{"duplicate", []comp{{"a"}, {"b"}, {"a"}}, `widget "a" registered twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New("widget", nameOf, tt.items...)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	r := setup(t, "b", "a")
	_, err := r.Get("nope")
	if err == nil || !strings.Contains(err.Error(), `unknown widget type "nope" (known: a, b)`) {
		t.Fatalf("Get(nope) err = %v", err)
	}
}
