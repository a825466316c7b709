package mysql

import (
	"database/sql"
	"strconv"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/conformance"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// scale30 is how a decimal of unknown precision comes back from a DECIMAL(65,30) column.
func scale30(v record.Value) (record.Value, error) {
	s := v.Str()
	intPart, frac, _ := strings.Cut(s, ".")
	return record.Decimal(intPart + "." + frac + strings.Repeat("0", 30-len(frac)))
}

func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.Run(t, conformance.Harness{
		Connector: New(),
		NewTarget: func(t *testing.T) conformance.Target {
			cfg := configOf(t, testutil.MySQL(t))
			name := "Conformance ✓ `t`"
			src := map[string]any{"table": name}
			for k, v := range cfg {
				src[k] = v
			}
			return conformance.Target{Source: src, Dest: cfg, Stream: name}
		},
		Kinds: map[record.Kind]conformance.Expect{
			record.KindBool:      conformance.Exact(record.KindBool),
			record.KindInt:       conformance.Exact(record.KindInt),
			record.KindFloat:     conformance.Exact(record.KindFloat),
			record.KindDecimal:   conformance.AsFunc(record.KindDecimal, scale30),
			record.KindString:    conformance.Exact(record.KindString),
			record.KindBytes:     conformance.Exact(record.KindBytes),
			record.KindDate:      conformance.Exact(record.KindDate),
			record.KindTimestamp: conformance.Exact(record.KindTimestamp),
			record.KindJSON:      conformance.Exact(record.KindJSON),
		},
		Crash: func(t *testing.T, w connector.Writer) {
			killSessions(t, w.(*sqlkit.Writer))
		},
		BadConfigs: []conformance.BadConfig{
			{Name: "missing table", Config: func(tg conformance.Target) map[string]any {
				m := map[string]any{}
				for k, v := range tg.Dest {
					m[k] = v
				}
				m["table"] = "no_such_table"
				return m
			}, Want: `table "no_such_table" not found`},
			{Name: "wrong password", Config: func(tg conformance.Target) map[string]any {
				m := map[string]any{}
				for k, v := range tg.Dest {
					m[k] = v
				}
				m["password"] = "wrong-password"
				return m
			}, Want: "access denied"},
		},
	})
}

// killSessions kills the writer's server session (every session on its database but ours), as the
// death of its process would: the server rolls back what was not committed.
func killSessions(t *testing.T, w *sqlkit.Writer) {
	t.Helper()
	db, err := sql.Open("mysql", testutil.MySQLDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", w.Namespace())
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) == 0 {
		t.Fatal("no session to kill")
	}
	for _, id := range ids {
		if _, err := db.Exec("KILL CONNECTION " + strconv.FormatInt(id, 10)); err != nil {
			t.Fatalf("kill %d: %v", id, err)
		}
	}
}
