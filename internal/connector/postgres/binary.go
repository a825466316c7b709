package postgres

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strings"

	"github.com/dataaggregator/aggregator/internal/record"
)

// Binary COPY: when every destination column has one of these types, rows travel in PostgreSQL's
// binary COPY format, which the server reads without parsing text (numbers, dates and timestamps
// cost it far less). Any other column type (arrays, inet, interval, enums...) keeps the text format.

// binaryTypes are the column types the binary encoder writes.
var binaryTypes = map[string]bool{
	"bool": true, "int2": true, "int4": true, "int8": true, "float4": true, "float8": true, "numeric": true,
	"text": true, "varchar": true, "bpchar": true, "bytea": true, "date": true, "timestamp": true,
	"timestamptz": true, "json": true, "jsonb": true, "uuid": true,
}

// typnameOf is the type the destination creates for a field (see ddlType).
func typnameOf(f record.Field) string {
	switch f.Kind {
	case record.KindBool:
		return "bool"
	case record.KindInt:
		return "int8"
	case record.KindFloat:
		return "float8"
	case record.KindDecimal:
		return "numeric"
	case record.KindBytes:
		return "bytea"
	case record.KindDate:
		return "date"
	case record.KindTimestamp:
		return "timestamptz"
	case record.KindJSON:
		return "json"
	}
	return "text"
}

var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// checkBinary reports why v cannot be written to a column of type typ in binary (nil when it can).
// v already has the column's kind.
func checkBinary(v record.Value, typ string) error {
	switch typ {
	case "int2":
		if i := v.AsInt(); i < math.MinInt16 || i > math.MaxInt16 {
			return fmt.Errorf("value %d is out of range for type smallint", i)
		}
	case "int4":
		if i := v.AsInt(); i < math.MinInt32 || i > math.MaxInt32 {
			return fmt.Errorf("value %d is out of range for type integer", i)
		}
	case "uuid":
		if _, err := parseUUID(v.Str()); err != nil {
			return err
		}
	case "float4":
		if f := v.AsFloat(); !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
			return fmt.Errorf("value %v is out of range for type real", f)
		}
	}
	return nil
}

// appendBinaryField writes one field: its length and bytes, or -1 for NULL.
func appendBinaryField(dst []byte, v record.Value, typ string) []byte {
	if v.IsNull() {
		return binary.BigEndian.AppendUint32(dst, 0xffffffff)
	}
	switch typ {
	case "bool":
		b := byte(0)
		if v.AsBool() {
			b = 1
		}
		return append(binary.BigEndian.AppendUint32(dst, 1), b)
	case "int2":
		return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint32(dst, 2), uint16(int16(v.AsInt())))
	case "int4":
		return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(dst, 4), uint32(int32(v.AsInt())))
	case "int8":
		return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(dst, 8), uint64(v.AsInt()))
	case "float4":
		return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(dst, 4), math.Float32bits(float32(v.AsFloat())))
	case "float8":
		return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(dst, 8), math.Float64bits(v.AsFloat()))
	case "date":
		return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(dst, 4), uint32(int32(v.AsInt()-pgEpochDays)))
	case "timestamp", "timestamptz":
		return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(dst, 8), uint64(v.AsInt()-pgEpochMicros))
	case "numeric":
		return appendNumeric(dst, v.Str())
	case "uuid":
		u, _ := parseUUID(v.Str()) // checked before the copy
		return append(binary.BigEndian.AppendUint32(dst, 16), u[:]...)
	case "jsonb":
		s := v.Str()
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)+1))
		return append(append(dst, 1), s...)
	}
	s := v.Str() // text, varchar, bpchar, json, bytea
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// appendNumeric writes decimal text (canonical: optional '-', digits, optional fraction) as a
// binary numeric: ndigits, weight, sign, dscale, then base-10000 digits.
func appendNumeric(dst []byte, s string) []byte {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	dscale := len(frac)
	intPart = strings.TrimLeft(intPart, "0")
	// the digits as if the integer part were padded on the left and the fraction on the right to
	// whole groups of 4
	lead := (4 - len(intPart)%4) % 4
	intLen := lead + len(intPart)
	total := intLen + len(frac) + (4-len(frac)%4)%4
	digit := func(i int) uint16 {
		switch {
		case i < lead:
			return 0
		case i < intLen:
			return uint16(intPart[i-lead] - '0')
		case i-intLen < len(frac):
			return uint16(frac[i-intLen] - '0')
		}
		return 0
	}
	var small [32]uint16
	groups := small[:0]
	for i := 0; i < total; i += 4 {
		groups = append(groups, digit(i)*1000+digit(i+1)*100+digit(i+2)*10+digit(i+3))
	}
	weight := intLen/4 - 1
	for len(groups) > 0 && groups[0] == 0 { // leading zero groups
		groups = groups[1:]
		weight--
	}
	for len(groups) > 0 && groups[len(groups)-1] == 0 { // trailing zero groups
		groups = groups[:len(groups)-1]
	}
	sign := uint16(0)
	if neg && len(groups) > 0 {
		sign = 0x4000
	}
	if len(groups) == 0 {
		weight = 0
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(8+2*len(groups)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(groups)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(weight)))
	dst = binary.BigEndian.AppendUint16(dst, sign)
	dst = binary.BigEndian.AppendUint16(dst, uint16(dscale))
	for _, g := range groups {
		dst = binary.BigEndian.AppendUint16(dst, g)
	}
	return dst
}

// parseUUID reads the text forms PostgreSQL accepts most often: 32 hex digits, with or without the
// four hyphens and braces.
func parseUUID(s string) ([16]byte, error) {
	var u [16]byte
	t := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	t = strings.ReplaceAll(t, "-", "")
	if len(t) != 32 {
		return u, fmt.Errorf("invalid input syntax for type uuid: %q", s)
	}
	if _, err := hex.Decode(u[:], []byte(t)); err != nil {
		return u, fmt.Errorf("invalid input syntax for type uuid: %q", s)
	}
	return u, nil
}
