package excel

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filekit"
	"github.com/dataaggregator/aggregator/internal/connector/internal/jsonrec"
	"github.com/dataaggregator/aggregator/internal/connector/internal/rowkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Config is the Excel connector's configuration.
type Config struct {
	filekit.Source
	Sheet      string
	SheetIndex int
	HeaderRow  int
	Password   string
}

// Connector is the Excel connector: filekit's file connector over the .xlsx format.
type Connector = filekit.Connector[*Config]

// New returns the Excel connector (type "excel").
func New() *Connector { return filekit.NewConnector[Config](format{}) }

// format is the .xlsx workbook format; filekit.Connector does the rest.
type format struct{}

var (
	_ filekit.StreamLister[*Config] = format{}
	_ connector.ResumableWriter     = (*writer)(nil)
)

// Spec describes the connector.
func (format) Spec() connector.Spec {
	return filekit.ConnectorSpec("excel", "Excel workbook (.xlsx)",
		"Reads a sheet of an .xlsx workbook as records (typed cells, header row) and writes one (local path or upload).",
		[]connector.WriteMode{connector.Overwrite},
		configspec.Describe(func(c *Config, b *configspec.Builder) {
			c.BindLocation(b, "Workbook", "data/report.xlsx", false)
			b.String(&c.Sheet, "sheet").Doc("Sheet name to read or write (reading: default the sheet at sheet_index; writing: default Sheet1).")
			b.Int(&c.SheetIndex, "sheet_index").Default(0).Min(0).Doc("0-based position of the sheet to read when sheet is not set.")
			b.Int(&c.HeaderRow, "header_row").Default(1).Min(0).Doc("1-based row holding the column names; rows above it are skipped; 0 means no header (columns are named A, B, C...).")
			c.BindInferRows(b, 0, "Number of rows sampled to infer each column's type (0: cells are read as text).")
			c.BindTypes(b, "Per-column type overrides, e.g. {zip: string, amount: decimal}.")
			b.String(&c.Password, "password").Secret().Doc("Password of an encrypted workbook (read), or to encrypt the written workbook with.")
		}))
}

// Discover lists every sheet with the schema inferred from its rows.
func (f format) Discover(ctx context.Context, env connector.Env, cfg *Config) (*connector.Catalog, error) {
	path, name, err := filekit.Input(ctx, env, cfg.Path, cfg.Upload)
	if err != nil {
		return nil, err
	}
	book, err := openBook(ctx, path, name, cfg.Password)
	if err != nil {
		return nil, err
	}
	sheets := book.GetSheetList()
	book.Close()
	cat := &connector.Catalog{}
	for _, s := range sheets {
		r, err := f.Reader(ctx, env, cfg, connector.ReadRequest{Stream: s, BatchSize: 1})
		if err != nil {
			// An empty sheet (no header row) is listed without fields rather than failing the rest.
			cat.Streams = append(cat.Streams, connector.Stream{Name: s, Kind: "sheet", Schema: record.MustSchema()})
			continue
		}
		cat.Streams = append(cat.Streams, connector.Stream{Name: s, Kind: "sheet", Schema: r.Schema()})
		r.Close()
	}
	return cat, nil
}

var oleMagic = []byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}

// workbook is an opened workbook and the private directory excelize spills large parts to; Close
// removes the directory, whatever excelize left in it.
type workbook struct {
	*excelize.File
	tmp string
}

func (b *workbook) Close() error {
	err := b.File.Close()
	if rerr := os.RemoveAll(b.tmp); err == nil {
		err = rerr
	}
	return err
}

