package rowkit

import (
	"strings"

	"github.com/dataaggregator/aggregator/internal/record"
)

// RawMax is how much of a rejected record's text a reject keeps.
const RawMax = 1024

// Reject builds a reject for the record at pos (a line, an element index, a sheet row, a record of
// a response) of the input called source, keeping at most RawMax bytes of its raw text.
func Reject(source string, pos int64, field, reason, raw string) record.Reject {
	return record.Reject{Source: source, Pos: pos, Field: field, Reason: reason, Raw: Truncate(raw, RawMax)}
}

// Truncate shortens s to at most n bytes for a reject's Raw text or an error message, marking the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ToValidUTF8(s[:n], "\uFFFD") + "…(truncated)"
}
