package parquet

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	pqformat "github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// Limits bound what reading one file may hold in memory.
type Limits struct {
	// MaxRowGroupBytes caps a row group's uncompressed size (the sum of its column chunks).
	MaxRowGroupBytes int64
	// MaxPageBytes caps one page, compressed and uncompressed.
	MaxPageBytes int64
	// MaxFooterBytes caps the file's metadata (its footer).
	MaxFooterBytes int64
}

// The default limits.
const (
	DefaultMaxRowGroupBytes = 512 << 20
	DefaultMaxPageBytes     = 64 << 20
	DefaultMaxFooterBytes   = 64 << 20
)

// checkFile checks what OpenFile would trust before it allocates: the magic bytes at both ends and
// the footer's length.
func checkFile(r io.ReaderAt, size int64, lim Limits) error {
	if size < 12 {
		return fmt.Errorf("not a Parquet file: %d bytes (a Parquet file starts and ends with PAR1)", size)
	}
	var head [4]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if string(head[:]) != "PAR1" {
		return fmt.Errorf("not a Parquet file: it does not start with PAR1")
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if string(tail[4:]) != "PAR1" {
		return fmt.Errorf("truncated or not a Parquet file: it does not end with PAR1 (an unfinished write, or a cut copy)")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > size-12 {
		return fmt.Errorf("truncated Parquet file: its footer claims %d bytes in a file of %d", n, size)
	}
	if n > lim.MaxFooterBytes {
		return fmt.Errorf("the Parquet footer of %d bytes is over the limit of %d", n, lim.MaxFooterBytes)
	}
	return nil
}

// checkRowGroup checks a row group before it is read: its uncompressed size, and every page header
// of every column chunk (each page's sizes, within the chunk, and what its compressed body really
// decompresses to), so that no page makes the decoder allocate past the limits.
func checkRowGroup(r io.ReaderAt, size int64, i int, rg *pqformat.RowGroup, lim Limits) error {
	var total int64
	for _, c := range rg.Columns {
		if c.MetaData.TotalUncompressedSize < 0 || c.MetaData.TotalCompressedSize < 0 {
			return fmt.Errorf("row group %d, column %v: negative size in the metadata", i, c.MetaData.PathInSchema)
		}
		total += c.MetaData.TotalUncompressedSize
	}
	if total > lim.MaxRowGroupBytes || total < 0 {
		return fmt.Errorf("row group %d holds %d bytes uncompressed, over max_row_group_bytes (%d)", i, total, lim.MaxRowGroupBytes)
	}
	for _, c := range rg.Columns {
		if err := checkChunk(r, size, &c.MetaData, lim); err != nil {
			return fmt.Errorf("row group %d, column %v: %w", i, []string(c.MetaData.PathInSchema), err)
		}
	}
	return nil
}

type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func checkChunk(r io.ReaderAt, size int64, md *pqformat.ColumnMetaData, lim Limits) error {
	switch md.Codec {
	case pqformat.Uncompressed, pqformat.Snappy, pqformat.Gzip, pqformat.Brotli, pqformat.Zstd, pqformat.Lz4Raw:
	default:
		return fmt.Errorf("compression %s is not supported (uncompressed, snappy, gzip, brotli, zstd and lz4_raw are)", md.Codec)
	}
	start := md.DataPageOffset
	if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
		start = md.DictionaryPageOffset
	}
	end := start + md.TotalCompressedSize
	if start < 4 || end < start || end > size-8 {
		return fmt.Errorf("the column chunk (bytes %d to %d) lies outside the file (%d bytes): truncated or corrupt", start, end, size)
	}
	var proto thrift.CompactProtocol
	for off := start; off < end; {
		cr := &countingReader{r: bufio.NewReaderSize(io.NewSectionReader(r, off, end-off), 4096)}
		var h pqformat.PageHeader
		if err := thrift.NewDecoder(proto.NewReader(cr)).Decode(&h); err != nil {
			return fmt.Errorf("page header at byte %d: %w", off, err)
		}
		hdr := cr.n // the bytes the decoder took (the bufio.Reader's read-ahead is not counted)
		comp, uncomp := int64(h.CompressedPageSize), int64(h.UncompressedPageSize)
		switch {
		case comp < 0 || uncomp < 0:
			return fmt.Errorf("page at byte %d: negative size", off)
		case comp > lim.MaxPageBytes || uncomp > lim.MaxPageBytes:
			return fmt.Errorf("page at byte %d holds %d bytes (%d compressed), over max_page_bytes (%d)", off, uncomp, comp, lim.MaxPageBytes)
		case off+hdr+comp > end:
			return fmt.Errorf("page at byte %d runs past its column chunk: truncated or corrupt", off)
		}
		body := off + hdr
		compressed := md.Codec != pqformat.Uncompressed
		if h.DataPageHeaderV2.Valid {
			v := h.DataPageHeaderV2.V
			levels := int64(v.RepetitionLevelsByteLength) + int64(v.DefinitionLevelsByteLength)
			if levels < 0 || levels > comp {
				return fmt.Errorf("page at byte %d: levels of %d bytes in a page of %d", off, levels, comp)
			}
			body += levels
			comp -= levels
			if v.IsCompressed.Valid && !v.IsCompressed.V {
				compressed = false
			}
		}
		if compressed && h.Type != pqformat.IndexPage {
			if err := checkBody(io.NewSectionReader(r, body, comp), md.Codec, comp, uncomp, lim.MaxPageBytes); err != nil {
				return fmt.Errorf("page at byte %d: %w", off, err)
			}
		}
		off += hdr + int64(h.CompressedPageSize)
	}
	return nil
}

var errBomb = errors.New("decompresses past max_page_bytes")

// checkBody checks that a compressed page body decompresses to at most max bytes, without holding
// more than that.
func checkBody(r *io.SectionReader, codec pqformat.CompressionCodec, n, uncomp, max int64) error {
	count := func(rd io.Reader) error {
		got, err := io.Copy(io.Discard, io.LimitReader(rd, max+1))
		if err != nil {
			return fmt.Errorf("corrupt %s data: %w", codec, err)
		}
		if got > max {
			return fmt.Errorf("%s data %w (%d)", codec, errBomb, max)
		}
		return nil
	}
	switch codec {
	case pqformat.Snappy:
		var head [binary.MaxVarintLen64]byte
		k, _ := r.ReadAt(head[:], 0)
		dl, m := binary.Uvarint(head[:k])
		if m <= 0 {
			return fmt.Errorf("corrupt snappy data")
		}
		if dl > uint64(max) {
			return fmt.Errorf("snappy data %w (%d)", errBomb, max)
		}
	case pqformat.Gzip:
		z, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("corrupt gzip data: %w", err)
		}
		return count(z)
	case pqformat.Brotli:
		return count(brotli.NewReader(r))
	case pqformat.Zstd:
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(max)), zstd.WithDecoderMaxWindow(uint64(max)))
		if err != nil {
			return fmt.Errorf("corrupt zstd data: %w", err)
		}
		defer z.Close()
		return count(z)
	case pqformat.Lz4Raw:
		src := make([]byte, n)
		if _, err := r.ReadAt(src, 0); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		// An LZ4 block does not say its size; the page header does, and it is within max.
		dst := make([]byte, uncomp)
		if _, err := lz4.UncompressBlock(src, dst); err != nil {
			return fmt.Errorf("corrupt lz4 data, or it decompresses past the page's declared size: %w", err)
		}
	}
	return nil
}
