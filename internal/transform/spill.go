package transform

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/dataaggregator/aggregator/internal/record"
)

// SpillArea is one stateful node's memory budget for one run and where its state spills to disk
// when the budget is exceeded. The engine gives one to each node that is a Spiller; a node without
// one keeps its state in memory (preview, tests). StateBytes and SpilledBytes may be read from any
// goroutine while the node runs.
type SpillArea struct {
	// Budget is the bytes of state the node holds in memory before it spills (<= 0: no limit).
	Budget int64
	// Dir is the directory spill files are created in (created with the first one). The engine
	// removes it at the end of the run, also after a failure; the node removes its files itself.
	Dir string
	// DiskLimit caps the bytes of spill files the node may have on disk at once (0: no cap); going
	// over fails the run as a full disk does.
	DiskLimit int64
	// Prefix starts the names of the node's files (the engine uses the node's position).
	Prefix string

	state   atomic.Int64
	spilled atomic.Int64
	onDisk  int64 // bytes of the node's spill files now on disk (the node's goroutine only)
}

// StateBytes is the estimated size of the state the node holds in memory.
func (a *SpillArea) StateBytes() int64 { return a.state.Load() }

// SpilledBytes is the total of the bytes the node wrote to spill files in this run.
func (a *SpillArea) SpilledBytes() int64 { return a.spilled.Load() }

// Spiller is implemented by nodes that keep their state under a memory budget (dedup keep last,
// aggregate, join's lookup side). The engine calls SetSpill after Init, before the first batch.
type Spiller interface {
	SetSpill(a *SpillArea)
}

// ErrSpillFull is the error of a spill that found no room on disk (the directory's file system is
// full, or the area's DiskLimit was reached). The run fails with it; the spill files are removed.
var ErrSpillFull = errors.New("no room left for spill files")

// budget is the area's budget, or no limit.
func (a *SpillArea) budget() int64 {
	if a == nil || a.Budget <= 0 {
		return math.MaxInt64
	}
	return a.Budget
}

func (a *SpillArea) setState(n int64) {
	if a != nil {
		a.state.Store(n)
	}
}

// sizeText writes a byte count in MiB, or KiB below one MiB.
func sizeText(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// spillFile is one file of sorted entries, written then read back once.
type spillFile struct {
	a    *SpillArea
	f    *os.File
	size int64
}

func (a *SpillArea) create() (*spillFile, error) {
	if err := os.MkdirAll(a.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create spill directory: %w", err)
	}
	f, err := os.CreateTemp(a.Dir, a.Prefix+"*.spill")
	if err != nil {
		return nil, a.wrapErr(err)
	}
	return &spillFile{a: a, f: f}, nil
}

func (a *SpillArea) wrapErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("spill to %s: %w (the file system is full): %w", a.Dir, ErrSpillFull, err)
	}
	return fmt.Errorf("spill to %s: %w", a.Dir, err)
}

// Write appends to the file, within the area's DiskLimit.
func (s *spillFile) Write(p []byte) (int, error) {
	if s.a.DiskLimit > 0 && s.a.onDisk+int64(len(p)) > s.a.DiskLimit {
		return 0, fmt.Errorf("spill to %s: %w (the spill limit of %s was reached)", s.a.Dir, ErrSpillFull, sizeText(s.a.DiskLimit))
	}
	n, err := s.f.Write(p)
	s.size += int64(n)
	s.a.onDisk += int64(n)
	s.a.spilled.Add(int64(n))
	if err != nil {
		return n, s.a.wrapErr(err)
	}
	return n, nil
}

// remove closes and deletes the file.
func (s *spillFile) remove() {
	if s == nil || s.f == nil {
		return
	}
	_ = s.f.Close()
	_ = os.Remove(s.f.Name())
	s.a.onDisk -= s.size
	s.f = nil
}

// kvIter yields key/value entries in key order; the slices are valid until the next call.
type kvIter interface {
	next() (k, v []byte, ok bool, err error)
}

// sorter is an external merge sort of key/value entries whose keys are unique: entries are held in
// memory up to the budget, then written as a sorted run; finish merges the runs (at most
// sortFanIn are open at a time: more are merged into one as they come).
type sorter struct {
	a      *SpillArea
	budget int64
	chunks [][]byte
	ents   []sortEnt
	mem    int64 // the bytes of chunks in use
	chunk  int
	buf    int      // the size of each file buffer (spillBufSize of the budget)
	free   [][]byte // emptied chunks of the last run, reused
	runs   []*spillFile
}

