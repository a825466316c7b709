package postgres

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"
	"unsafe"

	"github.com/dataaggregator/aggregator/internal/record"
)

// PostgreSQL type OIDs the decoder reads in binary.
const (
	oidBool        = 16
	oidBytea       = 17
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidOID         = 26
	oidFloat4      = 700
	oidFloat8      = 701
	oidBpchar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTimestamp   = 1114
	oidTimestamptz = 1184
)

// pgEpochDays and pgEpochMicros are 2000-01-01 relative to 1970-01-01.
const (
	pgEpochDays   = 10957
	pgEpochMicros = 946684800000000
)

// arena holds the text of one batch's values: one allocation per arenaBlock bytes instead of one
// per string field (strings, numeric::text, json). A string from it is never written again, so it
// stays immutable; the block lives as long as any of its strings.
type arena struct{ b []byte }

const arenaBlock = 64 << 10

// str copies b into the arena and returns it as a string; a nil arena allocates the string alone.
func (a *arena) str(b []byte) string {
	if a == nil || len(b) > arenaBlock/4 {
		return string(b)
	}
	if len(b) == 0 {
		return ""
	}
	if cap(a.b)-len(a.b) < len(b) {
		a.b = make([]byte, 0, arenaBlock)
	}
	start := len(a.b)
	a.b = append(a.b, b...)
	return unsafe.String(&a.b[start], len(b))
}

// decode reads one result value (binary or text format) as a value of kind k; text is copied into a
// (which may be nil).
func decode(a *arena, buf []byte, oid uint32, format int16, k record.Kind) (record.Value, error) {
	if buf == nil {
		return record.Null, nil
	}
	if format == 0 {
		return decodeText(a.str(buf), oid, k)
	}
	switch oid {
	case oidBool:
		if len(buf) != 1 {
			return record.Null, fmt.Errorf("bad bool length %d", len(buf))
		}
		return record.Bool(buf[0] != 0), nil
	case oidInt2:
		if len(buf) != 2 {
			return record.Null, fmt.Errorf("bad int2 length %d", len(buf))
		}
		return record.Int(int64(int16(binary.BigEndian.Uint16(buf)))), nil
	case oidInt4:
		if len(buf) != 4 {
			return record.Null, fmt.Errorf("bad int4 length %d", len(buf))
		}
		return record.Int(int64(int32(binary.BigEndian.Uint32(buf)))), nil
	case oidOID:
		if len(buf) != 4 {
			return record.Null, fmt.Errorf("bad oid length %d", len(buf))
		}
		return record.Int(int64(binary.BigEndian.Uint32(buf))), nil
	case oidInt8:
		if len(buf) != 8 {
			return record.Null, fmt.Errorf("bad int8 length %d", len(buf))
		}
		return record.Int(int64(binary.BigEndian.Uint64(buf))), nil
	case oidFloat4:
		if len(buf) != 4 {
			return record.Null, fmt.Errorf("bad float4 length %d", len(buf))
		}
		return record.Float(float64(math.Float32frombits(binary.BigEndian.Uint32(buf)))), nil
	case oidFloat8:
		if len(buf) != 8 {
			return record.Null, fmt.Errorf("bad float8 length %d", len(buf))
		}
		return record.Float(math.Float64frombits(binary.BigEndian.Uint64(buf))), nil
	case oidBytea:
		return record.BytesString(a.str(buf)), nil
	case oidDate:
		if len(buf) != 4 {
			return record.Null, fmt.Errorf("bad date length %d", len(buf))
		}
		d := int32(binary.BigEndian.Uint32(buf))
		if d == math.MaxInt32 || d == math.MinInt32 {
			return record.Null, fmt.Errorf("date is infinity, which a record date cannot hold")
		}
		return record.DateFromDays(int64(d) + pgEpochDays), nil
	case oidTimestamp, oidTimestamptz:
		if len(buf) != 8 {
			return record.Null, fmt.Errorf("bad timestamp length %d", len(buf))
		}
		us := int64(binary.BigEndian.Uint64(buf))
		if us == math.MaxInt64 || us == math.MinInt64 {
			return record.Null, fmt.Errorf("timestamp is infinity, which a record timestamp cannot hold")
		}
		return record.TimestampMicros(us + pgEpochMicros), nil
	case oidText, oidVarchar, oidBpchar, oidName:
		return fromText(a.str(buf), k)
	}
	return record.Null, fmt.Errorf("unexpected binary result type oid %d", oid)
}

// fromText makes a value of kind k from exact text (strings, ::text casts of numeric, json, arrays).
func fromText(s string, k record.Kind) (record.Value, error) {
	switch k {
	case record.KindString:
		return record.String(s), nil
	case record.KindJSON:
		return record.ParseJSON([]byte(s))
	case record.KindDecimal:
		return record.Decimal(s)
	}
	return record.Parse(s, k)
}

func decodeText(s string, oid uint32, k record.Kind) (record.Value, error) {
	switch k {
	case record.KindBytes:
		if strings.HasPrefix(s, `\x`) {
			b, err := hex.DecodeString(s[2:])
			if err != nil {
				return record.Null, fmt.Errorf("bad bytea text: %w", err)
			}
			return record.Bytes(b), nil
		}
		return record.BytesString(s), nil
	case record.KindTimestamp:
		t, err := record.ParseTime(s, time.UTC)
		if err != nil {
			return record.Null, err
		}
		return record.Timestamp(t), nil
	}
	return fromText(s, k)
}