// openBook checks the workbook against the limits of guard.go (stopping when ctx is cancelled) and
// opens it with excelize, its temp files in a directory of its own that Close removes. On an error
// nothing is left behind.
func openBook(ctx context.Context, path, name, password string) (*workbook, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	head := make([]byte, 8)
	n, _ := io.ReadFull(fh, head)
	head = head[:n]
	if len(head) == 0 {
		return nil, fmt.Errorf("%s: the file is empty (want an .xlsx workbook)", name)
	}
	encrypted := bytes.Equal(head, oleMagic)
	if encrypted && password == "" {
		return nil, connector.ConfigError(fmt.Errorf("%s: the workbook is password-protected (or a legacy .xls file): set password", name))
	}
	badPassword := connector.ConfigError(fmt.Errorf("%s: cannot decrypt the workbook: wrong password, or a legacy .xls file", name))
	// An encrypted workbook is decrypted in memory (as excelize does), then checked and opened from there.
	var plain []byte
	var zr *zip.Reader
	if encrypted {
		if st.Size() > maxInMemory {
			return nil, limitError(name, "(encrypted package)", fmt.Sprintf("is larger than %s, the most an encrypted workbook is decrypted in memory", mib(maxInMemory)))
		}
		raw, err := io.ReadAll(io.NewSectionReader(fh, 0, st.Size()))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if plain, err = excelize.Decrypt(raw, &excelize.Options{Password: password}); err != nil {
			return nil, badPassword
		}
		zr, err = zip.NewReader(bytes.NewReader(plain), int64(len(plain)))
		if err != nil {
			return nil, badPassword
		}
	} else if zr, err = zip.NewReader(fh, st.Size()); err != nil {
		return nil, fmt.Errorf("%s: not a valid .xlsx workbook: %w", name, err)
	}
	if err := checkZip(ctx, zr, name); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "aggregator-xlsx-")
	if err != nil {
		return nil, fmt.Errorf("%s: temp directory: %w", name, err)
	}
	opts := excelize.Options{UnzipSizeLimit: maxInflated, UnzipXMLSizeLimit: xmlSpill, TmpDir: tmp,
		ShortDatePattern: "yyyy-mm-dd", LongDatePattern: "yyyy-mm-dd", LongTimePattern: "hh:mm:ss"}
	var f *excelize.File
	if encrypted {
		f, err = excelize.OpenReader(bytes.NewReader(plain), opts)
	} else {
		f, err = excelize.OpenFile(path, opts)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		os.RemoveAll(tmp)
		if errors.Is(err, excelize.ErrWorkbookPassword) {
			return nil, badPassword
		}
		return nil, fmt.Errorf("%s: not a valid .xlsx workbook: %w", name, err)
	}
	return &workbook{File: f, tmp: tmp}, nil
}

type state struct {
	Row int64 `json:"row"` // sheet rows consumed
}

type sheetRow struct {
	n     int64
	cells []string // cell texts, typed as described in cellText
}

type reader struct {
	cfg      *Config
	name     string
	book     *workbook
	sheet    string
	formats  *excelize.Rows // formatted values, while sampling (to see booleans and dates); then nil
	raws     *excelize.Rows // stored values (exact numbers)
	dateCols map[int]bool   // columns whose sampled numbers are shown as dates
	date1904 bool
	row      int64
	schema   *record.Schema
	kinds    []record.Kind
	q        filekit.Batches[sheetRow]
	samples  []sheetRow // the inference sample, then q.Samples
	st       state
}

