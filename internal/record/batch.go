package record

// Row is one record: values in schema order.
type Row []Value

// Batch is a group of rows that share one schema. Rows are slices of one backing array.
// Pos, when set, holds each row's position in its source (line or row number, 1-based; 0 unknown),
// so a later node can name where a rejected row came from.
// Rejects are rows this node (or the source) could not handle; they travel with the batch so that the
// engine can dead-letter and count them.
type Batch struct {
	Schema  *Schema
	Rows    []Row
	Pos     []int64
	Rejects []Reject
	// Bytes is the number of input bytes this batch represents, when the producer knows it.
	Bytes int64
	// RowCap, when above zero, promises that every row's slots up to RowCap values (its length
	// plus spare capacity) belong to that row alone: no other row, in this batch or elsewhere,
	// shares them, so the node that owns the batch may extend a row in place with row[:n] for any
	// n <= RowCap. 0 promises nothing. Whoever puts a row of other origin into a batch it keeps
	// must reset RowCap (a new Batch starts at 0); moving the batch's own rows around keeps it.
	RowCap int
}

// Reject is a row that could not be processed.
type Reject struct {
	Node   string            `json:"node,omitempty"`   // the pipeline node that rejected it (set by the engine)
	Source string            `json:"source,omitempty"` // file, table or stream the row came from
	Pos    int64             `json:"pos,omitempty"`    // line or row number in the source, 1-based; 0 unknown
	Field  string            `json:"field,omitempty"`  // the offending field, when one is to blame
	Reason string            `json:"reason"`           // what was wrong, for a person
	Raw    string            `json:"raw,omitempty"`    // the raw input (a line of text), when there is one
	Values map[string]string `json:"values,omitempty"` // the row's values as text, when it was parsed
}

// NewBatch makes a batch with capacity for n rows of the schema, backed by one array.
func NewBatch(s *Schema, n int) *Batch {
	return &Batch{Schema: s, Rows: make([]Row, 0, n)}
}

// Builder fills batches row by row with one allocation per batch.
type Builder struct {
	schema *Schema
	size   int
	spare  int // extra capacity per row (see Reserve)
	vals   []Value
	batch  *Batch
}

// NewBuilder returns a builder for batches of up to size rows.
func NewBuilder(s *Schema, size int) *Builder {
	if size <= 0 {
		size = 1024
	}
	return &Builder{schema: s, size: size}
}

// Reserve gives every row of the batches started after the call n spare slots of capacity
// (zeroed, owned by that row alone; the batch's RowCap says so), so that a node downstream can
// append fields to the rows in place instead of copying each into a wider row. n <= 0 reserves
// nothing (the default).
func (b *Builder) Reserve(n int) {
	b.spare = max(n, 0)
}

// start begins a new batch; every row owns stride slots of one backing array.
func (b *Builder) start() {
	stride := len(b.schema.Fields) + b.spare
	b.batch = &Batch{Schema: b.schema, Rows: make([]Row, 0, b.size), Pos: make([]int64, 0, b.size), RowCap: stride}
	b.vals = make([]Value, b.size*stride)
}

// Row returns a zeroed row to fill, belonging to the current batch; pos is its source position.
func (b *Builder) Row(pos int64) Row {
	if b.batch == nil {
		b.start()
	}
	w, stride := len(b.schema.Fields), b.batch.RowCap
	i := len(b.batch.Rows)
	r := Row(b.vals[i*stride : i*stride+w : (i+1)*stride])
	b.batch.Rows = append(b.batch.Rows, r)
	b.batch.Pos = append(b.batch.Pos, pos)
	return r
}

// Unrow removes the row most recently returned by Row (after a parse failure, for instance).
func (b *Builder) Unrow() {
	if b.batch == nil || len(b.batch.Rows) == 0 {
		return
	}
	n := len(b.batch.Rows) - 1
	clear(b.batch.Rows[n])
	b.batch.Rows = b.batch.Rows[:n]
	b.batch.Pos = b.batch.Pos[:n]
}

// Reject records a rejected row in the current batch.
func (b *Builder) Reject(r Reject) {
	if b.batch == nil {
		b.start()
	}
	b.batch.Rejects = append(b.batch.Rejects, r)
}

// AddBytes counts input bytes for the current batch.
func (b *Builder) AddBytes(n int64) {
	if b.batch != nil {
		b.batch.Bytes += n
	}
}

// Full reports whether the current batch has reached its size.
func (b *Builder) Full() bool { return b.batch != nil && len(b.batch.Rows) >= b.size }

// Len is the number of rows in the current batch.
func (b *Builder) Len() int {
	if b.batch == nil {
		return 0
	}
	return len(b.batch.Rows)
}

// Take returns the current batch (nil if nothing was added) and starts a new one.
func (b *Builder) Take() *Batch {
	out := b.batch
	b.batch, b.vals = nil, nil
	return out
}

// Len is the number of rows in the batch.
func (b *Batch) Len() int {
	if b == nil {
		return 0
	}
	return len(b.Rows)
}

// Get returns the named field of row i, or null if the field does not exist.
func (b *Batch) Get(i int, name string) Value {
	j := b.Schema.Index(name)
	if j < 0 {
		return Null
	}
	return b.Rows[i][j]
}

// RowMap returns row i as a map of field name to Go value (see Value.Go).
func (b *Batch) RowMap(i int) map[string]any {
	m := make(map[string]any, len(b.Schema.Fields))
	for j, f := range b.Schema.Fields {
		m[f.Name] = b.Rows[i][j].Go()
	}
	return m
}

// TextValues returns row i as field name -> text, for dead-letter entries.
func (b *Batch) TextValues(i int) map[string]string {
	m := make(map[string]string, len(b.Schema.Fields))
	for j, f := range b.Schema.Fields {
		m[f.Name] = b.Rows[i][j].String()
	}
	return m
}

// PosOf returns the source position of row i, or 0 if unknown.
func (b *Batch) PosOf(i int) int64 {
	if i < len(b.Pos) {
		return b.Pos[i]
	}
	return 0
}
