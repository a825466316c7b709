package sqlkit

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"sort"
	"strings"
	"syscall"

	"github.com/dataaggregator/aggregator/internal/record"
)

// Pieces the database/sql dialects share.

// SelectSQL is a read statement: SELECT [top ]list FROM from AS q [WHERE where] [ORDER BY order][ tail].
func SelectSQL(top, list, from, where, order, tail string) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	if top != "" {
		b.WriteString(top + " ")
	}
	b.WriteString(list + " FROM " + from + " AS q")
	if where != "" {
		b.WriteString(" WHERE " + where)
	}
	if order != "" {
		b.WriteString(" ORDER BY " + order)
	}
	if tail != "" {
		b.WriteString(" " + tail)
	}
	return b.String()
}

// Orderable reports whether a column of kind k can order an incremental read: integers, decimals,
// dates and timestamps.
func Orderable(k record.Kind) bool {
	switch k {
	case record.KindInt, record.KindDate, record.KindTimestamp, record.KindDecimal:
		return true
	}
	return false
}

// FromDriver converts a typed driver value (not text, not a time) to kind k.
func FromDriver(src any, k record.Kind) (record.Value, error) {
	v, err := record.FromGo(src)
	if err != nil {
		return record.Null, err
	}
	return record.Cast(v, k)
}

// Cancelled reports whether err is nil or a cancellation or deadline: never worth a retry.
func Cancelled(err error) bool {
	return err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// ConnectionLost reports whether err is a lost or unusable connection (bad connection, EOF, reset,
// broken pipe, closed handle, a network error) or one of also.
func ConnectionLost(err error, also ...error) bool {
	for _, a := range also {
		if errors.Is(err, a) {
			return true
		}
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, sql.ErrConnDone) || errors.As(err, &ne)
}

// MatchesKey reports whether one of the unique indexes (index name -> its columns) covers exactly
// the columns of key, compared case-insensitively and in any order.
func MatchesKey(idx map[string][]string, key []string) bool {
	want := make([]string, len(key))
	for i, k := range key {
		want[i] = Fold(k)
	}
	sort.Strings(want)
	for _, cols := range idx {
		got := make([]string, len(cols))
		for i, c := range cols {
			got[i] = Fold(c)
		}
		sort.Strings(got)
		if strings.Join(got, "\x00") == strings.Join(want, "\x00") {
			return true
		}
	}
	return false
}