// Reader opens the workbook and reads a sheet (ReadRequest.Stream, when set, names it): its header
// and inference sample, then to the checkpoint, if any.
func (format) Reader(ctx context.Context, env connector.Env, cfg *Config, req connector.ReadRequest) (connector.Reader, error) {
	path, name, overrides, err := cfg.Resolve(ctx, env, req)
	if err != nil {
		return nil, err
	}
	book, err := openBook(ctx, path, name, cfg.Password)
	if err != nil {
		return nil, err
	}
	r := &reader{cfg: cfg, name: name, book: book}
	if err := r.pickSheet(req.Stream); err != nil {
		book.Close()
		return nil, err
	}
	if props, err := book.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		r.date1904 = *props.Date1904
	}
	if err := r.rewind(); err != nil {
		book.Close()
		return nil, err
	}
	var names []string
	if cfg.HeaderRow > 0 {
		for r.row < int64(cfg.HeaderRow) {
			sr, err := r.next(ctx)
			if errors.Is(err, io.EOF) {
				r.Close()
				return nil, fmt.Errorf("%s: sheet %q has no header row %d (it is empty)", name, r.sheet, cfg.HeaderRow)
			}
			if err != nil {
				r.Close()
				return nil, err
			}
			if sr.n == int64(cfg.HeaderRow) {
				names = sr.cells
			}
		}
	}
	r.st.Row = r.row
	if r.samples, err = filekit.Sample(max(cfg.InferRows, 1), func() (sheetRow, error) { return r.next(ctx) }); err != nil {
		r.Close()
		return nil, err
	}
	if cfg.HeaderRow == 0 {
		width := 0
		for _, sr := range r.samples {
			width = max(width, len(sr.cells))
		}
		for i := range width {
			n, _ := excelize.ColumnNumberToName(i + 1)
			names = append(names, n)
		}
	}
	names = filekit.UniqueNames(names)
	cells := func(yield func([]string) bool) {
		for _, sr := range r.samples {
			if !yield(sr.cells) {
				return
			}
		}
	}
	if r.schema, r.kinds, err = filekit.TextSchema(name, names, overrides, cfg.InferRows, cells); err != nil {
		r.Close()
		return nil, err
	}
	if len(req.State) > 0 {
		if err := filekit.Checkpoint(name, req.State, &r.st); err != nil {
			r.Close()
			return nil, err
		}
		r.samples = nil
		if err := r.rewind(); err != nil {
			r.Close()
			return nil, err
		}
		r.stopFormats()
		for r.row < r.st.Row {
			if r.row&4095 == 0 && ctx.Err() != nil {
				r.Close()
				return nil, ctx.Err()
			}
			if !r.raws.Next() {
				r.Close()
				return nil, fmt.Errorf("%s: checkpoint at row %d but sheet %q has only %d: %w", name, r.st.Row, r.sheet, r.row, connector.ErrNotFound)
			}
			r.row++
		}
	}
	r.q.B = record.NewBuilder(r.schema, filekit.BatchSize(req.BatchSize))
	r.q.Samples, r.samples = r.samples, nil
	// Formatting every cell is slow in excelize; the sample has told which columns hold dates.
	r.stopFormats()
	return r, nil
}

func (r *reader) stopFormats() {
	if r.formats != nil {
		r.formats.Close()
		r.formats = nil
	}
}

func (r *reader) pickSheet(stream string) error {
	sheets := r.book.GetSheetList()
	want := stream
	if want == "" {
		want = r.cfg.Sheet
	}
	if want != "" {
		for _, s := range sheets {
			if s == want {
				r.sheet = s
				return nil
			}
		}
		return fmt.Errorf("%s: no sheet %q (sheets: %s): %w", r.name, want, strings.Join(sheets, ", "), connector.ErrNotFound)
	}
	if r.cfg.SheetIndex >= len(sheets) {
		return fmt.Errorf("%s: sheet_index %d is out of range (the workbook has %d sheets: %s): %w", r.name, r.cfg.SheetIndex, len(sheets), strings.Join(sheets, ", "), connector.ErrNotFound)
	}
	r.sheet = sheets[r.cfg.SheetIndex]
	return nil
}

// rewind starts both row iterators at the top of the sheet.
func (r *reader) rewind() error {
	r.closeRows()
	var err error
	if r.formats, err = r.book.Rows(r.sheet); err != nil {
		return fmt.Errorf("%s: sheet %q: %w", r.name, r.sheet, err)
	}
	if r.raws, err = r.book.Rows(r.sheet); err != nil {
		return fmt.Errorf("%s: sheet %q: %w", r.name, r.sheet, err)
	}
	r.row = 0
	return nil
}

func (r *reader) closeRows() {
	r.stopFormats()
	if r.raws != nil {
		r.raws.Close()
		r.raws = nil
	}
}

// next returns the next non-empty sheet row. It stops when ctx is cancelled, also in a long run of
// empty rows.
func (r *reader) next(ctx context.Context) (sheetRow, error) {
	for {
		if r.row&4095 == 4095 && ctx.Err() != nil {
			return sheetRow{}, ctx.Err()
		}
		more := r.raws.Next()
		if r.formats != nil {
			more = r.formats.Next() && more
		}
		if !more {
			if err := r.raws.Error(); err != nil {
				return sheetRow{}, fmt.Errorf("%s: sheet %q row %d: %w", r.name, r.sheet, r.row+1, err)
			}
			return sheetRow{}, io.EOF
		}
		r.row++
		var shown []string
		if r.formats != nil {
			var err error
			if shown, err = r.formats.Columns(); err != nil {
				return sheetRow{}, fmt.Errorf("%s: sheet %q row %d: %w", r.name, r.sheet, r.row, err)
			}
		}
		raw, err := r.raws.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return sheetRow{}, fmt.Errorf("%s: sheet %q row %d: %w", r.name, r.sheet, r.row, err)
		}
		cells := make([]string, max(len(shown), len(raw)))
		empty := true
		for i := range cells {
			var v string
			if i < len(raw) {
				v = raw[i]
			}
			if r.formats != nil {
				var s string
				if i < len(shown) {
					s = shown[i]
				}
				cells[i] = r.cellText(i, s, v)
			} else if r.dateCols[i] && v != "" {
				cells[i] = r.serialText(v, i < len(r.kinds) && r.kinds[i] == record.KindDate, false)
			} else {
				cells[i] = v
			}
			empty = empty && cells[i] == ""
		}
		if !empty {
			return sheetRow{n: r.row, cells: cells}, nil
		}
	}
}