type sortEnt struct {
	kv   []byte
	klen int
}

const (
	sortChunk  = 1 << 20
	sortEntMem = int64(unsafe.Sizeof(sortEnt{})) // bytes an entry of the index costs
	sortFanIn  = 64
	spillBuf   = 64 << 10
)

// newSorter makes a sorter that holds up to budget bytes (at least two chunks) in memory, its
// entries and their index together; its chunks are an eighth of the budget, between 4 KiB and 1 MiB.
func newSorter(a *SpillArea, budget int64) *sorter {
	chunk := min(max(budget/8, 4<<10), sortChunk)
	return &sorter{a: a, budget: max(budget, 2*chunk), chunk: int(chunk), buf: spillBufSize(budget)}
}

// add copies k and v into the sorter. What it holds stays within its budget: the chunks, the
// capacity of the index, and while the index grows its old and new arrays both; when one more entry
// does not fit, what is held is written as a run first.
func (s *sorter) add(k, v []byte) error {
	n := len(k) + len(v)
	if len(s.ents) == cap(s.ents) && len(s.ents) > 0 {
		grown := int64(cap(s.ents) + cap(s.ents)/2)
		if s.memBytes()+grown*sortEntMem > s.budget {
			if err := s.writeRun(); err != nil {
				return err
			}
		} else {
			s.ents = slices.Grow(s.ents, int(grown)-len(s.ents))
		}
	}
	if len(s.chunks) == 0 || cap(s.chunks[len(s.chunks)-1])-len(s.chunks[len(s.chunks)-1]) < n {
		if s.mem+int64(cap(s.ents))*sortEntMem+int64(max(n, s.chunk)) > s.budget && len(s.ents) > 0 {
			if err := s.writeRun(); err != nil {
				return err
			}
		}
		var c []byte
		if len(s.free) > 0 && n <= s.chunk { // reuse the chunks of the last run: no garbage per run
			c, s.free = s.free[len(s.free)-1], s.free[:len(s.free)-1]
		} else {
			c = make([]byte, 0, max(n, s.chunk))
		}
		s.chunks = append(s.chunks, c)
		s.mem += int64(cap(c))
	}
	c := &s.chunks[len(s.chunks)-1]
	start := len(*c)
	*c = append(append(*c, k...), v...)
	if len(s.ents) == cap(s.ents) { // the first entry (the index of a full sorter grew or was written above)
		s.ents = slices.Grow(s.ents, max(cap(s.ents)/2, 64))
	}
	s.ents = append(s.ents, sortEnt{kv: (*c)[start:len(*c):len(*c)], klen: len(k)})
	return nil
}

// memBytes is what the sorter holds in memory: the chunks (those kept for reuse included) and the
// capacity of the index.
func (s *sorter) memBytes() int64 {
	return s.mem + int64(len(s.free)*s.chunk) + int64(cap(s.ents))*sortEntMem
}

func (s *sorter) sortMem() {
	slices.SortFunc(s.ents, func(x, y sortEnt) int { return bytes.Compare(x.kv[:x.klen], y.kv[:y.klen]) })
}

