package sqlkit

import (
	"encoding/json"

	"github.com/dataaggregator/aggregator/internal/record"
)

// Position is where a table read stands: the cursor and key values of the last row emitted.
type Position struct {
	Set    bool // a row (or a resumed state) placed the read
	Cursor record.Value
	Key    []record.Value
}

// Advance records row as the last one emitted: its cursor column (cursor; -1 when there is none) and,
// when the read is keyset-chunked, its key columns.
func (p *Position) Advance(row record.Row, cursor int, key []int, chunked bool) {
	if cursor < 0 && !chunked {
		return
	}
	p.Set = true
	if cursor >= 0 {
		p.Cursor = row[cursor]
	}
	if chunked {
		if p.Key == nil {
			p.Key = make([]record.Value, len(key))
		}
		for i, k := range key {
			p.Key[i] = row[k]
		}
	}
}

// State is the checkpoint of the position (nil before any row): the cursor value when cursorField
// is set, the key values when keyFields is (a keyset-chunked read).
func (p *Position) State(cursorField string, keyFields []string) (json.RawMessage, error) {
	if !p.Set {
		return nil, nil
	}
	var st State
	if cursorField != "" {
		cv := EncodeValue(p.Cursor)
		st.Cursor, st.CursorField = &cv, cursorField
	}
	if keyFields != nil {
		st.KeyFields = keyFields
		for _, v := range p.Key {
			st.Key = append(st.Key, EncodeValue(v))
		}
	}
	return st.Marshal()
}