// cellText picks a cell's text from how it is shown and how it is stored: TRUE/FALSE cells are
// booleans, numbers shown as dates are dates (or timestamps, with a time of day) in ISO form, and
// every other cell is its stored value (numbers exactly, not as rounded for display).
func (r *reader) cellText(col int, shown, raw string) string {
	if shown == raw {
		return raw
	}
	switch {
	case (shown == "TRUE" && raw == "1") || (shown == "FALSE" && raw == "0"):
		return strings.ToLower(shown)
	case looksLikeDate(shown):
		if _, err := strconv.ParseFloat(raw, 64); err != nil {
			return raw
		}
		if r.dateCols == nil {
			r.dateCols = map[int]bool{}
		}
		r.dateCols[col] = true
		return r.serialText(raw, false, strings.Contains(shown, ":"))
	}
	return raw
}

// serialText turns an Excel date serial into an ISO date (whole days, unless a time is shown) or
// timestamp; asDate forces a date.
func (r *reader) serialText(raw string, asDate, timeShown bool) string {
	serial, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return raw
	}
	t, err := excelize.ExcelDateToTime(serial, r.date1904)
	if err != nil {
		return raw
	}
	t = t.Round(time.Millisecond) // Excel keeps times to the millisecond
	if asDate || (!timeShown && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0) {
		return t.Format(record.DateLayout)
	}
	return t.Format("2006-01-02T15:04:05.999999Z07:00")
}

func looksLikeDate(s string) bool {
	if strings.Count(s, ":") >= 1 || strings.Count(s, "-") >= 2 || strings.Count(s, "/") >= 2 {
		return true
	}
	l := strings.ToLower(s)
	for _, m := range []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"} {
		if strings.Contains(l, m) {
			return true
		}
	}
	return false
}

func (r *reader) Schema() *record.Schema          { return r.schema }
func (r *reader) State() (json.RawMessage, error) { return json.Marshal(r.st) }
func (r *reader) Close() error {
	if r.book == nil {
		return nil
	}
	r.closeRows()
	err := r.book.Close()
	r.book = nil
	return err
}

func (r *reader) Next(ctx context.Context) (*record.Batch, error) {
	return r.q.Next(ctx, func() (sheetRow, error) { return r.nextRow(ctx) }, r.add, nil)
}

// nextRow is next for the batch loop: at the end, the checkpoint covers every row of the sheet.
func (r *reader) nextRow(ctx context.Context) (sheetRow, error) {
	sr, err := r.next(ctx)
	if errors.Is(err, io.EOF) {
		r.st.Row = r.row
	}
	return sr, err
}

func (r *reader) add(sr sheetRow) {
	r.st.Row = sr.n
	if len(sr.cells) > len(r.kinds) {
		for _, c := range sr.cells[len(r.kinds):] {
			if c != "" {
				r.q.B.Reject(rowkit.Reject(r.name, sr.n, "", fmt.Sprintf("has %d cells, the header names %d columns", len(sr.cells), len(r.kinds)), strings.Join(sr.cells, "\t")))
				return
			}
		}
	}
	row := r.q.B.Row(sr.n)
	for i, k := range r.kinds {
		if i >= len(sr.cells) || sr.cells[i] == "" {
			continue // a blank cell is NULL
		}
		v, err := parse(sr.cells[i], k)
		if err != nil {
			r.q.B.Unrow()
			col, _ := excelize.ColumnNumberToName(i + 1)
			r.q.B.Reject(rowkit.Reject(r.name, sr.n, r.schema.Fields[i].Name, fmt.Sprintf("cell %s%d: %v", col, sr.n, err), strings.Join(sr.cells, "\t")))
			return
		}
		row[i] = v
	}
}

