package transform

import (
	"encoding/json"
	"math"

	"github.com/dataaggregator/aggregator/internal/record"
)

// valueFromJSON converts a config constant (from JSON or YAML) to a value of kind k (KindNull: the
// constant's own kind).
func valueFromJSON(x any, k record.Kind) (record.Value, error) {
	if n, ok := x.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			x = i
		} else if f, err := n.Float64(); err == nil && k != record.KindDecimal {
			x = f
		} else {
			x = n.String()
		}
	}
	if f, ok := x.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 && k != record.KindFloat {
		x = int64(f)
	}
	v, err := record.FromGo(x)
	if err != nil {
		return record.Null, err
	}
	if k == record.KindNull || v.Kind() == k {
		return v, nil
	}
	return record.Cast(v, k)
}