// writeRun sorts what is in memory and writes it as one run.
func (s *sorter) writeRun() error {
	s.sortMem()
	f, err := s.a.create()
	if err != nil {
		return err
	}
	s.runs = append(s.runs, f)
	w := bufio.NewWriterSize(f, s.buf)
	var hdr [2 * binary.MaxVarintLen64]byte
	for _, e := range s.ents {
		h := binary.AppendUvarint(hdr[:0], uint64(e.klen))
		h = binary.AppendUvarint(h, uint64(len(e.kv)-e.klen))
		if _, err := w.Write(h); err != nil {
			return err
		}
		if _, err := w.Write(e.kv); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, c := range s.chunks {
		if cap(c) == s.chunk {
			s.free = append(s.free, c[:0])
		}
	}
	clear(s.ents) // drop the references into the chunks, keep the capacity
	s.chunks, s.ents = s.chunks[:0], s.ents[:0]
	s.mem = 0
	if len(s.runs) >= sortFanIn {
		return s.mergeRuns()
	}
	return nil
}

// mergeRuns merges every run into one.
func (s *sorter) mergeRuns() error {
	it, err := s.mergeIter(s.runs)
	if err != nil {
		return err
	}
	f, err := s.a.create()
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, s.buf)
	var hdr [2 * binary.MaxVarintLen64]byte
	for {
		k, v, ok, err := it.next()
		if err != nil {
			f.remove()
			return err
		}
		if !ok {
			break
		}
		h := binary.AppendUvarint(hdr[:0], uint64(len(k)))
		h = binary.AppendUvarint(h, uint64(len(v)))
		for _, p := range [][]byte{h, k, v} {
			if _, err := w.Write(p); err != nil {
				f.remove()
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		f.remove()
		return err
	}
	for _, r := range s.runs {
		r.remove()
	}
	s.runs = []*spillFile{f}
	return nil
}

// finish returns the entries in key order. With toDisk, what is in memory is written as a run first,
// so the sorter holds no memory while its entries are read.
func (s *sorter) finish(toDisk bool) (kvIter, error) {
	if toDisk && len(s.ents) > 0 {
		if err := s.writeRun(); err != nil {
			return nil, err
		}
	}
	if toDisk {
		s.chunks, s.ents, s.free, s.mem = nil, nil, nil, 0
	}
	if len(s.runs) == 0 {
		s.sortMem()
		return &memIter{ents: s.ents}, nil
	}
	it, err := s.mergeIter(s.runs)
	if err != nil {
		return nil, err
	}
	if len(s.ents) > 0 {
		s.sortMem()
		if err := it.add(&memIter{ents: s.ents}); err != nil {
			return nil, err
		}
	}
	return it, nil
}

// close removes the sorter's files and drops its memory.
func (s *sorter) close() {
	for _, r := range s.runs {
		r.remove()
	}
	s.runs, s.chunks, s.ents, s.free, s.mem = nil, nil, nil, nil, 0
}

type memIter struct {
	ents []sortEnt
	i    int
}

func (m *memIter) next() ([]byte, []byte, bool, error) {
	if m.i >= len(m.ents) {
		return nil, nil, false, nil
	}
	e := m.ents[m.i]
	m.i++
	return e.kv[:e.klen], e.kv[e.klen:], true, nil
}

// fileIter reads one run from its start.
type fileIter struct {
	r    *bufio.Reader
	name string
	buf  []byte
}

func newFileIter(f *spillFile, size int) (*fileIter, error) {
	if _, err := f.f.Seek(0, io.SeekStart); err != nil {
		return nil, f.a.wrapErr(err)
	}
	return &fileIter{r: bufio.NewReaderSize(f.f, size), name: f.f.Name()}, nil
}

func (f *fileIter) next() ([]byte, []byte, bool, error) {
	kl, err := binary.ReadUvarint(f.r)
	if err == io.EOF {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("read spill file %s: %w", f.name, err)
	}
	vl, err := binary.ReadUvarint(f.r)
	if err != nil {
		return nil, nil, false, fmt.Errorf("read spill file %s: %w", f.name, err)
	}
	n := int(kl + vl)
	if cap(f.buf) < n {
		f.buf = make([]byte, n)
	}
	f.buf = f.buf[:n]
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		return nil, nil, false, fmt.Errorf("read spill file %s: %w", f.name, err)
	}
	return f.buf[:kl], f.buf[kl:], true, nil
}

// mergeIter merges sorted iterators with a heap.
type mergeIter struct {
	h    mergeHeap
	last kvIter // the iterator whose entry was returned last: advanced on the next call
}

type mergeItem struct {
	it   kvIter
	k, v []byte
}

type mergeHeap []mergeItem

func (h mergeHeap) Len() int           { return len(h) }
func (h mergeHeap) Less(i, j int) bool { return bytes.Compare(h[i].k, h[j].k) < 0 }
func (h mergeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)        { *h = append(*h, x.(mergeItem)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (s *sorter) mergeIter(runs []*spillFile) (*mergeIter, error) {
	m := &mergeIter{}
	for _, r := range runs {
		fi, err := newFileIter(r, s.buf)
		if err != nil {
			return nil, err
		}
		if err := m.add(fi); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *mergeIter) add(it kvIter) error {
	k, v, ok, err := it.next()
	if err != nil || !ok {
		return err
	}
	heap.Push(&m.h, mergeItem{it: it, k: k, v: v})
	return nil
}

func (m *mergeIter) next() ([]byte, []byte, bool, error) {
	if m.last != nil {
		k, v, ok, err := m.last.next()
		if err != nil {
			return nil, nil, false, err
		}
		if ok {
			m.h[0].k, m.h[0].v = k, v
			heap.Fix(&m.h, 0)
		} else {
			heap.Pop(&m.h)
		}
		m.last = nil
	}
	if len(m.h) == 0 {
		return nil, nil, false, nil
	}
	m.last = m.h[0].it
	return m.h[0].k, m.h[0].v, true, nil
}

// sortKey appends the key of an entry of group key gk seen at seq: entries of one group are
// adjacent, in the order they were seen.
func sortKey(dst, gk []byte, seq int64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(gk)))
	dst = append(dst, gk...)
	return binary.BigEndian.AppendUint64(dst, uint64(seq))
}

// splitSortKey returns the group part of a sortKey and its seq.
func splitSortKey(k []byte) ([]byte, int64) {
	return k[:len(k)-8], int64(binary.BigEndian.Uint64(k[len(k)-8:]))
}

// seqKey appends a key that orders entries by seq alone.
func seqKey(dst []byte, seq int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(seq))
}

// appendValue appends an exact binary encoding of v.
func appendValue(dst []byte, v record.Value) []byte {
	k := v.Kind()
	dst = append(dst, byte(k))
	switch k {
	case record.KindNull:
	case record.KindBool:
		if v.AsBool() {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
	case record.KindInt, record.KindDate, record.KindTimestamp:
		dst = binary.AppendVarint(dst, v.AsInt())
	case record.KindFloat:
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.AsFloat()))
	default:
		dst = binary.AppendUvarint(dst, uint64(len(v.Str())))
		dst = append(dst, v.Str()...)
	}
	return dst
}

