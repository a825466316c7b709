package storetest_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/store/storetest"
)

// Each store is migrated and its own: a pipeline saved in one is not in the next.
func TestStoresAreMigratedAndSeparate(t *testing.T) {
	ctx := context.Background()
	a := storetest.Open(t, store.Options{})
	st, err := a.Status(ctx)
	if err != nil || !st.UpToDate() || st.Current != st.Latest {
		t.Fatalf("status of a copy: %+v %v", st, err)
	}
	if _, err := a.CreatePipeline(ctx, store.Pipeline{Name: "only-in-a", Spec: "version: 1"}); err != nil {
		t.Fatal(err)
	}
	b := storetest.Open(t, store.Options{})
	_, n, err := b.ListPipelines(ctx, store.PipelineFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("a second store holds %d pipelines, want 0", n)
	}
	if applied, err := b.Migrate(ctx); err != nil || len(applied) != 0 {
		t.Fatalf("Migrate on a copy applied %v (%v), want nothing", applied, err)
	}
}

// An existing file is opened and migrated as it is, not replaced by the template.
func TestOpenKeepsAnExistingFile(t *testing.T) {
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "shared.db")
	a := storetest.Open(t, store.Options{DSN: dsn})
	if _, err := a.CreatePipeline(ctx, store.Pipeline{Name: "kept", Spec: "version: 1"}); err != nil {
		t.Fatal(err)
	}
	b := storetest.Open(t, store.Options{Dialect: store.SQLite, DSN: dsn})
	if _, n, err := b.ListPipelines(ctx, store.PipelineFilter{}); err != nil || n != 1 {
		t.Fatalf("the second store of one file holds %d pipelines (%v), want 1", n, err)
	}
}
