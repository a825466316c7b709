package transform

import "math/bits"

// hashSet is a set of 64-bit hashes with a small, predictable footprint: 256 shards (picked by the
// top 8 bits) of open-addressed uint64 slots with linear probing. A shard grows by half when it is
// 80% full, so the load stays between 53% and 80%: 10 to 15 bytes per key (12 on average), and
// growing rehashes one shard (1/256 of the set) at a time, so there is no doubling spike.
// Zero marks an empty slot; a hash of 0 is stored as 1.
type hashSet struct {
	shards [256]hashShard
	n      int64
}

type hashShard struct {
	slots []uint64
	n     int
}

const (
	hashSetMinShard = 16
	// hashSetMaxLoad is the fill (in tenths) at which a shard grows.
	hashSetMaxLoad = 8
)

// Len is the number of distinct hashes held.
func (s *hashSet) Len() int64 { return s.n }

// Bytes is the memory the slots take.
func (s *hashSet) Bytes() int64 {
	var b int64
	for i := range s.shards {
		b += int64(len(s.shards[i].slots)) * 8
	}
	return b
}

// Add inserts h and reports whether it was new.
func (s *hashSet) Add(h uint64) bool {
	if h == 0 {
		h = 1
	}
	sh := &s.shards[h>>56]
	if (sh.n+1)*10 > len(sh.slots)*hashSetMaxLoad {
		sh.grow()
	}
	if sh.insert(h) {
		s.n++
		return true
	}
	return false
}

// Has reports whether h is in the set.
func (s *hashSet) Has(h uint64) bool {
	if h == 0 {
		h = 1
	}
	sh := &s.shards[h>>56]
	if len(sh.slots) == 0 {
		return false
	}
	i := sh.home(h)
	for {
		switch sh.slots[i] {
		case h:
			return true
		case 0:
			return false
		}
		if i++; i == len(sh.slots) {
			i = 0
		}
	}
}

// home maps h to a slot with a multiply-shift over the bits below the shard's (fast range).
func (sh *hashShard) home(h uint64) int {
	hi, _ := bits.Mul64(h<<8|h>>56, uint64(len(sh.slots)))
	return int(hi)
}

func (sh *hashShard) insert(h uint64) bool {
	i := sh.home(h)
	for {
		switch sh.slots[i] {
		case h:
			return false
		case 0:
			sh.slots[i] = h
			sh.n++
			return true
		}
		if i++; i == len(sh.slots) {
			i = 0
		}
	}
}

func (sh *hashShard) grow() {
	size := max(hashSetMinShard, len(sh.slots)+len(sh.slots)/2)
	old := sh.slots
	sh.slots = make([]uint64, size)
	sh.n = 0
	for _, h := range old {
		if h != 0 {
			sh.insert(h)
		}
	}
}