func parse(s string, k record.Kind) (record.Value, error) {
	if k == record.KindBytes {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return record.Null, fmt.Errorf("invalid base64 for a bytes column: %w", err)
		}
		return record.Bytes(b), nil
	}
	return record.Parse(s, k)
}

// Writer starts writing the workbook (overwrite only).
func (format) Writer(ctx context.Context, env connector.Env, cfg *Config, req connector.WriteRequest) (connector.Writer, error) {
	if req.Mode == "" {
		req.Mode = connector.Overwrite
	}
	if req.Mode != connector.Overwrite {
		return nil, fmt.Errorf("write mode %q: %w (an .xlsx workbook is written whole: use overwrite)", req.Mode, connector.ErrUnsupported)
	}
	path, err := filekit.Destination(env, cfg.Path, cfg.Upload)
	if err != nil {
		return nil, err
	}
	run := req.RunID
	if run == "" {
		run = "run"
	}
	spool := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+run+".spool")
	sink, err := filekit.OpenSink(filekit.SinkOptions{Path: spool, Name: cfg.Path + " (spool)", Mode: connector.Append, RunID: run, Resume: req.Resume})
	if err != nil {
		return nil, err
	}
	if !req.Resume && sink.Offset() > 0 {
		// A spool left by another run: start afresh.
		if err := sink.ResumeAt(json.RawMessage(`{"offset":0}`)); err != nil {
			sink.Abort()
			return nil, err
		}
	}
	sheet := cfg.Sheet
	if sheet == "" {
		sheet = "Sheet1"
	}
	w := &writer{SinkWriter: filekit.SinkWriter{Sink: sink}, cfg: cfg, path: path, spoolPath: spool, sheet: sheet, schema: req.Schema}
	return w, nil
}

type writer struct {
	filekit.SinkWriter // Commit, CommitState, ResumeAt (Close and Abort are the writer's own)
	cfg                *Config
	path               string
	spoolPath          string
	sheet              string
	schema             *record.Schema
	buf                []byte
}

// spoolHeader is the spool's first line: the schema of the rows that follow.
type spoolHeader struct {
	Schema *record.Schema `json:"schema"`
}

func (w *writer) Write(ctx context.Context, b *record.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	if err := w.begin(b.Schema); err != nil {
		return err
	}
	var rowErr connector.RowError
	buf := w.buf[:0]
	for i, row := range b.Rows {
		if j, why := tooLong(row); why != "" {
			rowErr.Rows = append(rowErr.Rows, connector.RowProblem{Index: i, Field: b.Schema.Fields[j].Name, Reason: why})
			continue
		}
		buf = jsonrec.AppendObject(buf, b.Schema, row)
		buf = append(buf, '\n')
		w.Sink.Record()
	}
	if _, err := w.Sink.Write(buf); err != nil {
		return err
	}
	w.buf = buf[:0]
	if len(rowErr.Rows) > 0 {
		return &rowErr
	}
	return nil
}

// tooLong finds a text value Excel would truncate (a cell holds at most 32,767 UTF-16 units).
func tooLong(row record.Row) (int, string) {
	for j, v := range row {
		switch v.Kind() {
		case record.KindString, record.KindJSON, record.KindBytes:
			n := len(v.Str())
			if v.Kind() == record.KindBytes {
				n = base64.StdEncoding.EncodedLen(n)
			}
			if n > excelize.TotalCellChars && len(utf16.Encode([]rune(v.Str()))) > excelize.TotalCellChars {
				return j, fmt.Sprintf("text of %d characters does not fit an Excel cell (at most %d)", n, excelize.TotalCellChars)
			}
		}
	}
	return 0, ""
}

// begin writes the spool header once.
func (w *writer) begin(s *record.Schema) error {
	if w.schema == nil {
		w.schema = s
	}
	if w.Sink.Offset() > 0 {
		return nil
	}
	b, err := json.Marshal(spoolHeader{Schema: w.schema})
	if err != nil {
		return err
	}
	if _, err := w.Sink.Write(append(b, '\n')); err != nil {
		return err
	}
	return nil
}

func (w *writer) Abort(ctx context.Context) error {
	err := w.Sink.Abort()
	os.Remove(w.spoolPath)
	return err
}

