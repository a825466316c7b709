// Package rowkit holds what the connectors that turn text into rows share (files, REST): fast
// exact parsers of integers, floats, dates and timestamps, and rejects that keep a bounded part of
// the raw record.
package rowkit
