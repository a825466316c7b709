package filekit

import (
	"bufio"
	"errors"
	"io"
	"os"
)

// LineReader reads lines of at most Max bytes; a longer line is skipped to its end without being
// held in memory and reported with tooLong.
type LineReader struct {
	br   *bufio.Reader
	Max  int
	Line int64 // lines consumed
	Off  int64 // bytes consumed
	long []byte
}

// NewLineReader reads lines from r.
func NewLineReader(r io.Reader, max int) *LineReader {
	return &LineReader{br: bufio.NewReaderSize(r, 256<<10), Max: max}
}

// Next returns the next line without its line ending (valid until the next call), or io.EOF.
func (l *LineReader) Next() (line []byte, tooLong bool, err error) {
	line, err = l.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		l.long = append(l.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = l.br.ReadSlice('\n')
			if len(l.long)+len(line) > l.Max {
				n := int64(len(l.long) + len(line))
				for errors.Is(err, bufio.ErrBufferFull) {
					line, err = l.br.ReadSlice('\n')
					n += int64(len(line))
				}
				l.Off += n
				l.Line++
				if l.long = l.long[:0]; cap(l.long) > 1<<20 {
					l.long = nil
				}
				if errors.Is(err, io.EOF) {
					err = nil
				}
				return nil, true, err
			}
			l.long = append(l.long, line...)
		}
		line = l.long
	}
	if len(line) == 0 && errors.Is(err, io.EOF) {
		return nil, false, io.EOF
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false, err
	}
	l.Off += int64(len(line))
	l.Line++
	if len(line) > l.Max {
		return nil, true, nil
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, false, nil
}

// LinesTail is the SinkOptions.Tail of a line-oriented file opened for append: new records go at its
// end, and *missingNL says that its last line lacks its newline (write one first). check, when not
// nil, looks at the existing file too (a header that must match).
func LinesTail(missingNL *bool, check func(f *os.File) error) func(f *os.File, size int64) (int64, bool, error) {
	return func(f *os.File, size int64) (int64, bool, error) {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, size-1); err != nil {
			return 0, false, err
		}
		*missingNL = last[0] != '\n'
		if check != nil {
			if err := check(f); err != nil {
				return 0, false, err
			}
		}
		return size, true, nil
	}
}