var errBadSpill = errors.New("corrupt spill entry")

// readValue decodes one value from src and returns the rest.
func readValue(src []byte) (record.Value, []byte, error) {
	if len(src) == 0 {
		return record.Null, nil, errBadSpill
	}
	k := record.Kind(src[0])
	src = src[1:]
	switch k {
	case record.KindNull:
		return record.Null, src, nil
	case record.KindBool:
		if len(src) == 0 {
			return record.Null, nil, errBadSpill
		}
		return record.Bool(src[0] == 1), src[1:], nil
	case record.KindInt, record.KindDate, record.KindTimestamp:
		n, w := binary.Varint(src)
		if w <= 0 {
			return record.Null, nil, errBadSpill
		}
		switch k {
		case record.KindInt:
			return record.Int(n), src[w:], nil
		case record.KindDate:
			return record.DateFromDays(n), src[w:], nil
		}
		return record.TimestampMicros(n), src[w:], nil
	case record.KindFloat:
		if len(src) < 8 {
			return record.Null, nil, errBadSpill
		}
		return record.Float(math.Float64frombits(binary.LittleEndian.Uint64(src))), src[8:], nil
	}
	n, w := binary.Uvarint(src)
	if w <= 0 || uint64(len(src)-w) < n {
		return record.Null, nil, errBadSpill
	}
	s := string(src[w : w+int(n)])
	src = src[w+int(n):]
	switch k {
	case record.KindDecimal:
		v, err := record.Decimal(s)
		return v, src, err
	case record.KindString:
		return record.String(s), src, nil
	case record.KindBytes:
		return record.BytesString(s), src, nil
	case record.KindJSON:
		return record.JSON(s), src, nil
	}
	return record.Null, nil, fmt.Errorf("%w: unknown kind %d", errBadSpill, k)
}

func appendRow(dst []byte, row record.Row) []byte {
	for _, v := range row {
		dst = appendValue(dst, v)
	}
	return dst
}

// readRow decodes len(row) values into row and returns the rest of src.
func readRow(src []byte, row record.Row) ([]byte, error) {
	for i := range row {
		v, rest, err := readValue(src)
		if err != nil {
			return nil, err
		}
		row[i], src = v, rest
	}
	return src, nil
}

// valueMem estimates what a held value costs in memory.
func valueMem(v record.Value) int64 {
	return 32 + int64(len(v.Str()))
}

func rowMem(row record.Row) int64 {
	var n int64
	for _, v := range row {
		n += valueMem(v)
	}
	return n
}

// emitSpilled reads entries keyed by seqKey whose values are a position and an encoded row, and
// emits them in batches of schema s.
func emitSpilled(it kvIter, s *record.Schema, out Output) error {
	const size = 1024
	bld := record.NewBuilder(s, size)
	for {
		_, v, ok, err := it.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		pos, w := binary.Varint(v)
		if w <= 0 {
			return errBadSpill
		}
		if _, err := readRow(v[w:], bld.Row(pos)); err != nil {
			return err
		}
		if bld.Full() {
			if err := emitBuilt(out, bld, 0); err != nil {
				return err
			}
		}
	}
	return emitBuilt(out, bld, 0)
}

