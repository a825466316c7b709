package store

import (
	"bytes"
	"encoding/json"
	"strings"
)

// PostgreSQL holds neither a NUL character in text nor a \u0000 escape in JSONB. Dead letters (rows
// of arbitrary input) and audit entries (a login attempt with a NUL) must not be lost to one, so
// their NUL characters are stored as U+FFFD (on every dialect, so both read back the same). Other
// values with a NUL are refused as ErrInvalid by PostgreSQL (see mapErr).

// noNUL replaces each NUL character of s by U+FFFD.
func noNUL(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// noNULJSON replaces each \u0000 escape of a JSON document by \ufffd, leaving an escaped backslash
// followed by "u0000" (text, not a NUL) as it is.
func noNULJSON(doc json.RawMessage) json.RawMessage {
	const esc = `\u0000`
	if !bytes.Contains(doc, []byte(esc)) {
		return doc
	}
	out := make(json.RawMessage, 0, len(doc))
	for i := 0; i < len(doc); i++ {
		switch {
		case doc[i] != '\\':
			out = append(out, doc[i])
		case bytes.HasPrefix(doc[i:], []byte(esc)):
			out = append(out, `\ufffd`...)
			i += len(esc) - 1
		case i+1 < len(doc): // another escape: keep it whole
			out = append(out, doc[i], doc[i+1])
			i++
		default:
			out = append(out, doc[i])
		}
	}
	return out
}
