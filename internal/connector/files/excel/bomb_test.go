package excel_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/excel"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
)

// bombPart is a zip part whose content is prefix, then fill repeated to about size bytes, then
// suffix. It is compressed without building the content: deflating identical 1 MiB chunks (each
// ending in a flush) gives identical bytes once the window holds only the fill, so one compressed
// chunk is repeated. A 1.1 GB part costs about 1 MB.
type bombPart struct {
	name           string
	prefix, suffix string
	fill           string
	size           int64
}

func (p bombPart) raw(t *testing.T) (*zip.FileHeader, []byte) {
	t.Helper()
	chunk := []byte(strings.Repeat(p.fill, (1<<20)/len(p.fill)))
	var out bytes.Buffer
	w, err := flate.NewWriter(&out, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	crc := crc32.NewIEEE()
	var n int64
	write := func(b []byte) {
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		crc.Write(b)
		n += int64(len(b))
	}
	write([]byte(p.prefix))
	write(chunk)
	write(chunk)
	mark := out.Len()
	write(chunk)
	steady := bytes.Clone(out.Bytes()[mark:])
	mark = out.Len()
	write(chunk)
	if !bytes.Equal(steady, out.Bytes()[mark:]) {
		t.Fatal("deflate of a repeated chunk is not steady")
	}
	var reps bytes.Buffer
	for n+int64(len(chunk)) <= p.size {
		reps.Write(steady)
		crc.Write(chunk)
		n += int64(len(chunk))
	}
	tail := out.Len()
	if _, err := w.Write([]byte(p.suffix)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	crc.Write([]byte(p.suffix))
	n += int64(len(p.suffix))
	data := append(append(bytes.Clone(out.Bytes()[:tail]), reps.Bytes()...), out.Bytes()[tail:]...)
	return &zip.FileHeader{Name: p.name, Method: zip.Deflate, CRC32: crc.Sum32(),
		CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(n)}, data
}

// bombBook writes name: a valid workbook (sheet "Data" with a header and a string row) whose parts
// named in bombs are replaced by (or added as) those bombs.
func bombBook(t *testing.T, dir, name string, bombs ...bombPart) string {
	t.Helper()
	book(t, dir, "base.xlsx", "", map[string][][]any{"Data": {{"id", "note"}, {1, "x"}}}, "Data")
	zr, err := zip.OpenReader(filepath.Join(dir, "base.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	replaced := map[string]bool{}
	put := func(b bombPart) {
		h, data := b.raw(t)
		w, err := zw.CreateRaw(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		replaced[b.name] = true
	}
	for _, f := range zr.File {
		for _, b := range bombs {
			if b.name == f.Name {
				put(b)
			}
		}
		if replaced[f.Name] {
			continue
		}
		w, err := zw.CreateHeader(&f.FileHeader)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(w, rc)
		rc.Close()
	}
	for _, b := range bombs {
		if !replaced[b.name] {
			put(b)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const (
	sheetHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
		`<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c><c r="B1" t="inlineStr"><is><t>note</t></is></c></row>`
	sheetTail = `</sheetData></worksheet>`
	sstHead   = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`
	sstTail = `</sst>`
	gb      = 1100 << 20 // the size of the bombs found in testing: 1.1 GB from a ~1 MB file
)

// A hostile workbook fails fast with an error naming the file, the part and the limit; memory stays
// far below what it inflates to, cancelling stops it promptly, and no temp file is left. Before the
// limits, a 1.1 GB cell or shared string drove the process past 8 GB and left a 1.1 GB excelize-*
// file per attempt. (Not parallel: it measures the process's allocations and sets TMPDIR.)
func TestZipBombs(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := t.TempDir()
	env := connector.Env{FileRoots: []string{dir}}
	for _, tc := range []struct {
		name  string
		bombs []bombPart
		want  string
	}{
		{"one cell of 1.1 GB", []bombPart{{name: "xl/worksheets/sheet1.xml",
			prefix: sheetHead + `<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="inlineStr"><is><t>`,
			fill:   "A", size: gb, suffix: `</t></is></c></row>` + sheetTail}},
			"part xl/worksheets/sheet1.xml has a text run of more than 4 MiB"},
		{"one shared string of 1.1 GB", []bombPart{{name: "xl/sharedStrings.xml",
			prefix: sstHead + `<si><t>id</t></si><si><t>note</t></si><si><t>`,
			fill:   "A", size: gb, suffix: `</t></si>` + sstTail}},
			"part xl/sharedStrings.xml has a text run of more than 4 MiB"},
		{"one shared string of 1.1 GB in rich-text runs", []bombPart{{name: "xl/sharedStrings.xml",
			prefix: sstHead + `<si><t>id</t></si><si><t>note</t></si><si>`,
			fill:   `<r><t>AAAAAAAA</t></r>`, size: gb, suffix: `</si>` + sstTail}},
			"part xl/sharedStrings.xml has a shared string of more than 4 MiB of XML"},
		{"one cell of 1.1 GB in a comment", []bombPart{{name: "xl/worksheets/sheet1.xml",
			prefix: sheetHead + `<!--`, fill: "<a>", size: gb, suffix: `-->` + sheetTail}},
			"part xl/worksheets/sheet1.xml has a comment of more than 4 MiB"},
		{"a row of a million cells", []bombPart{{name: "xl/worksheets/sheet1.xml",
			prefix: sheetHead + `<row r="2">`, fill: `<c t="n"><v>1</v></c>`, size: gb, suffix: `</row>` + sheetTail}},
			"part xl/worksheets/sheet1.xml has a row of more than 16384 cells"},
		{"styles of 300 MB, held in memory", []bombPart{{name: "xl/styles.xml",
			prefix: `<styleSheet>`, fill: " ", size: 300 << 20, suffix: `</styleSheet>`}},
			"part xl/styles.xml brings the parts held in memory past 256 MiB"},
		{"sheets of 5 GB together", []bombPart{
			{name: "xl/worksheets/sheet1.xml", prefix: sheetHead, fill: "<row/>", size: 2600 << 20, suffix: sheetTail},
			{name: "xl/worksheets/sheet2.xml", prefix: sheetHead, fill: "<row/>", size: 2600 << 20, suffix: sheetTail}},
			"brings the inflated size of the workbook past 4096 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := strings.ReplaceAll(tc.name, " ", "_") + ".xlsx"
			path := bombBook(t, dir, file, tc.bombs...)
			st, _ := os.Stat(path)
			t.Logf("%s: %d bytes", file, st.Size())
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := filetest.ReadAll(t, excel.New(), env, map[string]any{"path": file}, connector.ReadRequest{})
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("the bomb was read")
			}
			if !errors.Is(err, excel.ErrLimit) || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q: want ErrLimit naming %s and %q", err, file, tc.want)
			}
			// Everything the attempt allocated, freed or not, stays far below the 1.1 GB it inflates to.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("allocated %d MiB reading a bomb (want < 64 MiB)", alloc>>20)
			}
			if took > 10*time.Second {
				t.Errorf("took %v to refuse the bomb", took)
			}
			assertNoTempFiles(t, tmp)
		})
	}
}

// Cancelling stops a read of a huge (but well-formed) workbook promptly, while its parts are being
// checked and while excelize would spill the sheet, and leaves no temp file.
func TestZipBombCancel(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := t.TempDir()
	env := connector.Env{FileRoots: []string{dir}}
	bombBook(t, dir, "rows.xlsx", bombPart{name: "xl/worksheets/sheet1.xml",
		prefix: sheetHead, fill: `<row><c t="n"><v>1</v></c></row>`, size: 3 << 30, suffix: sheetTail})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	started := time.Now()
	go func() {
		_, err := excel.New().Open(ctx, env, map[string]any{"path": "rows.xlsx"}, connector.ReadRequest{})
		done <- err
	}()
	// Cancel once the read is under way: when the check has inflated a first chunk of the sheet.
	timer := time.AfterFunc(200*time.Millisecond, cancel)
	defer timer.Stop()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("after cancel: %v (want context.Canceled)", err)
		}
		if took := time.Since(started); took > 3*time.Second {
			t.Errorf("cancel took effect after %v", took)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the read did not stop on cancel")
	}
	assertNoTempFiles(t, tmp)
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left in the temp directory: %s", e.Name())
	}
}
