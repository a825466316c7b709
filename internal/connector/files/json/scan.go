package json

import (
	"errors"
	"io"

	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filekit"
)

// errTruncated is returned when the input ends inside the array.
var errTruncated = errors.New("unexpected end of the file")

// elemScanner splits the elements of a JSON array (after its '[') without decoding them: it finds each
// element's bytes by tracking strings and nesting, so the reader can validate and walk them in place.
// It holds at most one element (capped at max bytes) plus read-ahead.
type elemScanner struct {
	r     io.Reader
	buf   []byte
	pos   int   // start of unread data
	end   int   // end of data
	off   int64 // file offset of buf[pos]
	max   int
	first bool
	eof   bool
}

func newElemScanner(r io.Reader, off int64, max int) *elemScanner {
	return &elemScanner{r: r, buf: make([]byte, 64<<10), off: off, max: max, first: true}
}

// fill reads more input, keeping buf[pos:end]; it grows the buffer up to the cap.
func (s *elemScanner) fill() error {
	if s.eof {
		return io.EOF
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.pos, s.end = 0, n
	}
	if s.end == len(s.buf) {
		if len(s.buf) > s.max+64<<10 {
			return filekit.ErrRecordTooLarge
		}
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	n, err := s.r.Read(s.buf[s.end:])
	s.end += n
	if errors.Is(err, io.EOF) {
		s.eof = true
		if n > 0 {
			return nil
		}
		return io.EOF
	}
	return err
}

// skipWS consumes whitespace; it returns the next byte (not consumed).
func (s *elemScanner) skipWS() (byte, error) {
	for {
		for s.pos < s.end {
			c := s.buf[s.pos]
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				return c, nil
			}
			s.pos++
			s.off++
		}
		if err := s.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				return 0, errTruncated
			}
			return 0, err
		}
	}
}

// next returns the next element's bytes (valid until the next call) and its file offset, or io.EOF
// after the closing ']'. The element is not validated.
func (s *elemScanner) next() ([]byte, int64, error) {
	c, err := s.skipWS()
	if err != nil {
		return nil, s.off, err
	}
	switch {
	case c == ']':
		s.pos++
		s.off++
		return nil, s.off, io.EOF
	case !s.first && c != ',':
		return nil, s.off, errors.New("want ',' or ']' between array elements, found " + quoteByte(c))
	case !s.first:
		s.pos++
		s.off++
		if c, err = s.skipWS(); err != nil {
			return nil, s.off, err
		}
	}
	if c == ']' || c == ',' {
		return nil, s.off, errors.New("want an array element, found " + quoteByte(c))
	}
	s.first = false
	// Scan one value; k is relative to pos, so it survives fill moving the data.
	k := 0
	depth, inStr, esc, scalar := 0, false, false, c != '{' && c != '[' && c != '"'
	for {
		for s.pos+k < s.end {
			ch := s.buf[s.pos+k]
			switch {
			case scalar:
				if ch == ',' || ch == ']' || ch == '}' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' {
					return s.take(k)
				}
			case inStr:
				switch {
				case esc:
					esc = false
				case ch == '\\':
					esc = true
				case ch == '"':
					inStr = false
					if depth == 0 {
						return s.take(k + 1)
					}
				}
			case ch == '"':
				inStr = true
			case ch == '{' || ch == '[':
				depth++
			case ch == '}' || ch == ']':
				depth--
				if depth == 0 {
					return s.take(k + 1)
				}
			}
			k++
			if k > s.max {
				return nil, s.off, filekit.ErrRecordTooLarge
			}
		}
		if err := s.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				if scalar && k > 0 {
					return s.take(k)
				}
				return nil, s.off, errTruncated
			}
			return nil, s.off, err
		}
	}
}

func (s *elemScanner) take(n int) ([]byte, int64, error) {
	v, at := s.buf[s.pos:s.pos+n], s.off
	s.pos += n
	s.off += int64(n)
	return v, at, nil
}

func quoteByte(c byte) string {
	if c < 0x20 || c >= 0x7f {
		return "a control or non-ASCII byte"
	}
	return "'" + string(c) + "'"
}
