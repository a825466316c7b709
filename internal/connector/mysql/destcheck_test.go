package mysql

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

func TestCheckDestinationReportsEveryProblem(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, "CREATE TABLE nokey (id INT, name TEXT)")
	e.exec(t, "CREATE TABLE keyed (id INT PRIMARY KEY, name TEXT)")
	e.exec(t, "CREATE TABLE uniq (id INT, Name VARCHAR(20), UNIQUE KEY u (name, id))")
	e.exec(t, "CREATE TABLE strict (id INT, name TEXT, code TEXT NOT NULL, made DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, n INT NOT NULL AUTO_INCREMENT, UNIQUE KEY (n))")
	e.exec(t, "CREATE TABLE typed (id INT, flag DATE NOT NULL, code TEXT NOT NULL)")
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString})
	withFlag := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "flag", Kind: record.KindBool})
	db := e.my.Database
	cases := []struct {
		name string
		cfg  map[string]any
		req  connector.WriteRequest
		want []string // every one must appear; none: the check passes
	}{
		{"upsert into a table without a key", e.with("table", "nokey"), connector.WriteRequest{Mode: connector.Upsert, Key: []string{"id"}},
			[]string{"mysql destination " + db + ".nokey", "upsert by (id) needs a primary key or unique index on exactly those columns", "it has no primary key"}},
		{"upsert by the table's key", e.with("table", "keyed"), connector.WriteRequest{Mode: connector.Upsert, Key: []string{"id"}, Schema: s}, nil},
		{"upsert by a unique index, other case and order", e.with("table", "uniq"), connector.WriteRequest{Mode: connector.Upsert, Key: []string{"id", "NAME"}}, nil},
		{"missing table that can be created", e.with("table", "brand_new"), connector.WriteRequest{Mode: connector.Upsert, Key: []string{"id"}, Schema: s}, nil},
		{"NOT NULL column without default not fed", e.with("table", "strict"), connector.WriteRequest{Mode: connector.Append, Schema: s},
			[]string{"column(s) code are NOT NULL without a default and no input field feeds them"}},
		{"every problem at once", e.with("table", "typed"), connector.WriteRequest{Mode: connector.Upsert, Key: []string{"id"}, Schema: withFlag},
			[]string{`column "flag": the source type is bool but the destination column is date`, "column(s) code are NOT NULL", "upsert by (id)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := New().CheckDestination(context.Background(), connector.Env{}, c.cfg, c.req)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("CheckDestination: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckDestination passed; want %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to contain %q", err, w)
				}
			}
			if !errors.Is(err, connector.ErrConfig) {
				t.Errorf("err = %v, want errors.Is ErrConfig", err)
			}
		})
	}
	if got := e.strings(t, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '"+db+"' ORDER BY TABLE_NAME"); strings.Join(got, ",") != "keyed,nokey,strict,typed,uniq" {
		t.Errorf("the check created or dropped tables: %v", got)
	}
}

func TestCheckDestinationCannotConnect(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const wrong = "Wr0ng-pa55word"
	cases := []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"wrong password", e.with("password", wrong, "table", "t"), `access denied for user "` + e.my.Config.User + `": wrong password`},
		{"missing database", e.with("database", "no_such_db_x", "table", "t"), `database "no_such_db_x" does not exist`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := New().CheckDestination(context.Background(), connector.Env{}, c.cfg, connector.WriteRequest{Mode: connector.Append})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), wrong) {
				t.Errorf("the password leaked: %v", err)
			}
		})
	}
}