// Close builds the workbook from the spool and renames it over the target.
func (w *writer) Close(ctx context.Context) error {
	if w.schema != nil {
		if err := w.begin(w.schema); err != nil {
			return err
		}
	}
	// The spool stays committed (and its commit record in place) until the workbook has replaced the
	// old file, so a process that dies in here resumes from the spool.
	if err := w.Sink.Commit(); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(w.path), "."+filepath.Base(w.path)+".tmp.xlsx")
	err := w.build(ctx, tmp)
	if err == nil {
		// excelize creates the file with mode 0777 (less the umask): make it the 0644 of every other
		// file a destination writes, not an executable.
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = syncFile(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, w.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", w.cfg.Path, err)
	}
	if d, err := os.Open(filepath.Dir(w.path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	if err := w.Sink.Close(); err != nil {
		return err
	}
	os.Remove(w.spoolPath)
	return nil
}

func syncFile(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (w *writer) build(ctx context.Context, tmp string) error {
	sp, err := os.Open(w.spoolPath)
	if err != nil {
		return fmt.Errorf("open spool: %w", err)
	}
	defer sp.Close()
	lr := filekit.NewLineReader(bufio.NewReaderSize(sp, 256<<10), math.MaxInt32)
	line, _, err := lr.Next()
	var schema *record.Schema
	switch {
	case errors.Is(err, io.EOF):
		schema = w.schema
	case err != nil:
		return fmt.Errorf("read spool: %w", err)
	default:
		var h spoolHeader
		if err := json.Unmarshal(line, &h); err != nil {
			return fmt.Errorf("spool header: %w", err)
		}
		schema = h.Schema
	}
	if schema == nil {
		schema = record.MustSchema()
	}
	schema, err = record.NewSchema(schema.Fields...) // rebuild the name index
	if err != nil {
		return err
	}
	sh, err := NewSheet(w.sheet, schema)
	if err != nil {
		return err
	}
	defer sh.Close()
	conv := jsonrec.NewConverter(schema)
	vals := make(record.Row, len(schema.Fields))
	for n := 1; ; n++ {
		line, _, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read spool: %w", err)
		}
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			conv.NewBatch()
		}
		clear(vals)
		if field, reason, err := conv.Row(line, vals); err != nil || reason != "" {
			return fmt.Errorf("spool row %d field %q: %s %v", n, field, reason, err)
		}
		if err := sh.add(vals); err != nil {
			return err
		}
	}
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	err = sh.Finish(out, w.cfg.Password)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// Sheet writes records as the one sheet of an .xlsx workbook: a header row of the field names, then
// a row per record with typed cells (see cell). The destination builds its workbook with it and so do
// exports. Rows stream to temporary files (in a directory of its own, removed by Close), so memory
// stays bounded; the workbook is assembled by Finish. It is not safe for concurrent use.
type Sheet struct {
	f                  *excelize.File
	sw                 *excelize.StreamWriter
	tmpDir             string
	row                int
	dateStyle, tsStyle int
	cells              []any
	schema             *record.Schema
}

// NewSheet starts a workbook whose sheet name holds records of schema s.
func NewSheet(name string, s *record.Schema) (*Sheet, error) {
	tmpDir, err := os.MkdirTemp("", "aggregator-xlsx-")
	if err != nil {
		return nil, fmt.Errorf("temp directory: %w", err)
	}
	sh := &Sheet{f: excelize.NewFile(excelize.Options{TmpDir: tmpDir}), tmpDir: tmpDir, row: 1, schema: s, cells: make([]any, len(s.Fields))}
	if err := sh.start(name); err != nil {
		sh.Close()
		return nil, err
	}
	return sh, nil
}

func (sh *Sheet) start(name string) error {
	if name != "Sheet1" {
		if err := sh.f.SetSheetName("Sheet1", name); err != nil {
			return fmt.Errorf("sheet %q: %w", name, err)
		}
	}
	var err error
	if sh.sw, err = sh.f.NewStreamWriter(name); err != nil {
		return err
	}
	dateFmt, tsFmt := "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss.000"
	if sh.dateStyle, err = sh.f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt}); err != nil {
		return err
	}
	if sh.tsStyle, err = sh.f.NewStyle(&excelize.Style{CustomNumFmt: &tsFmt}); err != nil {
		return err
	}
	if len(sh.schema.Fields) == 0 {
		return nil
	}
	head := make([]any, len(sh.schema.Fields))
	for i, fl := range sh.schema.Fields {
		head[i] = fl.Name
	}
	if err := sh.sw.SetRow("A1", head); err != nil {
		return err
	}
	sh.row++
	return nil
}

