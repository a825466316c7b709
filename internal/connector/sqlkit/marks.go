package sqlkit

import (
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// MarkTable is the table, in the destination's schema (database), where the SQL writers keep their
// commit markers (connector.MarkedWriter): one row per run and destination node, replaced in the same
// transaction as the rows each commit makes durable.
const MarkTable = "_aggregator_commits"

// MarkRetention is how long the marker of a finished (closed) run is kept; markers of unfinished runs
// are kept until the run finishes.
const MarkRetention = 7 * 24 * time.Hour

// MarkSchema is the marker table's columns; mark_id (run id, "/", node id) is its primary key.
func MarkSchema() *record.Schema {
	return record.MustSchema(
		record.Field{Name: "mark_id", Kind: record.KindString},
		record.Field{Name: "target", Kind: record.KindString, Nullable: true},
		record.Field{Name: "rows_committed", Kind: record.KindInt},
		record.Field{Name: "closed", Kind: record.KindBool},
		record.Field{Name: "updated_at", Kind: record.KindInt}, // Unix seconds
	)
}

// MarkKey is MarkSchema's primary key.
var MarkKey = []string{"mark_id"}

// Marks builds the statements that read and store one writer's marker. Every value travels as an
// argument; the table name is quoted by the dialect's quote.
type Marks struct {
	table  string // quoted and qualified
	ph     func(n int) string
	id     string
	target string

	stored  connector.Marker // the marker last committed (or read at open)
	pending connector.Marker // the marker the next commit stores
	found   bool             // a marker was read at open or has been committed since
}

// NewMarks prepares the markers of run runID's node node, writing target (for people reading the
// table), in schema's MarkTable.
func NewMarks(quote func(string) string, placeholder func(n int) string, schema, runID, node, target string) *Marks {
	return &Marks{table: Qualified(quote, schema, MarkTable), ph: placeholder, id: runID + "/" + node, target: target}
}

// Table is the quoted, qualified marker table.
func (m *Marks) Table() string { return m.table }

// Select reads the marker: it yields rows_committed and closed.
func (m *Marks) Select() Stmt {
	return Stmt{SQL: "SELECT rows_committed, closed FROM " + m.table + " WHERE mark_id = " + m.ph(1), Args: []any{m.id}}
}

// Found records the marker read with Select (found false: there was none).
func (m *Marks) Found(mk connector.Marker, found bool) {
	m.stored, m.pending, m.found = mk, mk, found
}

// Committed is the marker last read or committed.
func (m *Marks) Committed() (connector.Marker, bool) { return m.stored, m.found }

// Set sets the marker the next commit stores.
func (m *Marks) Set(mk connector.Marker) { m.pending = mk }

// Dirty reports whether the pending marker differs from the stored one.
func (m *Marks) Dirty() bool { return !m.found || m.pending != m.stored }

// Store replaces the marker with the pending one; run it inside the commit's transaction and call
// Stored after the commit succeeds.
func (m *Marks) Store(now time.Time) []Stmt {
	return []Stmt{
		{SQL: "DELETE FROM " + m.table + " WHERE mark_id = " + m.ph(1), Args: []any{m.id}},
		{SQL: "INSERT INTO " + m.table + " (mark_id, target, rows_committed, closed, updated_at) VALUES (" +
			m.ph(1) + ", " + m.ph(2) + ", " + m.ph(3) + ", " + m.ph(4) + ", " + m.ph(5) + ")",
			Args: []any{m.id, m.target, m.pending.Rows, m.pending.Closed, now.Unix()}},
	}
}

// Stored records that the pending marker was committed.
func (m *Marks) Stored() { m.stored, m.found = m.pending, true }

// Purge deletes the markers of runs that finished more than MarkRetention before now.
func (m *Marks) Purge(now time.Time) Stmt {
	return Stmt{SQL: "DELETE FROM " + m.table + " WHERE closed = " + m.ph(1) + " AND updated_at < " + m.ph(2),
		Args: []any{true, now.Add(-MarkRetention).Unix()}}
}