// lookupFile is a join's lookup table on disk: entries sorted by key (a sortKey's group part), each
// key's rows in the order they came, and an index of the first key of every block of the file.
type lookupFile struct {
	f       *spillFile
	width   int
	keys    [][]byte
	offs    []int64
	idxMem  int64
	r       *bufio.Reader
	scratch []byte
	vals    []record.Value
}

const lookupBlock = 4 << 10

func writeLookupFile(a *SpillArea, s *sorter, width int) (*lookupFile, error) {
	it, err := s.finish(true)
	if err != nil {
		return nil, err
	}
	f, err := a.create()
	if err != nil {
		return nil, err
	}
	lf := &lookupFile{f: f, width: width}
	w := bufio.NewWriterSize(f, s.buf)
	var off, blockEnd int64
	var hdr [2 * binary.MaxVarintLen64]byte
	for {
		k, v, ok, err := it.next()
		if err != nil {
			f.remove()
			return nil, err
		}
		if !ok {
			break
		}
		gk, _ := splitSortKey(k)
		if off >= blockEnd {
			lf.keys = append(lf.keys, bytes.Clone(gk))
			lf.offs = append(lf.offs, off)
			lf.idxMem += int64(len(gk)) + 40
			blockEnd = off + lookupBlock
		}
		h := binary.AppendUvarint(hdr[:0], uint64(len(gk)))
		h = binary.AppendUvarint(h, uint64(len(v)))
		for _, p := range [][]byte{h, gk, v} {
			if _, err := w.Write(p); err != nil {
				f.remove()
				return nil, err
			}
		}
		off += int64(len(h) + len(gk) + len(v))
	}
	if err := w.Flush(); err != nil {
		f.remove()
		return nil, err
	}
	return lf, nil
}

func (l *lookupFile) memBytes() int64 { return l.idxMem + lookupBlock }

// get appends the rows under key (a sortKey's group part) to dst.
func (l *lookupFile) get(key []byte, dst []record.Row) ([]record.Row, error) {
	if len(l.keys) == 0 {
		return dst, nil
	}
	// the key's rows may start in the block before the first one whose first key is >= key
	i, _ := slices.BinarySearchFunc(l.keys, key, bytes.Compare)
	if i > 0 {
		i--
	}
	sec := io.NewSectionReader(l.f.f, l.offs[i], l.f.size-l.offs[i])
	if l.r == nil {
		l.r = bufio.NewReaderSize(sec, lookupBlock)
	} else {
		l.r.Reset(sec)
	}
	for {
		kl, err := binary.ReadUvarint(l.r)
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read lookup file: %w", err)
		}
		vl, err := binary.ReadUvarint(l.r)
		if err != nil {
			return nil, fmt.Errorf("read lookup file: %w", err)
		}
		n := int(kl + vl)
		if cap(l.scratch) < n {
			l.scratch = make([]byte, n)
		}
		b := l.scratch[:n]
		if _, err := io.ReadFull(l.r, b); err != nil {
			return nil, fmt.Errorf("read lookup file: %w", err)
		}
		switch c := bytes.Compare(b[:kl], key); {
		case c < 0:
			continue
		case c > 0:
			return dst, nil
		}
		if len(l.vals) < l.width {
			l.vals = make([]record.Value, 1024*max(l.width, 1))
		}
		row := record.Row(l.vals[:l.width:l.width])
		l.vals = l.vals[l.width:]
		if _, err := readRow(b[kl:], row); err != nil {
			return nil, err
		}
		dst = append(dst, row)
	}
}

// spillBufSize is the size of each buffer a sorter of the budget reads or writes a spill file
// through: a thousandth of the budget, between 4 and 64 KiB.
func spillBufSize(budget int64) int {
	return int(min(max(budget>>10, 4<<10), spillBuf))
}

// spillFixedMem is what a spilling node of the budget holds beside its budgeted state: the file
// buffers of two merges of sortFanIn files at once, each writing a file (the merge a node reads
// when its input ends, and the one a second sorter fed from it may do), and 1 MiB for the entries the
// readers hold and a batch being emitted.
func spillFixedMem(budget int64) int64 {
	return 1<<20 + 2*int64(sortFanIn+1)*int64(spillBufSize(budget))
}