// Write adds the rows of b, whose fields must be the sheet's. A row with a text too long for a cell
// is reported in a *connector.RowError and the others are written; more rows than a sheet holds
// (1,048,576 with the header) is an error.
func (sh *Sheet) Write(b *record.Batch) error {
	if b.Schema != sh.schema && strings.Join(b.Schema.Names(), "\x00") != strings.Join(sh.schema.Names(), "\x00") {
		return fmt.Errorf("batch fields (%s) differ from the sheet's (%s)", strings.Join(b.Schema.Names(), ", "), strings.Join(sh.schema.Names(), ", "))
	}
	var rowErr connector.RowError
	for i, row := range b.Rows {
		if j, why := tooLong(row); why != "" {
			rowErr.Rows = append(rowErr.Rows, connector.RowProblem{Index: i, Field: b.Schema.Fields[j].Name, Reason: why})
			continue
		}
		if err := sh.add(row); err != nil {
			return err
		}
	}
	if len(rowErr.Rows) > 0 {
		return &rowErr
	}
	return nil
}

func (sh *Sheet) add(vals record.Row) error {
	if sh.row > excelize.TotalRows {
		return fmt.Errorf("an Excel sheet holds at most %d rows (the header included): row %d does not fit", excelize.TotalRows, sh.row)
	}
	for i := range sh.cells {
		var v record.Value
		if i < len(vals) {
			v = vals[i]
		}
		sh.cells[i] = cell(v, sh.dateStyle, sh.tsStyle)
	}
	cellName, _ := excelize.CoordinatesToCellName(1, sh.row)
	if err := sh.sw.SetRow(cellName, sh.cells); err != nil {
		return fmt.Errorf("row %d: %w", sh.row, err)
	}
	sh.row++
	return nil
}

// Finish writes the workbook to out, encrypted with password when it is not empty.
func (sh *Sheet) Finish(out io.Writer, password string) error {
	if err := sh.sw.Flush(); err != nil {
		return err
	}
	var opts []excelize.Options
	if password != "" {
		opts = append(opts, excelize.Options{Password: password})
	}
	_, err := sh.f.WriteTo(out, opts...)
	return err
}

// Close releases the workbook and removes its temporary files.
func (sh *Sheet) Close() error {
	err := sh.f.Close()
	os.RemoveAll(sh.tmpDir)
	return err
}

const maxExact = 1 << 53

// cell converts a value to what the stream writer stores: typed where Excel holds it exactly, text
// otherwise.
func cell(v record.Value, dateStyle, tsStyle int) any {
	switch v.Kind() {
	case record.KindNull:
		return nil
	case record.KindBool:
		return v.AsBool()
	case record.KindInt:
		if n := v.AsInt(); n > -maxExact && n < maxExact {
			return n
		}
		return strconv.FormatInt(v.AsInt(), 10)
	case record.KindFloat:
		f := v.AsFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
		return f
	case record.KindDecimal:
		f, err := strconv.ParseFloat(v.Str(), 64)
		if err == nil && strconv.FormatFloat(f, 'f', -1, 64) == v.Str() {
			return f
		}
		return v.Str()
	case record.KindString:
		if v.Str() == "" {
			return nil // Excel has no empty text distinct from a blank cell
		}
		return v.Str()
	case record.KindBytes:
		if v.Str() == "" {
			return nil
		}
		return base64.StdEncoding.EncodeToString(v.AsBytes())
	case record.KindDate:
		t := v.AsTime()
		if t.Year() < 1900 || t.Year() > 9999 {
			return v.String()
		}
		return excelize.Cell{Value: t, StyleID: dateStyle}
	case record.KindTimestamp:
		t := v.AsTime()
		if t.Year() < 1900 || t.Year() > 9999 || t.Nanosecond()%1_000_000 != 0 {
			// Excel keeps milliseconds at best: keep the exact instant as text.
			return v.String()
		}
		return excelize.Cell{Value: t, StyleID: tsStyle}
	}
	return v.String()
}
