package csv

import (
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// charset is a single-byte text encoding: dec maps every byte to its character, enc maps the
// characters above ASCII back.
type charset struct {
	name string
	dec  [256]rune
	enc  map[rune]byte
}

// newCharset returns the charset for an encoding option, or nil for UTF-8.
func newCharset(encoding string) *charset {
	var cm *charmap.Charmap
	name := ""
	switch encoding {
	case "latin-1":
		cm, name = charmap.ISO8859_1, "Latin-1"
	case "windows-1252":
		cm, name = charmap.Windows1252, "Windows-1252"
	default:
		return nil
	}
	cs := &charset{name: name, enc: make(map[rune]byte, 128)}
	for b := range 256 {
		r := cm.DecodeByte(byte(b))
		cs.dec[b] = r
		if b >= utf8.RuneSelf && r != utf8.RuneError {
			cs.enc[r] = byte(b)
		}
	}
	return cs
}

// decode appends b, transcoded to UTF-8, to dst.
func (cs *charset) decode(dst, b []byte) []byte {
	for _, c := range b {
		if c < utf8.RuneSelf {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, cs.dec[c])
		}
	}
	return dst
}

// encode appends UTF-8 text b in the charset to dst; ok is false for a character it cannot hold.
func (cs *charset) encode(dst, b []byte) ([]byte, bool) {
	for len(b) > 0 {
		if b[0] < utf8.RuneSelf {
			dst = append(dst, b[0])
			b = b[1:]
			continue
		}
		r, n := utf8.DecodeRune(b)
		c, ok := cs.enc[r]
		if !ok {
			return dst, false
		}
		dst = append(dst, c)
		b = b[n:]
	}
	return dst, true
}
