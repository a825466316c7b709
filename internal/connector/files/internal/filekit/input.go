package filekit

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// In is an opened input file: plain, or gzip (detected by its magic bytes or a .gz name).
type In struct {
	Name string // what errors call the file
	path string
	Gzip bool
	f    *os.File
	gz   *gzip.Reader
	r    io.Reader
}

// Open opens path for reading; name is what errors call it.
func Open(path, name string) (*In, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	in := &In{Name: name, path: path, f: f, r: f}
	var magic [2]byte
	n, _ := io.ReadFull(f, magic[:])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) || strings.HasSuffix(strings.ToLower(path), ".gz") {
		gz, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: not a valid gzip file: %w", name, err)
		}
		in.Gzip, in.gz, in.r = true, gz, gz
	}
	return in, nil
}

// Read reads the (decompressed) content.
func (in *In) Read(p []byte) (int, error) {
	n, err := in.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && in.Gzip {
		err = fmt.Errorf("%s: corrupt gzip data: %w", in.Name, err)
	}
	return n, err
}

// Size is the size of the file on disk.
func (in *In) Size() int64 {
	st, err := in.f.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

// SeekTo positions the content at byte offset off (of the decompressed content): a seek for a plain
// file, reading and discarding for gzip.
func (in *In) SeekTo(off int64) error {
	if off <= 0 {
		return nil
	}
	if !in.Gzip {
		if _, err := in.f.Seek(off, io.SeekStart); err != nil {
			return fmt.Errorf("%s: seek to %d: %w", in.Name, off, err)
		}
		return nil
	}
	n, err := io.CopyN(io.Discard, in.r, off)
	if err != nil {
		return fmt.Errorf("%s: skip to offset %d (reached %d): %w", in.Name, off, n, err)
	}
	return nil
}

// Reopen closes in and opens its file again, positioned at byte offset off of the content (see
// SeekTo): how a reader continues after a checkpoint once the sample has been read.
func (in *In) Reopen(off int64) (*In, error) {
	in.Close()
	again, err := Open(in.path, in.Name)
	if err != nil {
		return nil, err
	}
	if err := again.SeekTo(off); err != nil {
		again.Close()
		return nil, err
	}
	return again, nil
}

// Checkpoint decodes a reader's checkpoint (ReadRequest.State) into st; a malformed one is an error
// naming the file called name.
func Checkpoint(name string, state json.RawMessage, st any) error {
	if err := json.Unmarshal(state, st); err != nil {
		return fmt.Errorf("%s: bad checkpoint %s: %w", name, state, err)
	}
	return nil
}

// InputCloser gives a reader its Close: it closes In once (embed it and set In when opening).
type InputCloser struct {
	In *In
}

// Close closes the input; closing again does nothing.
func (c *InputCloser) Close() error {
	if c.In == nil {
		return nil
	}
	err := c.In.Close()
	c.In = nil
	return err
}

// Close closes the file.
func (in *In) Close() error {
	if in.gz != nil {
		in.gz.Close()
	}
	return in.f.Close()
}

// ErrRecordTooLarge is returned by a Window when one record needs more bytes than allowed.
var ErrRecordTooLarge = errors.New("record exceeds max_record_bytes")

// Window limits how far a streaming decoder may read past the start of the current record, so that
// one huge value (a 2 GB string) fails with ErrRecordTooLarge instead of being buffered whole.
type Window struct {
	R     io.Reader
	n     int64 // bytes read so far
	limit int64
	Max   int64
}

// Mark starts a record at consumed bytes: reading may go Max bytes (plus read-ahead slack) past it.
func (w *Window) Mark(consumed int64) {
	w.limit = consumed + w.Max + 64<<10
}

// Read implements io.Reader.
func (w *Window) Read(p []byte) (int, error) {
	if w.limit == 0 {
		w.Mark(0)
	}
	if w.n >= w.limit {
		return 0, ErrRecordTooLarge
	}
	if rem := w.limit - w.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := w.R.Read(p)
	w.n += int64(n)
	return n, err
}
