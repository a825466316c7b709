package jsonrec

import (
	"log/slog"

	"github.com/dataaggregator/aggregator/internal/connector/internal/rowkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Add turns one JSON object read from the file called source at pos (a line, an element index) into
// a row of b, or into a reject naming the field and reason when a value does not fit its field. A
// non-empty reason rejects the object as it is (it was not an object, or not valid JSON). Keys met
// twice in the object are passed to Duplicate.
func (c *Converter) Add(b *record.Builder, source string, pos int64, obj []byte, reason string) {
	if reason != "" {
		b.Reject(rowkit.Reject(source, pos, "", reason, string(obj)))
		return
	}
	row := b.Row(pos)
	field, reason, err := c.Row(obj, row)
	if err != nil {
		reason = err.Error()
	}
	if c.Duplicate != nil {
		for _, k := range c.dups {
			c.Duplicate(pos, k)
		}
	}
	if reason != "" {
		b.Unrow()
		b.Reject(rowkit.Reject(source, pos, field, reason, string(obj)))
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

// DupLogLimit is how many duplicate keys a reader logs one by one; the rest are only counted.
const DupLogLimit = 10

// Duplicates counts the keys met more than once in one object of a file (policy: the last value
// wins, as with encoding/json), logs the first DupLogLimit of them one by one with the file, the
// object's position (unit is "line" or "record") and the key, and logs the total when the reader
// closes (Summary).
type Duplicates struct {
	log    *slog.Logger
	name   string
	unit   string
	Count  int64 // duplicate keys met
	logged bool  // Summary done
}

// CountDuplicates makes c count (and log, when log is not nil) duplicate keys of the file called name.
func (c *Converter) CountDuplicates(log *slog.Logger, name, unit string) *Duplicates {
	d := &Duplicates{log: log, name: name, unit: unit}
	c.Duplicate = func(pos int64, key string) {
		d.Count++
		if d.log == nil {
			return
		}
		if d.Count <= DupLogLimit {
			d.log.Warn("duplicate key in one JSON object: the last value is kept", "file", name, unit, pos, "key", key)
			if d.Count == DupLogLimit {
				d.log.Warn("further duplicate keys are counted, not logged one by one", "file", name)
			}
		}
	}
	return d
}

// Summary logs the number of duplicate keys met, once, when there were any.
func (d *Duplicates) Summary() {
	if d == nil || d.logged || d.Count == 0 || d.log == nil {
		return
	}
	d.logged = true
	d.log.Warn("duplicate keys in JSON objects: the last value of each was kept", "file", d.name, "duplicate_keys", d.Count)
}
