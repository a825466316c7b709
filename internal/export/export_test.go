package export_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pq "github.com/parquet-go/parquet-go"
	"github.com/xuri/excelize/v2"

	"github.com/dataaggregator/aggregator/internal/export"
	"github.com/dataaggregator/aggregator/internal/record"
)

// sample is a batch of every kind, with a null in each column of the second row.
func sample() *record.Batch {
	s := record.MustSchema(
		record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString, Nullable: true},
		record.Field{Name: "amount", Kind: record.KindDecimal, Precision: 10, Scale: 2, Nullable: true},
		record.Field{Name: "ratio", Kind: record.KindFloat, Nullable: true}, record.Field{Name: "ok", Kind: record.KindBool, Nullable: true},
		record.Field{Name: "day", Kind: record.KindDate, Nullable: true}, record.Field{Name: "at", Kind: record.KindTimestamp, Nullable: true})
	b := record.NewBatch(s, 2)
	at := time.Date(2026, 12, 6, 23, 30, 1, 123456000, time.UTC)
	b.Rows = append(b.Rows,
		record.Row{record.Int(1), record.String("Ada, \"the\" first"), record.MustDecimal("1234.50"), record.Float(0.25), record.Bool(true),
			record.Date(at), record.Timestamp(at)},
		record.Row{record.Int(2), record.Null, record.Null, record.Null, record.Null, record.Null, record.Null})
	return b
}

func write(t *testing.T, f export.Format, bs ...*record.Batch) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := export.Write(t.Context(), &buf, f, &export.Batches{S: bs[0].Schema, B: bs})
	if err != nil {
		t.Fatalf("Write %s: %v", f, err)
	}
	want := 0
	for _, b := range bs {
		want += len(b.Rows)
	}
	if n != int64(want) {
		t.Fatalf("Write %s: %d rows, want %d", f, n, want)
	}
	return buf.Bytes()
}

func TestCSV(t *testing.T) {
	t.Parallel()
	got := string(write(t, export.CSV, sample()))
	want := "id,name,amount,ratio,ok,day,at\n" +
		"1,\"Ada, \"\"the\"\" first\",1234.50,0.25,true,2026-12-06,2026-12-06T23:30:01.123456Z\n" +
		"2,,,,,,\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("CSV (-want +got):\n%s", diff)
	}
}

func TestNDJSON(t *testing.T) {
	t.Parallel()
	lines := strings.Split(strings.TrimSuffix(string(write(t, export.NDJSON, sample())), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(lines), lines)
	}
	if !strings.Contains(lines[0], `"amount":1234.50`) || !strings.Contains(lines[0], `"name":"Ada, \"the\" first"`) {
		t.Errorf("line 1 = %s", lines[0])
	}
	if !strings.Contains(lines[1], `"name":null`) {
		t.Errorf("line 2 = %s", lines[1])
	}
}

func TestExcel(t *testing.T) {
	t.Parallel()
	body := write(t, export.Excel, sample())
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("open the workbook: %v", err)
	}
	defer f.Close()
	rows, err := f.GetRows("Sheet1", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want a header and 2: %q", len(rows), rows)
	}
	if diff := cmp.Diff([]string{"id", "name", "amount", "ratio", "ok", "day", "at"}, rows[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if rows[1][0] != "1" || rows[1][1] != `Ada, "the" first` || rows[1][2] != "1234.50" || rows[1][4] != "1" {
		t.Errorf("row 1 = %q", rows[1])
	}
	if len(rows[2]) != 1 || rows[2][0] != "2" {
		t.Errorf("row 2 = %q, want only the id (nulls are blank cells)", rows[2])
	}
}

func TestParquet(t *testing.T) {
	t.Parallel()
	body := write(t, export.Parquet, sample())
	f, err := pq.OpenFile(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("open the Parquet body: %v", err)
	}
	if f.NumRows() != 2 {
		t.Fatalf("%d rows, want 2", f.NumRows())
	}
	var names []string
	for _, fl := range f.Schema().Fields() {
		names = append(names, fl.Name())
	}
	if diff := cmp.Diff([]string{"id", "name", "amount", "ratio", "ok", "day", "at"}, names); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	rows := make([]pq.Row, 2)
	n, err := f.RowGroups()[0].Rows().ReadRows(rows)
	if n != 2 || (err != nil && !errors.Is(err, io.EOF)) {
		t.Fatalf("ReadRows: %d, %v", n, err)
	}
	r := rows[0]
	at := time.Date(2026, 12, 6, 23, 30, 1, 123456000, time.UTC)
	if r[0].Int64() != 1 || string(r[1].ByteArray()) != `Ada, "the" first` || r[2].Int64() != 123450 || r[3].Double() != 0.25 ||
		!r[4].Boolean() || r[5].Int32() != int32(at.Unix()/86400) || r[6].Int64() != at.UnixMicro() {
		t.Errorf("row 1 = %v", r)
	}
	for i, v := range rows[1][1:] {
		if !v.IsNull() {
			t.Errorf("row 2 column %d = %v, want null", i+1, v)
		}
	}
}

func TestRowThatDoesNotFit(t *testing.T) {
	t.Parallel()
	b := sample()
	b.Rows[1][2] = record.MustDecimal("0.125") // three decimals in a decimal(10,2)
	_, err := export.Write(t.Context(), io.Discard, export.Parquet, &export.Batches{S: b.Schema, B: []*record.Batch{b}})
	if err == nil || !strings.Contains(err.Error(), `row 2, field "amount"`) {
		t.Fatalf("err = %v, want row 2, field \"amount\" named", err)
	}
}

func TestSourceError(t *testing.T) {
	t.Parallel()
	for _, f := range export.Formats() {
		_, err := export.Write(t.Context(), io.Discard, f, failing{sample().Schema})
		if err == nil || !strings.Contains(err.Error(), "disk gone") {
			t.Errorf("%s: err = %v, want the source's", f, err)
		}
	}
}

type failing struct{ s *record.Schema }

func (f failing) Schema() *record.Schema                    { return f.s }
func (failing) Next(context.Context) (*record.Batch, error) { return nil, errors.New("disk gone") }

func TestParseFormatAndNames(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]export.Format{"CSV": export.CSV, "ndjson": export.NDJSON, "excel": export.Excel, "xlsx": export.Excel, "parquet": export.Parquet} {
		if got, err := export.ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := export.ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("ParseFormat(xml) = %v, want an error naming it", err)
	}
	if got := export.FileName(`orders "2026".csv`, export.Parquet); got != "orders__2026_.parquet" {
		t.Errorf("FileName = %q", got)
	}
	if got := export.Excel.ContentType(); got != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("ContentType = %q", got)
	}
}
