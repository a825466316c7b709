package testutil

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	_ "github.com/go-sql-driver/mysql"
)

func TestPostgresSchemaIsIsolated(t *testing.T) {
	t.Parallel()
	pg := Postgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE probe (id int)"); err != nil {
		t.Fatal(err)
	}
	var schema string
	if err := conn.QueryRow(ctx, "SELECT table_schema FROM information_schema.tables WHERE table_name = 'probe' AND table_schema = $1", pg.Schema).Scan(&schema); err != nil {
		t.Fatalf("table did not land in the test schema: %v", err)
	}
}

func TestMySQLDatabaseIsIsolated(t *testing.T) {
	t.Parallel()
	my := MySQL(t)
	db, err := sql.Open("mysql", my.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.QueryRow("SELECT DATABASE()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != my.Database {
		t.Fatalf("connected to %q, want %q", name, my.Database)
	}
}

func TestRedisPrefix(t *testing.T) {
	t.Parallel()
	r := RedisURL(t)
	opt, _ := redis.ParseURL(r.URL)
	c := redis.NewClient(opt)
	defer c.Close()
	if err := c.Set(context.Background(), r.Prefix+"k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := c.Get(context.Background(), r.Prefix+"k").Val(); got != "v" {
		t.Fatalf("got %q", got)
	}
}
