package excel

import (
	"archive/zip"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Limits on what reading one workbook may inflate. An .xlsx file is a zip of XML parts; a small upload
// can declare parts of gigabytes, or hold one cell of gigabytes, which excelize would hold whole in
// memory (or spill to a temp file first). Every part is checked before excelize sees the workbook.
// archive/zip refuses a part that inflates past the size its header declares, so the declared sizes
// bound the real ones.
const (
	// maxInflated bounds the declared sizes of all parts together.
	maxInflated = 4 << 30
	// xmlSpill is excelize's UnzipXMLSizeLimit: a worksheet or shared-strings part larger than this is
	// spilled to a temp file and streamed; every other part is held in memory.
	xmlSpill = 16 << 20
	// maxInMemory bounds the parts excelize holds in memory, together.
	maxInMemory = 256 << 20
	// maxCell bounds the XML of one cell (<c>) or one shared string (<si>), and of any single tag,
	// text run, comment or CDATA section. Excel holds at most 32,767 characters in a cell (under
	// 200 KB even escaped); the rest is room for rich-text markup.
	maxCell = 4 << 20
	// maxRow bounds the XML of one row (<row>), and maxRowCells its cells (Excel's 16,384 columns).
	maxRow      = 64 << 20
	maxRowCells = 16_384
	// maxSharedStrings bounds the entries of the shared-strings table (excelize indexes each one).
	maxSharedStrings = 8 << 20
)

// ErrLimit marks a workbook refused because it exceeds one of the limits above (a possible zip
// bomb): retrying cannot succeed.
var ErrLimit = errors.New("workbook exceeds a safety limit")

func limitError(name, part, what string) error {
	return fmt.Errorf("%s: part %s %s: %w (refused as a possible zip bomb)", name, part, what, ErrLimit)
}

func mib(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }

// checkZip checks every part of the workbook zip against the limits, inflating the XML parts once
// to scan them. It stops when ctx is cancelled.
func checkZip(ctx context.Context, zr *zip.Reader, name string) error {
	// The declared sizes first (no inflating), then the XML parts one by one.
	var total, inMemory uint64
	for _, f := range zr.File {
		size := f.UncompressedSize64
		total += size
		if total > maxInflated {
			return limitError(name, f.Name, fmt.Sprintf("brings the inflated size of the workbook past %s", mib(maxInflated)))
		}
		if size <= xmlSpill || !sheetOrStrings(partName(f)) {
			inMemory += size
			if inMemory > maxInMemory {
				return limitError(name, f.Name, fmt.Sprintf("brings the parts held in memory past %s", mib(maxInMemory)))
			}
		}
	}
	for _, f := range zr.File {
		lower := partName(f)
		if f.FileInfo().IsDir() || f.UncompressedSize64 == 0 || (binaryPart(lower) && !sheetOrStrings(lower)) {
			continue
		}
		if err := scanPart(ctx, f, name, lower == "xl/sharedstrings.xml"); err != nil {
			return err
		}
	}
	return nil
}

// partName is a part's name as excelize matches it: lower case, forward slashes.
func partName(f *zip.File) string { return strings.ToLower(strings.ReplaceAll(f.Name, `\`, "/")) }

// sheetOrStrings tells whether excelize streams the part (from a temp file when it is large): a
// worksheet or the shared-strings table, by excelize's own test of the name.
func sheetOrStrings(lower string) bool {
	return lower == "xl/sharedstrings.xml" || strings.HasPrefix(lower, "xl/worksheets/sheet")
}

// binaryPart tells whether a part is an image or other binary blob by its extension: those are not
// scanned as XML (they are held in memory, within maxInMemory).
func binaryPart(lower string) bool {
	switch path.Ext(lower) {
	case ".png", ".jpg", ".jpeg", ".jfif", ".gif", ".bmp", ".tif", ".tiff", ".emf", ".wmf", ".wdp", ".ico", ".bin":
		return true
	}
	return false
}

// scanPart inflates one part and, if it is XML, checks its tokens, cells, rows and shared strings.
func scanPart(ctx context.Context, f *zip.File, name string, sharedStrings bool) error {
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%s: not a valid .xlsx workbook: part %s: %w", name, f.Name, err)
	}
	defer rc.Close()
	g := xmlGuard{name: name, part: f.Name, sst: sharedStrings, cell: -1, row: -1}
	err = g.scan(bufio.NewReaderSize(ctxReader{ctx, rc}, 64<<10))
	if err != nil && !errors.Is(err, ErrLimit) && ctx.Err() == nil {
		return fmt.Errorf("%s: not a valid .xlsx workbook: part %s: %w", name, f.Name, err)
	}
	return err
}

// ctxReader fails reads once ctx is done, so a long inflate stops on cancel.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// xmlGuard scans XML as encoding/xml tokenizes it, measuring each token and the cell, shared-string
// and row elements, without building any of them.
type xmlGuard struct {
	name, part string
	sst        bool // the shared-strings table: count <si> entries
	off        int64
	cell       int64 // offset of the open <c> or <si>, or -1
	row        int64 // offset of the open <row>, or -1
	cells      int   // cells of the open row
	strings    int64
	tag        [8]byte // the current tag's local name (its first bytes)
}

func (g *xmlGuard) scan(br *bufio.Reader) error {
	for {
		// Text up to the next '<'.
		start := g.off
		for {
			s, err := br.ReadSlice('<')
			g.off += int64(len(s))
			if g.off-start > maxCell {
				return limitError(g.name, g.part, fmt.Sprintf("has a text run of more than %s", mib(maxCell)))
			}
			if err == nil {
				break
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := g.markup(br); err != nil {
			if errors.Is(err, io.EOF) {
				return nil // a truncated document: excelize reports it
			}
			return err
		}
		if err := g.spans(); err != nil {
			return err
		}
	}
}

// spans checks the open cell (or shared string) and row against their limits.
func (g *xmlGuard) spans() error {
	if g.cell >= 0 && g.off-g.cell > maxCell {
		what := "cell"
		if g.sst {
			what = "shared string"
		}
		return limitError(g.name, g.part, fmt.Sprintf("has a %s of more than %s of XML (Excel holds at most 32,767 characters in one)", what, mib(maxCell)))
	}
	if g.row >= 0 && g.off-g.row > maxRow {
		return limitError(g.name, g.part, fmt.Sprintf("has a row of more than %s of XML", mib(maxRow)))
	}
	return nil
}

// markup consumes one piece of markup after its '<' and updates the element spans.
func (g *xmlGuard) markup(br *bufio.Reader) error {
	start := g.off - 1
	b, err := g.byte(br)
	if err != nil {
		return err
	}
	switch b {
	case '?':
		return g.until(br, start, 2, "?>", "processing instruction")
	case '!':
		if p, _ := br.Peek(2); string(p) == "--" {
			return g.until(br, start, 4, "-->", "comment")
		}
		if p, _ := br.Peek(7); string(p) == "[CDATA[" {
			return g.until(br, start, 9, "]]>", "CDATA section")
		}
		// DOCTYPE and entity declarations have no place in a workbook part; refusing them also
		// refuses entity expansion.
		return fmt.Errorf("has a DOCTYPE or declaration at byte %d", start)
	}
	end := b == '/'
	if end {
		if b, err = g.byte(br); err != nil {
			return err
		}
	}
	// The tag's name: keep the local part (after any prefix) and its first bytes.
	n := 0
	for !isNameEnd(b) {
		if b == ':' {
			n = 0
		} else if n < len(g.tag) {
			g.tag[n] = b
			n++
		} else {
			n = len(g.tag) + 1 // longer than any name we look for
		}
		if b, err = g.byte(br); err != nil {
			return err
		}
		if g.off-start > maxCell {
			return limitError(g.name, g.part, fmt.Sprintf("has a tag of more than %s", mib(maxCell)))
		}
	}
	local := ""
	if n <= len(g.tag) {
		local = string(g.tag[:n])
	}
	// The rest of the tag, to its '>' (outside quoted attribute values).
	var quote, prev byte
	for b != '>' || quote != 0 {
		switch {
		case quote != 0 && b == quote:
			quote = 0
		case quote == 0 && (b == '"' || b == '\''):
			quote = b
		}
		prev = b
		if b, err = g.byte(br); err != nil {
			return err
		}
		if g.off-start > maxCell {
			return limitError(g.name, g.part, fmt.Sprintf("has a tag of more than %s", mib(maxCell)))
		}
	}
	selfClosing := prev == '/'
	g.element(local, start, end, selfClosing)
	return g.spansOrCount()
}

func (g *xmlGuard) spansOrCount() error {
	if g.cells > maxRowCells {
		return limitError(g.name, g.part, fmt.Sprintf("has a row of more than %d cells (Excel's column limit)", maxRowCells))
	}
	if g.strings > maxSharedStrings {
		return limitError(g.name, g.part, fmt.Sprintf("has more than %d shared strings", maxSharedStrings))
	}
	return nil
}

// element tracks the cell, shared-string and row elements a tag opens or closes.
func (g *xmlGuard) element(local string, start int64, end, selfClosing bool) {
	switch {
	case local == "row" && end:
		g.row = -1
	case local == "row":
		g.row, g.cells = start, 0
		if selfClosing {
			g.row = -1
		}
	case (local == "c" && !g.sst) || (local == "si" && g.sst):
		if end {
			g.cell = -1
			return
		}
		if g.sst {
			g.strings++
		} else {
			g.cells++
		}
		g.cell = start
		if selfClosing {
			g.cell = -1
		}
	}
}

// until consumes markup up to and including its terminator (which may straddle buffer refills);
// open is the length of its opening ("<!--").
func (g *xmlGuard) until(br *bufio.Reader, start int64, open int, term, what string) error {
	var tail []byte // the last bytes consumed, enough to see the terminator
	for {
		s, err := br.ReadSlice(term[len(term)-1])
		g.off += int64(len(s))
		if g.off-start > maxCell {
			return limitError(g.name, g.part, fmt.Sprintf("has a %s of more than %s", what, mib(maxCell)))
		}
		tail = append(tail, s[max(0, len(s)-len(term)):]...)
		tail = tail[max(0, len(tail)-len(term)):]
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return err
		}
		// The opening ("<!--") must not lend its bytes to the end: "<!-->" is not a whole comment.
		if g.off-start >= int64(open+len(term)) && string(tail) == term {
			return nil
		}
	}
}

func (g *xmlGuard) byte(br *bufio.Reader) (byte, error) {
	b, err := br.ReadByte()
	if err == nil {
		g.off++
	}
	return b, err
}

func isNameEnd(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '>' || b == '/'
}
