package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"

	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Rows and bytes of LOAD DATA text the writer gathers over several batches for one LOAD DATA
// statement (one buffer is loaded while the next fills: twice this in memory at most).
const (
	loadBufferRows  = 16384
	loadBufferBytes = 1 << 20
)

var _ sqlkit.TextLoading = (*Dialect)(nil)

// LoadBuffer makes the writer gather the rows of several batches (up to a commit) into one LOAD DATA
// statement while LOAD DATA is in use; with INSERT, each batch is loaded as it comes.
func (d *Dialect) LoadBuffer() (rows, bytes int) {
	if !d.LoadData {
		return 0, 0
	}
	return loadBufferRows, loadBufferBytes
}

// Tags of the values in LOAD DATA text (see AppendText and DecodeText).
const (
	tagNull   = 'n'
	tagInt    = 'i'
	tagFloat  = 'f'
	tagString = 's'
)

// AppendText appends one row in LOAD DATA's tab-separated, backslash-escaped form (NULL as \N), with
// the values Arg would give the driver, and one tag per value. ok is false for a row LOAD DATA cannot
// carry faithfully (bytes, text that is not valid UTF-8); err for a value MySQL cannot store.
func (d *Dialect) AppendText(text, tags []byte, row record.Row, cols []sqlkit.Col) ([]byte, []byte, bool, int, error) {
	t0, g0 := len(text), len(tags)
	for j, v := range row {
		if j > 0 {
			text = append(text, '\t')
		}
		var tag byte = tagString
		switch v.Kind() {
		case record.KindNull:
			text, tag = append(text, '\\', 'N'), tagNull
		case record.KindBool:
			b := byte('0')
			if v.AsBool() {
				b = '1'
			}
			text, tag = append(text, b), tagInt
		case record.KindInt:
			text, tag = strconv.AppendInt(text, v.AsInt(), 10), tagInt
		case record.KindFloat:
			f := v.AsFloat()
			if math.IsNaN(f) || math.IsInf(f, 0) {
				_, err := d.Arg(v, cols[j]) // the one message for it
				return text[:t0], tags[:g0], false, j, err
			}
			text, tag = strconv.AppendFloat(text, f, 'g', -1, 64), tagFloat
		case record.KindBytes:
			return text[:t0], tags[:g0], false, -1, nil
		case record.KindDate:
			var ok bool
			if text, ok = record.AppendSQLDate(text, v); !ok {
				text = v.AsTime().AppendFormat(text, "2006-01-02")
			}
		case record.KindTimestamp:
			var ok bool
			if text, ok = record.AppendSQLTimestamp(text, v); !ok {
				text = v.AsTime().AppendFormat(text, dateTimeLayout)
			}
		default:
			var valid bool
			if text, valid = appendEscaped(text, v.Str()); !valid {
				return text[:t0], tags[:g0], false, -1, nil
			}
		}
		tags = append(tags, tag)
	}
	return append(text, '\n'), tags, true, -1, nil
}

// textEscapes maps each byte LOAD DATA's text must escape (ESCAPED BY '\\') to the letter after the
// backslash; 0 for every other byte.
var textEscapes = [utf8.RuneSelf]byte{'\\': '\\', '\t': 't', '\n': 'n', '\r': 'r', 0: '0'}

// appendEscaped appends s with LOAD DATA's escapes; runs without a special byte are copied at once.
// valid is false when s is not valid UTF-8 (checked only when s holds a non-ASCII byte).
func appendEscaped(b []byte, s string) (out []byte, valid bool) {
	start, ascii := 0, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			continue
		}
		esc := textEscapes[c]
		if esc == 0 {
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '\\', esc)
		start = i + 1
	}
	return append(b, s[start:]...), ascii || utf8.ValidString(s)
}

// DecodeText gives back the driver arguments of rows appended by AppendText (or appendArgs): the same
// values Arg gives, for Load to insert when LOAD DATA refused them.
func (d *Dialect) DecodeText(text, tags []byte, cols int) ([][]any, error) {
	var rows [][]any
	for len(text) > 0 {
		end := bytes.IndexByte(text, '\n')
		if end < 0 || len(tags) < cols {
			return nil, errors.New("LOAD DATA text: truncated row")
		}
		line := text[:end]
		text = text[end+1:]
		row := make([]any, cols)
		for j := range cols {
			field := line
			if k := bytes.IndexByte(line, '\t'); k >= 0 {
				field, line = line[:k], line[k+1:]
			} else if j < cols-1 {
				return nil, errors.New("LOAD DATA text: row with too few fields")
			}
			switch tags[j] {
			case tagNull:
				row[j] = nil
			case tagInt:
				i, err := strconv.ParseInt(string(field), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("LOAD DATA text: %w", err)
				}
				row[j] = i
			case tagFloat:
				f, err := strconv.ParseFloat(string(field), 64)
				if err != nil {
					return nil, fmt.Errorf("LOAD DATA text: %w", err)
				}
				row[j] = f
			default:
				row[j] = unescape(field)
			}
		}
		tags = tags[cols:]
		rows = append(rows, row)
	}
	return rows, nil
}

