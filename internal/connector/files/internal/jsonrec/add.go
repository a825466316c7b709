package jsonrec

import (
	"log/slog"

	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filekit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Add turns one JSON object read from the file called source at pos (a line, an element index) into
// a row of b, or into a reject naming the field and reason when a value does not fit its field. A
// non-empty reason rejects the object as it is (it was not an object, or not valid JSON).
func (c *Converter) Add(b *record.Builder, source string, pos int64, obj []byte, reason string) {
	if reason != "" {
		b.Reject(filekit.Reject(source, pos, "", reason, string(obj)))
		return
	}
	row := b.Row(pos)
	field, reason, err := c.Row(obj, row)
	if err != nil {
		reason = err.Error()
	}
	if reason != "" {
		b.Unrow()
		b.Reject(filekit.Reject(source, pos, field, reason, string(obj)))
	}
}

// WarnUnknown logs, once per key, a key of the file called name that is not in the schema inferred
// from the first inferRows objects (it is ignored unless declared in types). A nil log logs nothing.
func (c *Converter) WarnUnknown(log *slog.Logger, name string, inferRows int) {
	if log == nil {
		return
	}
	c.Unknown = func(key string) {
		log.Warn("field not in the schema inferred from the sample is ignored; declare it in types to read it",
			"file", name, "field", key, "infer_rows", inferRows)
	}
}
