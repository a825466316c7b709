package connector

import (
	"context"
	"fmt"
)

// KeyRange restricts a read to the rows whose Field lies in [Lo, Hi): a partitioned run gives each
// of its chunks one range of the source's partition key. Values are text: an integer in decimal, or
// a time in RFC 3339 (UTC). An empty bound leaves that side open; a range whose Lo is open also
// holds the rows whose Field is NULL, so a set of ranges that covers the key's values end to end
// (open at both ends) reads every row once.
type KeyRange struct {
	Field string `json:"field"`
	Lo    string `json:"lo,omitempty"`
	Hi    string `json:"hi,omitempty"`
}

// String is the range as messages show it: "id in [1, 2500)".
func (r KeyRange) String() string {
	lo, hi := r.Lo, r.Hi
	if lo == "" {
		lo = "-inf"
	}
	if hi == "" {
		hi = "+inf"
	}
	return fmt.Sprintf("%s in [%s, %s)", r.Field, lo, hi)
}

// Partitioner is an optional capability of a Source whose config can ask for a partitioned read
// (Spec.Partitionable; the `partition` parameter of the database connectors): Partitions splits
// what the config and req name into key ranges that together read every row exactly once, in key
// order. It returns nil when the config asks for no partitioning. The run queue runs one chunk per
// range, in parallel, each with ReadRequest.Range set.
type Partitioner interface {
	Partitions(ctx context.Context, env Env, config map[string]any, req ReadRequest) ([]KeyRange, error)
}

// PartitionParam is the name of the config parameter that asks a Partitionable source for a
// partitioned read.
const PartitionParam = "partition"

// WantsPartitions reports whether a source config asks for a partitioned read (its PartitionParam
// is set); the connector's Spec must say Partitionable.
func WantsPartitions(spec Spec, config map[string]any) bool {
	if !spec.Partitionable || config == nil {
		return false
	}
	v, ok := config[PartitionParam]
	return ok && v != nil
}
