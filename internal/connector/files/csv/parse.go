package csv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// rowError is a problem with one record; the record has been consumed and reading can go on.
type rowError struct{ reason string }

func (e *rowError) Error() string { return e.reason }

// parser splits CSV text into records. Field bytes (unescaped) go to buf, field ends to ends; the
// slices are reused for every record. It never holds more than one record (capped at max bytes).
type parser struct {
	br     *bufio.Reader
	comma  byte
	quote  byte // 0: no quoting
	max    int
	line   int64 // physical lines consumed
	off    int64 // bytes consumed
	buf    []byte
	ends   []int
	quoted []bool
	long   []byte
	bom    bool // a leading BOM is still to be checked
	eof    bool
}

func newParser(r io.Reader, comma, quote byte, max int) *parser {
	return &parser{br: bufio.NewReaderSize(r, 256<<10), comma: comma, quote: quote, max: max, bom: true,
		buf: make([]byte, 0, 1024), ends: make([]int, 0, 32), quoted: make([]bool, 0, 32)}
}

// field returns field i's bytes.
func (p *parser) field(i int) []byte {
	start := 0
	if i > 0 {
		start = p.ends[i-1]
	}
	return p.buf[start:p.ends[i]]
}

func (p *parser) nfields() int { return len(p.ends) }

// readLine returns the next physical line (with its newline). A line longer than max is discarded
// up to its end and reported with tooLong.
func (p *parser) readLine() (line []byte, tooLong bool, err error) {
	line, err = p.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		p.long = append(p.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = p.br.ReadSlice('\n')
			if len(p.long)+len(line) > p.max {
				tooLong = true
				n := int64(len(p.long) + len(line))
				for errors.Is(err, bufio.ErrBufferFull) {
					line, err = p.br.ReadSlice('\n')
					n += int64(len(line))
				}
				p.off += n
				p.line++
				if p.long = p.long[:0]; cap(p.long) > 1<<20 {
					p.long = nil
				}
				return nil, true, err
			}
			p.long = append(p.long, line...)
		}
		line = p.long
	}
	if len(line) > 0 {
		p.off += int64(len(line))
		p.line++
	}
	if len(line) > p.max {
		return nil, true, err
	}
	if p.bom {
		p.bom = false
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	return line, false, err
}

func atEOL(b []byte) bool {
	return len(b) == 0 || b[0] == '\n' || (b[0] == '\r' && (len(b) == 1 || b[1] == '\n'))
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// read parses the next record and returns the line it starts on. A problem with the record itself
// comes back as *rowError (the record is consumed); io.EOF at the end; other errors are fatal.
func (p *parser) read() (int64, error) {
	p.buf, p.ends, p.quoted = p.buf[:0], p.ends[:0], p.quoted[:0]
	if p.eof {
		return 0, io.EOF
	}
	var line []byte
	var start int64
	for {
		start = p.line + 1
		l, tooLong, err := p.readLine()
		if err != nil && !errors.Is(err, io.EOF) {
			return start, err
		}
		if errors.Is(err, io.EOF) {
			p.eof = true
		}
		if tooLong {
			return start, &rowError{fmt.Sprintf("record exceeds max_record_bytes (%d)", p.max)}
		}
		if len(l) == 0 && p.eof {
			return 0, io.EOF
		}
		if atEOL(l) {
			if p.eof {
				return 0, io.EOF
			}
			continue // blank line
		}
		line = l
		break
	}
	size := len(line)
	i := 0
	for {
		if p.quote != 0 && i < len(line) && line[i] == p.quote {
			i++
			for {
				j := bytes.IndexByte(line[i:], p.quote)
				if j < 0 {
					// The quoted field goes on past this line.
					p.buf = append(p.buf, line[i:]...)
					l, tooLong, err := p.readLine()
					if err != nil && !errors.Is(err, io.EOF) {
						return start, err
					}
					if errors.Is(err, io.EOF) {
						p.eof = true
					}
					size += len(l)
					if tooLong || size > p.max {
						if !tooLong {
							p.skipLine(l)
						}
						return start, &rowError{fmt.Sprintf("record exceeds max_record_bytes (%d) (is a quote unbalanced?)", p.max)}
					}
					if len(l) == 0 {
						return start, &rowError{fmt.Sprintf("unterminated quoted field %d: the quote opened on line %d is never closed", len(p.ends)+1, start)}
					}
					line, i = l, 0
					continue
				}
				p.buf = append(p.buf, line[i:i+j]...)
				i += j + 1
				if i < len(line) && line[i] == p.quote {
					p.buf = append(p.buf, p.quote)
					i++
					continue
				}
				break
			}
			p.ends = append(p.ends, len(p.buf))
			p.quoted = append(p.quoted, true)
			rest := line[i:]
			if atEOL(rest) {
				return start, nil
			}
			if rest[0] != p.comma {
				return start, &rowError{fmt.Sprintf("unexpected %q after the closing quote of field %d", rest[0], len(p.ends))}
			}
			i++
			continue
		}
		j := bytes.IndexByte(line[i:], p.comma)
		if j >= 0 {
			p.buf = append(p.buf, line[i:i+j]...)
			p.ends = append(p.ends, len(p.buf))
			p.quoted = append(p.quoted, false)
			i += j + 1
			continue
		}
		p.buf = append(p.buf, trimEOL(line[i:])...)
		p.ends = append(p.ends, len(p.buf))
		p.quoted = append(p.quoted, false)
		return start, nil
	}
}

// skipLine discards the rest of the physical line l belongs to (l had no room to end).
func (p *parser) skipLine(l []byte) {
	if len(l) > 0 && l[len(l)-1] == '\n' {
		return
	}
	for !p.eof {
		l, _, err := p.readLine()
		if err != nil {
			p.eof = errors.Is(err, io.EOF)
			if !p.eof {
				return
			}
		}
		if len(l) > 0 && l[len(l)-1] == '\n' {
			return
		}
	}
}
