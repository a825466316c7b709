package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"

	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
)

// Rows and bytes (estimated) the writer gathers over several batches for one LOAD DATA statement.
const (
	loadBufferRows  = 16384
	loadBufferBytes = 4 << 20
)

// LoadBuffer makes the writer gather the rows of several batches (up to a commit) into one LOAD DATA
// statement while LOAD DATA is in use; with INSERT, each batch is loaded as it comes.
func (d *Dialect) LoadBuffer() (rows, bytes int) {
	if !d.LoadData {
		return 0, 0
	}
	return loadBufferRows, loadBufferBytes
}

// loadData loads rows with LOAD DATA LOCAL INFILE, streamed from memory through the driver's reader
// handler. With LOCAL the server turns data errors into warnings and goes on (a row it cannot store
// is written wrong, a duplicate is skipped), so every load runs after a savepoint and counts its
// warnings and affected rows: on any warning, or fewer rows than sent, it is rolled back to the
// savepoint and ok is false, and the caller loads the rows with INSERT, whose errors name and isolate
// the bad rows. ok is false too (without error) for rows LOAD DATA cannot carry faithfully (bytes,
// text that is not valid UTF-8, a value of another type).
func (d *Dialect) loadData(ctx context.Context, tx *sql.Tx, table string, cols []sqlkit.Col, rows [][]any) (ok bool, err error) {
	var buf bytes.Buffer
	size := 0
	for _, r := range rows {
		size += sqlkit.RowBytes(r)
	}
	buf.Grow(size)
	for _, r := range rows {
		for j, a := range r {
			if j > 0 {
				buf.WriteByte('\t')
			}
			if !appendField(&buf, a) {
				return false, nil
			}
		}
		buf.WriteByte('\n')
	}
	name := "agg_" + sqlkit.RandomID()
	mysql.RegisterReaderHandler(name, func() io.Reader { return bytes.NewReader(buf.Bytes()) })
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
	if warnings > 0 || n != int64(len(rows)) {
		if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT agg_load"); err != nil {
			return false, err
		}
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT agg_load"); err != nil {
		return false, err
	}
	return true, nil
}

// appendField writes one value in LOAD DATA's tab-separated, backslash-escaped form (NULL as \N);
// false when the value cannot travel this way unchanged.
func appendField(buf *bytes.Buffer, a any) bool {
	switch v := a.(type) {
	case nil:
		buf.WriteString(`\N`)
	case int64:
		buf.WriteString(strconv.FormatInt(v, 10))
	case float64:
		buf.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	case string:
		if !utf8.ValidString(v) {
			return false
		}
		for i := 0; i < len(v); i++ {
			switch c := v[i]; c {
			case '\\':
				buf.WriteString(`\\`)
			case '\t':
				buf.WriteString(`\t`)
			case '\n':
				buf.WriteString(`\n`)
			case '\r':
				buf.WriteString(`\r`)
			case 0:
				buf.WriteString(`\0`)
			default:
				buf.WriteByte(c)
			}
		}
	default:
		return false
	}
	return true
}
