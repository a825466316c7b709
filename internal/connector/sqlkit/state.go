package sqlkit

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/record"
)

// State is the checkpoint of a table read: the cursor value and primary key of the last row emitted.
// A full-refresh read resumes after Key; an incremental read resumes after (Cursor, Key).
type State struct {
	Cursor *StateValue  `json:"cursor,omitempty"`
	Key    []StateValue `json:"key,omitempty"`
	// CursorField and KeyFields record what the values belong to, so a state saved for another
	// cursor or key is refused instead of misread.
	CursorField string   `json:"cursor_field,omitempty"`
	KeyFields   []string `json:"key_fields,omitempty"`
}

// StateValue is one typed value in a checkpoint, as text (bytes as base64).
type StateValue struct {
	Kind  record.Kind `json:"kind"`
	Value string      `json:"value"`
}

// EncodeValue makes the checkpoint form of v.
func EncodeValue(v record.Value) StateValue {
	if v.Kind() == record.KindBytes {
		return StateValue{Kind: v.Kind(), Value: base64.StdEncoding.EncodeToString(v.AsBytes())}
	}
	return StateValue{Kind: v.Kind(), Value: v.String()}
}

// Decode reads the value back.
func (s StateValue) Decode() (record.Value, error) {
	switch s.Kind {
	case record.KindNull:
		return record.Null, nil
	case record.KindBytes:
		b, err := base64.StdEncoding.DecodeString(s.Value)
		if err != nil {
			return record.Null, fmt.Errorf("checkpoint bytes value: %w", err)
		}
		return record.Bytes(b), nil
	case record.KindString:
		return record.String(s.Value), nil
	}
	v, err := record.Parse(s.Value, s.Kind)
	if err != nil {
		return record.Null, fmt.Errorf("checkpoint %s value: %w", s.Kind, err)
	}
	return v, nil
}

// ParseState reads a checkpoint (nil or empty: the zero State) and checks that it belongs to the
// given cursor field and key fields.
func ParseState(raw json.RawMessage, cursorField string, keyFields []string) (State, error) {
	var st State
	if len(raw) == 0 || string(raw) == "null" {
		return st, nil
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, fmt.Errorf("read checkpoint state: %w", err)
	}
	if st.Cursor != nil && st.CursorField != cursorField {
		return st, fmt.Errorf("checkpoint state is for cursor field %q, but the read uses %q", st.CursorField, cursorField)
	}
	if len(st.Key) > 0 {
		if len(st.KeyFields) != len(keyFields) {
			return st, fmt.Errorf("checkpoint state is for key %v, but the read uses %v", st.KeyFields, keyFields)
		}
		for i := range keyFields {
			if st.KeyFields[i] != keyFields[i] {
				return st, fmt.Errorf("checkpoint state is for key %v, but the read uses %v", st.KeyFields, keyFields)
			}
		}
	}
	return st, nil
}

// Values decodes the state's cursor (null when absent) and key values.
func (s State) Values() (cursor record.Value, key []record.Value, err error) {
	if s.Cursor != nil {
		if cursor, err = s.Cursor.Decode(); err != nil {
			return cursor, nil, err
		}
	}
	for _, k := range s.Key {
		v, err := k.Decode()
		if err != nil {
			return cursor, nil, err
		}
		key = append(key, v)
	}
	return cursor, key, nil
}

// Marshal writes the state as JSON.
func (s State) Marshal() (json.RawMessage, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode checkpoint state: %w", err)
	}
	return b, nil
}
