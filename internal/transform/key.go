package transform

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"strings"

	"github.com/dataaggregator/aggregator/internal/record"
)

// keyHasher hashes the key fields of rows to 64 bits with a per-node random seed.
type keyHasher struct {
	h   maphash.Hash
	idx []int
	buf [8]byte
}

func newKeyHasher(idx []int) *keyHasher {
	k := &keyHasher{idx: idx}
	k.h.SetSeed(maphash.MakeSeed())
	return k
}

func (k *keyHasher) sum(row record.Row) uint64 {
	k.h.Reset()
	for _, i := range k.idx {
		v := row[i]
		kind := v.Kind()
		k.h.WriteByte(byte(kind))
		switch kind {
		case record.KindNull:
		case record.KindBool, record.KindInt, record.KindDate, record.KindTimestamp:
			binary.LittleEndian.PutUint64(k.buf[:], uint64(v.AsInt()))
			k.h.Write(k.buf[:])
		case record.KindFloat:
			f := v.AsFloat()
			if f == 0 {
				f = 0 // -0 and +0 are one key
			}
			binary.LittleEndian.PutUint64(k.buf[:], math.Float64bits(f))
			k.h.Write(k.buf[:])
		default:
			s := v.Str()
			if kind == record.KindDecimal {
				s = trimDecimal(s)
			}
			binary.LittleEndian.PutUint64(k.buf[:], uint64(len(s)))
			k.h.Write(k.buf[:])
			k.h.WriteString(s)
		}
	}
	return k.h.Sum64()
}

// trimDecimal drops trailing fractional zeros so that 1.50 and 1.5 are one key.
func trimDecimal(s string) string {
	if strings.IndexByte(s, '.') < 0 {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// appendKey appends an exact, unambiguous encoding of the key fields of row to dst: used where a
// hash collision would lose data (join, aggregate, dedup keep-last). Numbers and text compare by
// their text form, so an int 5 and a string "5" are the same key; null is encoded distinctly.
func appendKey(dst []byte, row record.Row, idx []int) []byte {
	for _, i := range idx {
		v := row[i]
		if v.IsNull() {
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, 1)
		start := len(dst)
		dst = binary.LittleEndian.AppendUint32(dst, 0)
		if v.Kind() == record.KindDecimal {
			dst = append(dst, trimDecimal(v.Str())...)
		} else {
			dst = v.AppendText(dst)
		}
		binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	}
	return dst
}

// hasNull reports whether one of the key fields is null.
func hasNull(row record.Row, idx []int) bool {
	for _, i := range idx {
		if row[i].IsNull() {
			return true
		}
	}
	return false
}

// cloneValue copies a value's text so that it no longer shares memory with the input batch.
func cloneValue(v record.Value) record.Value {
	switch v.Kind() {
	case record.KindString:
		return record.String(strings.Clone(v.Str()))
	case record.KindBytes:
		return record.BytesString(strings.Clone(v.Str()))
	case record.KindJSON:
		return record.JSON(strings.Clone(v.Str()))
	case record.KindDecimal:
		d, err := record.Decimal(strings.Clone(v.Str()))
		if err != nil {
			return v
		}
		return d
	}
	return v
}

// rowArena stores copies of rows in chunks, so that held rows cost one allocation per chunk plus
// their text.
type rowArena struct {
	width int
	chunk []record.Value
}

func (a *rowArena) clone(row record.Row) record.Row {
	if a.width == 0 {
		return record.Row{}
	}
	if len(a.chunk) < a.width {
		a.chunk = make([]record.Value, a.width*1024)
	}
	r := record.Row(a.chunk[:a.width:a.width])
	a.chunk = a.chunk[a.width:]
	for i, v := range row {
		r[i] = cloneValue(v)
	}
	return r
}

// indexes resolves field names in s; the error names the first unknown one.
func indexes(s *record.Schema, names []string) ([]int, string) {
	out := make([]int, len(names))
	for i, n := range names {
		j := s.Index(n)
		if j < 0 {
			return nil, n
		}
		out[i] = j
	}
	return out, ""
}