// unescape reverses appendEscaped.
func unescape(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\\' && i+1 < len(b) {
			i++
			switch b[i] {
			case 't':
				c = '\t'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case '0':
				c = 0
			default:
				c = b[i]
			}
		}
		out = append(out, c)
	}
	return string(out)
}

// loadData loads rows of driver arguments with LOAD DATA (see LoadText); ok is false (without error)
// for rows LOAD DATA cannot carry faithfully (bytes, text that is not valid UTF-8, a value of another
// type) and when the load was refused.
func (d *Dialect) loadData(ctx context.Context, tx *sql.Tx, table string, cols []sqlkit.Col, rows [][]any) (ok bool, err error) {
	size := 0
	for _, r := range rows {
		size += sqlkit.RowBytes(r)
	}
	text := make([]byte, 0, size)
	for _, r := range rows {
		for j, a := range r {
			if j > 0 {
				text = append(text, '\t')
			}
			if text, ok = appendArg(text, a); !ok {
				return false, nil
			}
		}
		text = append(text, '\n')
	}
	return d.LoadText(ctx, tx, table, cols, bytes.NewReader(text), func() int { return len(rows) })
}

// LoadText loads rows of LOAD DATA text with LOAD DATA LOCAL INFILE, streamed from r through the
// driver's reader handler as r gives it. With LOCAL the server turns data errors into warnings and goes on (a row
// it cannot store is written wrong, a duplicate is skipped), so every load runs after a savepoint and
// counts its warnings and affected rows: on any warning, or fewer rows than sent, it is rolled back
// to the savepoint and ok is false, and the caller loads the rows with INSERT, whose errors name and
// isolate the bad rows.
func (d *Dialect) LoadText(ctx context.Context, tx *sql.Tx, table string, cols []sqlkit.Col, r io.Reader, rows func() int) (ok bool, err error) {
	if !d.LoadData {
		return false, nil
	}
	name := "agg_" + sqlkit.RandomID()
	mysql.RegisterReaderHandler(name, func() io.Reader { return r })
	defer mysql.DeregisterReaderHandler(name)

	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT agg_load"); err != nil {
		return false, err
	}
	res, err := tx.ExecContext(ctx, "LOAD DATA LOCAL INFILE 'Reader::"+name+"' INTO TABLE "+table+
		" CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ("+sqlkit.QuoteAll(q, names)+")")
	if err != nil {
		if sqlkit.Cancelled(err) || d.IsTransient(err) {
			return false, err
		}
		// refused by the server (local_infile off, a data error): undo and let INSERT say why
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT agg_load"); rerr != nil {
			return false, errors.Join(err, rerr)
		}
		if me := mysqlErr(err); me != nil && !dataErrors[me.Number] {
			d.LoadData = false // not allowed here: INSERT from now on
		}
		return false, nil
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	var warnings int64
	if err := tx.QueryRowContext(ctx, "SELECT @@warning_count").Scan(&warnings); err != nil {
		return false, err
	}
	if warnings > 0 || n != int64(rows()) {
		if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT agg_load"); err != nil {
			return false, err
		}
		return false, nil
	}
	// The savepoint is not released: the next load's SAVEPOINT replaces it and the commit ends it
	// (one round trip less per load).
	return true, nil
}

// appendArg writes one driver argument in LOAD DATA's form; false when the value cannot travel this
// way unchanged.
func appendArg(text []byte, a any) ([]byte, bool) {
	switch v := a.(type) {
	case nil:
		return append(text, '\\', 'N'), true
	case int64:
		return strconv.AppendInt(text, v, 10), true
	case float64:
		return strconv.AppendFloat(text, v, 'g', -1, 64), true
	case string:
		start := len(text)
		out, valid := appendEscaped(text, v)
		if !valid {
			return out[:start], false
		}
		return out, true
	}
	return text, false
}
