package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/testutil"
)

// TestValidateUpsertNeedsUniqueKey: validate of an upsert into a PostgreSQL table without a unique
// key on write.key fails naming the destination and the key; into a table that does not exist yet
// (the run creates it with the key) it passes.
func TestValidateUpsertNeedsUniqueKey(t *testing.T) {
	pg := testutil.Postgres(t)
	conn, err := pgx.Connect(context.Background(), pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE TABLE customers (id bigint, name text)"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte("id,name\n1,a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := func(table string) string {
		file := filepath.Join(dir, table+".yaml")
		if err := os.WriteFile(file, []byte(fmt.Sprintf(`version: 1
name: upsert
sources:
  - id: in
    type: csv
    config: {path: in.csv}
destinations:
  - id: load
    type: postgres
    inputs: [in]
    config: {url: %q, table: %s}
    write: {mode: upsert, key: [id]}
`, pg.URL, table)), 0o644); err != nil {
			t.Fatal(err)
		}
		return file
	}
	file := spec("customers")
	out, _, err := runCLI(t, "validate", "-f", file, "--data-dir", dir)
	if err == nil {
		t.Fatalf("validate passed an upsert into a table without a key:\n%s", out)
	}
	want := file + `:8:7: destinations[0]: destination "load": postgres destination ` + pg.Schema + `.customers: upsert by (id) needs a primary key or unique index on exactly those columns`
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if out, _, err := runCLI(t, "validate", "-f", spec("fresh"), "--data-dir", dir); err != nil || !strings.Contains(out, "is valid") {
		t.Errorf("validate of an upsert into a table it can create: %v\n%s", err, out)
	}
}
