package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// sqliteTime is the fixed-width UTC text form of times in SQLite: it sorts
// and compares correctly as text.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// ts converts a time to the dialect's parameter form. Times are stored in UTC
// with microsecond precision (PostgreSQL's precision) in both dialects.
func (s *Store) ts(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if s.dialect == SQLite {
		return t.Format(sqliteTime)
	}
	return t
}

// tsPtr is ts for a nullable time.
func (s *Store) tsPtr(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return s.ts(*t)
}

// nowUTC is the store clock truncated to storage precision.
func (s *Store) nowUTC() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// timeCol scans a NOT NULL time column of either dialect.
type timeCol struct{ p *time.Time }

func (c timeCol) Scan(src any) error {
	t, ok, err := parseDBTime(src)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("scan time: unexpected NULL")
	}
	*c.p = t
	return nil
}

// nullTimeCol scans a nullable time column into **time.Time.
type nullTimeCol struct{ p **time.Time }

func (c nullTimeCol) Scan(src any) error {
	t, ok, err := parseDBTime(src)
	if err != nil {
		return err
	}
	if !ok {
		*c.p = nil
		return nil
	}
	*c.p = &t
	return nil
}

func parseDBTime(src any) (time.Time, bool, error) {
	var s string
	switch v := src.(type) {
	case nil:
		return time.Time{}, false, nil
	case time.Time:
		return v.UTC(), true, nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return time.Time{}, false, fmt.Errorf("scan time: unsupported type %T", src)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("scan time %q: %w", s, err)
	}
	return t.UTC(), true, nil
}

// jsonCol scans a JSON column (NULL becomes nil).
type jsonCol struct{ p *json.RawMessage }

func (c jsonCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.p = nil
	case string:
		*c.p = json.RawMessage(v)
	case []byte:
		*c.p = append(json.RawMessage(nil), v...)
	default:
		return fmt.Errorf("scan json: unsupported type %T", src)
	}
	return nil
}

// jsonArg validates raw JSON and returns it as a string parameter; empty
// input yields def (which may be nil for SQL NULL).
func jsonArg(field string, raw json.RawMessage, def any) (any, error) {
	if len(raw) == 0 {
		return def, nil
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("%w: %s is not valid JSON", ErrInvalid, field)
	}
	return string(raw), nil
}

// jsonDocArg is jsonArg for a JSON document column: an empty document is {}, in *doc too.
func jsonDocArg(field string, doc *json.RawMessage) (any, error) {
	if len(*doc) == 0 {
		*doc = json.RawMessage("{}")
	}
	return jsonArg(field, *doc, nil)
}

// Page bounds a list. Limit 0 means DefaultLimit; larger than MaxLimit is capped.
type Page struct {
	Limit  int
	Offset int
}

// Limits for Page.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

func (p Page) norm() (limit, offset int) {
	limit, offset = p.Limit, p.Offset
	if limit <= 0 {
		limit = DefaultLimit
	}
	if limit > MaxLimit {
		limit = MaxLimit
	}
	if offset < 0 {
		offset = 0
	}
	return limit, offset
}

// where builds a WHERE clause; conditions use ? which become $n.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	for _, a := range args {
		w.args = append(w.args, a)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// eq adds `col = value` when value is set; an empty filter field does not filter.
func (w *where) eq(col, value string) {
	if value != "" {
		w.add(col+` = ?`, value)
	}
}

// whereIn adds `col IN (values...)` when there are values.
func whereIn[T ~string](w *where, col string, values []T) {
	if len(values) == 0 {
		return
	}
	marks := make([]string, len(values))
	args := make([]any, len(values))
	for i, v := range values {
		marks[i], args[i] = "?", string(v)
	}
	w.add(col+` IN (`+strings.Join(marks, ", ")+`)`, args...)
}

// timeRange adds `col >= from` and `col < to` for the bounds that are set.
func (s *Store) timeRange(w *where, col string, from, to time.Time) {
	if !from.IsZero() {
		w.add(col+` >= ?`, s.ts(from))
	}
	if !to.IsZero() {
		w.add(col+` < ?`, s.ts(to))
	}
}

// next returns the next placeholder number.
func (w *where) next() int { return len(w.args) + 1 }

// likePattern escapes LIKE wildcards in a search term and wraps it in %...%.
func likePattern(term string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + strings.ToLower(r.Replace(term)) + "%"
}

// scanner is what *sql.Row and *sql.Rows share.
type scanner interface{ Scan(dest ...any) error }

var _ scanner = (*sql.Row)(nil)

// jsonType is the SQL type of JSON columns, for casts of parameters.
func (s *Store) jsonType() string {
	if s.dialect == Postgres {
		return "JSONB"
	}
	return "TEXT"
}

// valuesList renders "($1, ..., $cols), (...)" for rows rows of cols parameters.
func valuesList(rows, cols int) string {
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(r*cols + c + 1))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// bulkInsert inserts len(args)/cols rows with the statement prefix insert
// ("INSERT INTO t (...) VALUES "). SQLite runs one prepared single-row
// statement per row (cheap in process, and far faster than compiling large
// multi-row statements); PostgreSQL sends multi-row statements of up to 500
// rows to save round trips.
func (s *Store) bulkInsert(ctx context.Context, tx *sql.Tx, op, insert string, cols int, args []any) error {
	rows := len(args) / cols
	if s.dialect == SQLite {
		stmt, err := tx.PrepareContext(ctx, insert+valuesList(1, cols))
		if err != nil {
			return s.mapErr(err, op)
		}
		defer stmt.Close()
		for r := range rows {
			if _, err := stmt.ExecContext(ctx, args[r*cols:(r+1)*cols]...); err != nil {
				return s.mapErr(err, op)
			}
		}
		return nil
	}
	const perStmt = 500
	for start := 0; start < rows; start += perStmt {
		n := min(perStmt, rows-start)
		if _, err := tx.ExecContext(ctx, insert+valuesList(n, cols), args[start*cols:(start+n)*cols]...); err != nil {
			return s.mapErr(err, op)
		}
	}
	return nil
}
