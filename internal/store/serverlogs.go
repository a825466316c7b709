package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ServerLog is one record of the server's own log (the System logs page): what the process logged,
// with the request, user and run it concerned. Run log lines are LogEntry values, not these.
type ServerLog struct {
	ID        int64
	Time      time.Time // zero means now
	Level     string    // debug | info | warn | error
	Component string    // the logger's "component" attribute ("alerts", "river", "http", ...)
	Message   string
	RequestID string
	RunID     string
	User      string // the signed-in user's name when the record was logged in a request
	// Attrs are the record's other attributes as a JSON object (nil: none).
	Attrs json.RawMessage
}

const serverLogCols = `id, time, level, component, message, request_id, run_id, user_name, attrs`

func scanServerLog(row scanner) (ServerLog, error) {
	var e ServerLog
	err := row.Scan(&e.ID, timeCol{&e.Time}, &e.Level, &e.Component, &e.Message, &e.RequestID, &e.RunID, &e.User, jsonCol{&e.Attrs})
	return e, err
}

// AppendServerLogs inserts records in one transaction (all or nothing). Level and Message are
// required; NUL characters are stored as U+FFFD.
func (s *Store) AppendServerLogs(ctx context.Context, entries []ServerLog) error {
	if len(entries) == 0 {
		return nil
	}
	now := s.nowUTC()
	args := make([]any, 0, len(entries)*8)
	for i, e := range entries {
		if e.Level == "" || e.Message == "" {
			return fmt.Errorf("append server logs: entry %d: %w: level and message are required", i, ErrInvalid)
		}
		attrs, err := jsonArg("attrs", noNULJSON(e.Attrs), nil)
		if err != nil {
			return fmt.Errorf("append server logs: entry %d: %w", i, err)
		}
		t := e.Time
		if t.IsZero() {
			t = now
		}
		args = append(args, s.ts(t), noNUL(e.Level), noNUL(e.Component), noNUL(e.Message), noNUL(e.RequestID),
			noNUL(e.RunID), noNUL(e.User), attrs)
	}
	const insert = `INSERT INTO server_logs (time, level, component, message, request_id, run_id, user_name, attrs) VALUES `
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return s.bulkInsert(ctx, tx, "append server logs", insert, 8, args)
	})
}

// ServerLogFilter selects server log records. Empty fields do not filter. Text matches the message
// or the attributes, case-insensitively, as a substring. From is inclusive, To exclusive. Before
// is the cursor: only records with a smaller id (the NextCursor of the previous page).
type ServerLogFilter struct {
	Level     []string
	Component string
	RequestID string
	RunID     string
	User      string
	Text      string
	From, To  time.Time
	Before    int64
	// Limit is the page size (DefaultLimit when 0, at most MaxLimit).
	Limit int
}

// ListServerLogs returns the records matching f, newest first, and the cursor of the next page (0
// when this page is the last).
func (s *Store) ListServerLogs(ctx context.Context, f ServerLogFilter) ([]ServerLog, int64, error) {
	var w where
	whereIn(&w, `level`, f.Level)
	w.eq(`component`, f.Component)
	w.eq(`request_id`, f.RequestID)
	w.eq(`run_id`, f.RunID)
	w.eq(`user_name`, f.User)
	if t := strings.TrimSpace(f.Text); t != "" {
		attrs := `LOWER(attrs)`
		if s.dialect == Postgres {
			attrs = `LOWER(CAST(attrs AS TEXT))`
		}
		p := likePattern(t)
		w.add(`(LOWER(message) LIKE ? ESCAPE '\' OR `+attrs+` LIKE ? ESCAPE '\')`, p, p)
	}
	s.timeRange(&w, `time`, f.From, f.To)
	if f.Before > 0 {
		w.add(`id < ?`, f.Before)
	}
	limit, _ := Page{Limit: f.Limit}.norm()
	q := fmt.Sprintf(`SELECT %s FROM server_logs%s ORDER BY id DESC LIMIT $%d`, serverLogCols, w.sql(), w.next())
	items, err := queryAll(ctx, s, "list server logs", q, append(w.args, limit+1), scanServerLog)
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(items) > limit {
		items = items[:limit]
		next = items[limit-1].ID
	}
	return items, next, nil
}
