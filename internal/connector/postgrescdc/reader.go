package postgrescdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/postgres"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/schemachange"
)

// state is the reader's checkpoint.
type state struct {
	// Streaming is true once the snapshot (if any) was read completely: the position is in the slot.
	Streaming bool `json:"streaming"`
	// LSN is the end LSN of the last transaction returned completely.
	LSN string `json:"lsn,omitempty"`
	// TxLSN and TxDone: the commit LSN of a transaction returned in part, and how many of its
	// changes were returned.
	TxLSN  string `json:"tx_lsn,omitempty"`
	TxDone int    `json:"tx_done,omitempty"`
}

type position struct {
	streaming bool
	lsn       pglogrepl.LSN
	txLSN     pglogrepl.LSN
	txDone    int
}

func (p position) state() state {
	s := state{Streaming: p.streaming}
	if p.streaming {
		s.LSN = p.lsn.String()
		if p.txLSN != 0 {
			s.TxLSN, s.TxDone = p.txLSN.String(), p.txDone
		}
	}
	return s
}

func parseState(raw json.RawMessage) (position, error) {
	var p position
	if len(raw) == 0 || string(raw) == "null" {
		return p, nil
	}
	var s state
	if err := json.Unmarshal(raw, &s); err != nil {
		return p, fmt.Errorf("postgres_cdc: checkpoint state: %w", err)
	}
	p.streaming, p.txDone = s.Streaming, s.TxDone
	var err error
	if s.LSN != "" {
		if p.lsn, err = pglogrepl.ParseLSN(s.LSN); err != nil {
			return p, fmt.Errorf("postgres_cdc: checkpoint state: lsn: %w", err)
		}
	}
	if s.TxLSN != "" {
		if p.txLSN, err = pglogrepl.ParseLSN(s.TxLSN); err != nil {
			return p, fmt.Errorf("postgres_cdc: checkpoint state: tx_lsn: %w", err)
		}
	}
	return p, nil
}

// table is a captured table: where each of its columns goes in the record.
type table struct {
	info *postgres.TableInfo
	name string // schema.name
	idx  []int  // record field of each column
	key  map[string]bool
}

// item is what the receiver hands to Next: a change (row set) or the commit of a transaction.
type item struct {
	row   record.Row
	final pglogrepl.LSN // commit LSN of the row's transaction
	end   pglogrepl.LSN // a commit: the transaction's end LSN
	err   error
	// schema is the schema row was made for (the stream's schema changes when a captured table
	// gains a column or a column's type changes)
	schema *record.Schema
}

const defaultBatch = 10000 // as the SQL sources' batch_size

type reader struct {
	cfg    Config
	log    *slog.Logger
	pool   *pgxpool.Pool
	repl   *pgconn.PgConn
	schema *record.Schema
	tables []*table
	byName map[string]*table
	batch  int
	wait   time.Duration
	nMeta  int // index of the first metadata field
	seq    int64

	// snapshot
	snapTx   pgx.Tx
	snapRows pgx.Rows
	snapNext int
	snapLSN  pglogrepl.LSN

	// stream
	start   position // where the stream resumes (transactions up to it are skipped)
	items   chan item
	cancel  context.CancelFunc
	done    chan struct{}
	pending *item // an item read but not used by the last Next

	mu  sync.Mutex
	pos position // after the last batch Next returned

	acked  atomic.Uint64
	ackSig chan struct{}
	// receiver-owned
	received pglogrepl.LSN // end of the last transaction handed over (or skipped)
	inTx     bool
	walEnd   pglogrepl.LSN // the server's position from its last keepalive
	sent     pglogrepl.LSN
	rels     map[uint32]*relation
	toastLog bool
	// cur is the schema the receiver makes rows for: schema, then what the tables' relation
	// messages changed (receiver-owned once the stream starts)
	cur   *record.Schema
	types map[[2]int64]record.Field // the field a column of (type oid, typmod) is read as
	// out is the schema of the batch Next builds
	out *record.Schema
}

// relation is a relation the stream described: its columns' record fields.
type relation struct {
	t     *table
	idx   []int // record field of each column, -1: not captured
	isKey []bool
	names []string
}

// Open connects, makes sure the publication and the slot exist, and starts the snapshot or the stream.
func (c *Connector) Open(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	cfg, refs, err := decode(c.Spec(), raw)
	if err != nil {
		return nil, err
	}
	start, err := parseState(req.State)
	if err != nil {
		return nil, err
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &reader{cfg: cfg, log: log, batch: req.BatchSize, wait: time.Duration(cfg.MaxWaitMS) * time.Millisecond,
		byName: map[string]*table{}, ackSig: make(chan struct{}, 1), rels: map[uint32]*relation{}}
	if r.batch <= 0 {
		r.batch = defaultBatch
	}
	ok := false
	defer func() {
		if !ok {
			r.closeConns()
		}
	}()
	if r.pool, err = cfg.Connect(ctx, env.Dialer(), cfg.timeout(), 2); err != nil {
		return nil, err
	}
	if err := r.loadTables(ctx, refs); err != nil {
		return nil, err
	}
	if err := r.ensurePublication(ctx); err != nil {
		return nil, err
	}
	exists, err := r.slotExists(ctx)
	if err != nil {
		return nil, err
	}
	if r.repl, err = cfg.ConnectReplication(ctx, env.Dialer(), cfg.timeout()); err != nil {
		return nil, err
	}
	switch {
	case start.streaming:
		if !exists {
			return nil, fmt.Errorf("postgres_cdc: replication slot %q does not exist any more (dropped?), so the changes since LSN %s are lost: re-snapshot: start the pipeline afresh (discard its saved state, e.g. `aggregator run --fresh`, or reset it from its page) so that snapshot: initial copies the tables again and recreates the slot", cfg.Slot, start.lsn)
		}
		r.pos, r.start = start, start
		r.acked.Store(uint64(start.lsn))
		if err := r.startStream(ctx, start.lsn); err != nil {
			return nil, err
		}
	case cfg.Snapshot == SnapshotNever:
		if !exists {
			if _, err := pglogrepl.CreateReplicationSlot(ctx, r.repl, cfg.Slot, "pgoutput",
				pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "NOEXPORT_SNAPSHOT"}); err != nil {
				return nil, r.replErr("create replication slot", err)
			}
			log.Info("postgres_cdc: created replication slot", "slot", cfg.Slot)
		}
		r.pos = position{streaming: true}
		if err := r.startStream(ctx, 0); err != nil {
			return nil, err
		}
	default:
		if exists {
			// a snapshot that did not finish (or a slot of an earlier pipeline): start it over
			log.Info("postgres_cdc: dropping the replication slot to take the initial snapshot again", "slot", cfg.Slot)
			if err := pglogrepl.DropReplicationSlot(ctx, r.repl, cfg.Slot, pglogrepl.DropReplicationSlotOptions{}); err != nil {
				return nil, r.replErr("drop replication slot", err)
			}
		}
		res, err := pglogrepl.CreateReplicationSlot(ctx, r.repl, cfg.Slot, "pgoutput",
			pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
		if err != nil {
			return nil, r.replErr("create replication slot", err)
		}
		if r.snapLSN, err = pglogrepl.ParseLSN(res.ConsistentPoint); err != nil {
			return nil, fmt.Errorf("postgres_cdc: slot consistent point %q: %w", res.ConsistentPoint, err)
		}
		// the exported snapshot lives until the next command on the replication connection:
		// import it first
		if r.snapTx, err = r.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}); err != nil {
			return nil, postgres.Wrap("postgres_cdc: begin snapshot", err)
		}
		if _, err := r.snapTx.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+strings.ReplaceAll(res.SnapshotName, "'", "''")+"'"); err != nil {
			return nil, postgres.Wrap("postgres_cdc: use the slot's snapshot", err)
		}
		if _, err := r.snapTx.Exec(ctx, "SET LOCAL TimeZone = 'UTC'"); err != nil {
			return nil, postgres.Wrap("postgres_cdc: snapshot", err)
		}
		log.Info("postgres_cdc: created replication slot; reading the initial snapshot", "slot", cfg.Slot, "consistent_point", res.ConsistentPoint)
	}
	ok = true
	return r, nil
}

// replErr turns a failure of a replication command into a clear error; a slot another connection
// still holds (a process that just died) is transient.
func (r *reader) replErr(what string, err error) error {
	err = sqlkit.Scrub(err, r.cfg.Secrets()...)
	switch postgres.ErrorCode(err) {
	case "55006":
		return fmt.Errorf("postgres_cdc: %s %q: the slot is in use by another connection (another run of this pipeline, or one that just stopped): %w (%w)", what, r.cfg.Slot, err, connector.ErrTransient)
	case "42704":
		return fmt.Errorf("postgres_cdc: %s %q: %w", what, r.cfg.Slot, err)
	case "55000":
		return connector.ConfigError(fmt.Errorf("postgres_cdc: %s %q: %w (the server needs wal_level = logical; see docs/connectors/postgres_cdc.md)", what, r.cfg.Slot, err))
	case "42501":
		return connector.ConfigError(fmt.Errorf("postgres_cdc: %s %q: %w (the user needs the REPLICATION attribute)", what, r.cfg.Slot, err))
	}
	return postgres.Wrap("postgres_cdc: "+what+" "+r.cfg.Slot, err)
}

func (r *reader) loadTables(ctx context.Context, refs []tableRef) error {
	var fields []record.Field
	at := map[string]int{}
	for _, ref := range refs {
		info, err := postgres.FindTable(ctx, r.pool, ref.schema, ref.name)
		if err != nil {
			return postgres.Wrap("postgres_cdc: tables: "+ref.String(), err)
		}
		t := &table{info: info, name: ref.String(), key: map[string]bool{}}
		for _, k := range info.Key {
			t.key[k] = true
		}
		for _, f := range info.Fields {
			if i, ok := at[f.Name]; ok {
				if fields[i].Kind != f.Kind {
					return connector.ConfigError(fmt.Errorf("tables: column %q is %s in %s but %s in another table; records of several tables share one schema, so capture them in separate pipelines", f.Name, f.Kind, t.name, fields[i].Kind))
				}
				t.idx = append(t.idx, i)
				continue
			}
			f.Nullable = true
			f.Native = ""
			at[f.Name] = len(fields)
			t.idx = append(t.idx, len(fields))
			fields = append(fields, f)
		}
		r.tables = append(r.tables, t)
		r.byName[t.name] = t
	}
	r.nMeta = len(fields)
	for _, f := range []record.Field{
		{Name: OpField, Kind: record.KindString}, {Name: TableField, Kind: record.KindString},
		{Name: BeforeField, Kind: record.KindJSON, Nullable: true}, {Name: LSNField, Kind: record.KindString},
		{Name: CommitTSField, Kind: record.KindTimestamp, Nullable: true},
	} {
		if _, ok := at[f.Name]; ok {
			return connector.ConfigError(fmt.Errorf("tables: a column is named %q, which is the name of a change field", f.Name))
		}
		fields = append(fields, f)
	}
	s, err := record.NewSchema(fields...)
	if err != nil {
		return connector.ConfigError(fmt.Errorf("tables: %w", err))
	}
	r.schema, r.cur, r.out = s, s, s
	return nil
}

// ensurePublication creates the publication for the tables, or adds the tables it lacks.
func (r *reader) ensurePublication(ctx context.Context) error {
	pub := r.cfg.Publication
	var n int
	if err := r.pool.QueryRow(ctx, "SELECT count(*) FROM pg_publication WHERE pubname = $1", pub).Scan(&n); err != nil {
		return postgres.Wrap("postgres_cdc: read publications", err)
	}
	if n == 0 {
		names := make([]string, len(r.tables))
		for i, t := range r.tables {
			names[i] = t.info.Qualified()
		}
		if _, err := r.pool.Exec(ctx, "CREATE PUBLICATION "+postgres.Quote(pub)+" FOR TABLE "+strings.Join(names, ", ")); err != nil {
			return postgres.Wrap(fmt.Sprintf("postgres_cdc: create publication %q (the user must own the tables, or create it: CREATE PUBLICATION %s FOR TABLE %s)", pub, pub, strings.Join(names, ", ")), err)
		}
		r.log.Info("postgres_cdc: created publication", "publication", pub)
		return nil
	}
	for _, t := range r.tables {
		var has bool
		if err := r.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3)",
			pub, t.info.Schema, t.info.Name).Scan(&has); err != nil {
			return postgres.Wrap("postgres_cdc: read publication tables", err)
		}
		if !has {
			if _, err := r.pool.Exec(ctx, "ALTER PUBLICATION "+postgres.Quote(pub)+" ADD TABLE "+t.info.Qualified()); err != nil {
				return postgres.Wrap(fmt.Sprintf("postgres_cdc: add table %s to publication %q", t.name, pub), err)
			}
			r.log.Info("postgres_cdc: added table to publication", "publication", pub, "table", t.name)
		}
	}
	return nil
}

func (r *reader) slotExists(ctx context.Context) (bool, error) {
	var plugin *string
	err := r.pool.QueryRow(ctx, "SELECT plugin FROM pg_replication_slots WHERE slot_name = $1", r.cfg.Slot).Scan(&plugin)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, postgres.Wrap("postgres_cdc: read replication slots", err)
	}
	if plugin == nil || *plugin != "pgoutput" {
		return false, connector.ConfigError(fmt.Errorf("slot: replication slot %q exists but is not a logical slot of the pgoutput plugin; choose another name", r.cfg.Slot))
	}
	return true, nil
}

func (r *reader) Schema() *record.Schema { return r.schema }

// Next returns snapshot rows, then changes; it blocks until changes arrive.
func (r *reader) Next(ctx context.Context) (*record.Batch, error) {
	if r.snapTx != nil {
		b, err := r.nextSnapshot(ctx)
		if err != nil || b != nil {
			return b, err
		}
	}
	return r.nextChanges(ctx)
}

func (r *reader) nextSnapshot(ctx context.Context) (*record.Batch, error) {
	b := record.NewBuilder(r.schema, r.batch)
	lsn := record.String(r.snapLSN.String())
	for r.snapNext < len(r.tables) {
		t := r.tables[r.snapNext]
		if r.snapRows == nil {
			cols := make([]string, len(t.info.Fields))
			for i, f := range t.info.Fields {
				cols[i] = postgres.Quote(f.Name) + "::text"
			}
			rows, err := r.snapTx.Query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+t.info.Qualified())
			if err != nil {
				return nil, postgres.Wrap("postgres_cdc: snapshot of "+t.name, err)
			}
			r.snapRows = rows
		}
		for !b.Full() && r.snapRows.Next() {
			r.seq++
			row := b.Row(r.seq)
			for i, raw := range r.snapRows.RawValues() {
				if raw == nil {
					continue
				}
				f := t.info.Fields[i]
				v, err := postgres.DecodeText(string(raw), f.Kind)
				if err != nil {
					b.Unrow()
					b.Reject(record.Reject{Source: t.name, Pos: r.seq, Field: f.Name, Reason: err.Error()})
					row = nil
					break
				}
				row[t.idx[i]] = v
			}
			if row != nil {
				r.meta(row, OpInsert, t.name, record.Null, lsn, record.Null)
			}
		}
		if b.Full() {
			return b.Take(), nil
		}
		err := r.snapRows.Err()
		r.snapRows.Close()
		r.snapRows = nil
		if err != nil {
			return nil, postgres.Wrap("postgres_cdc: snapshot of "+t.name, err)
		}
		r.snapNext++
	}
	// the snapshot is read: stream from the slot's consistent point
	err := r.snapTx.Commit(ctx)
	r.snapTx = nil
	if err != nil {
		return nil, postgres.Wrap("postgres_cdc: end snapshot", err)
	}
	r.mu.Lock()
	r.pos = position{streaming: true, lsn: r.snapLSN}
	r.mu.Unlock()
	r.start = r.pos
	if err := r.startStream(ctx, r.snapLSN); err != nil {
		return nil, err
	}
	r.log.Info("postgres_cdc: initial snapshot read; streaming changes", "slot", r.cfg.Slot, "from", r.snapLSN)
	return b.Take(), nil
}

func (r *reader) meta(row record.Row, op, tbl string, before, lsn, ts record.Value) {
	m := row[r.nMeta:]
	m[0], m[1], m[2], m[3], m[4] = record.String(op), record.String(tbl), before, lsn, ts
}

// startStream starts replication at from and the receiver.
func (r *reader) startStream(ctx context.Context, from pglogrepl.LSN) error {
	err := pglogrepl.StartReplication(ctx, r.repl, r.cfg.Slot, from, pglogrepl.StartReplicationOptions{
		Mode:       pglogrepl.LogicalReplication,
		PluginArgs: []string{"proto_version '1'", "publication_names '" + strings.ReplaceAll(r.cfg.Publication, "'", "''") + "'"},
	})
	if err != nil {
		if postgres.ErrorCode(err) == "42704" {
			return fmt.Errorf("postgres_cdc: replication slot %q does not exist any more (dropped?): re-snapshot: start the pipeline afresh so that snapshot: initial copies the tables again and recreates the slot: %w", r.cfg.Slot, err)
		}
		return r.replErr("start replication from slot", err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	r.items = make(chan item, max(4*r.batch, 32768))
	r.received = r.start.lsn
	go r.receive(rctx)
	return nil
}

func (r *reader) nextChanges(ctx context.Context) (*record.Batch, error) {
	b := record.NewBuilder(r.out, r.batch)
	var timer *time.Timer
	var timeout <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var it item
		if r.pending != nil {
			it, r.pending = *r.pending, nil
		} else {
			select {
			case it = <-r.items:
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-timeout:
				r.takeCommit()
				return b.Take(), nil
			}
		}
		if it.err != nil {
			if b.Len() > 0 {
				r.pending = &it // the rows first
				return b.Take(), nil
			}
			r.pending = &it
			return nil, it.err
		}
		if it.row != nil && it.schema != r.out {
			// the stream's schema changed: a batch holds rows of one schema
			if b.Len() > 0 {
				r.pending = &it
				return b.Take(), nil
			}
			r.out = it.schema
			b = record.NewBuilder(r.out, r.batch)
		}
		r.mu.Lock()
		if it.row == nil {
			r.pos.lsn, r.pos.txLSN, r.pos.txDone = it.end, 0, 0
		} else {
			if r.pos.txLSN != it.final {
				r.pos.txLSN, r.pos.txDone = it.final, 0
			}
			r.pos.txDone++
			r.seq++
			copy(b.Row(r.seq), it.row)
		}
		r.mu.Unlock()
		if b.Full() {
			r.takeCommit()
			return b.Take(), nil
		}
		if b.Len() > 0 && timeout == nil {
			timer = time.NewTimer(r.wait)
			timeout = timer.C
		}
	}
}

// takeCommit takes the commit that follows at once, if it is there, so that the state after a
// batch is less often inside a transaction.
func (r *reader) takeCommit() {
	select {
	case next := <-r.items:
		if next.row == nil && next.err == nil {
			r.mu.Lock()
			r.pos.lsn, r.pos.txLSN, r.pos.txDone = next.end, 0, 0
			r.mu.Unlock()
		} else {
			r.pending = &next
		}
	default:
	}
}

// State is the position after the last batch returned.
func (r *reader) State() (json.RawMessage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return json.Marshal(r.pos.state())
}

// Ack confirms the position of a durable checkpoint to the server: the slot's confirmed_flush_lsn
// moves to the end of the last transaction the checkpoint holds completely.
func (r *reader) Ack(_ context.Context, raw json.RawMessage) error {
	p, err := parseState(raw)
	if err != nil {
		return err
	}
	if !p.streaming {
		return nil // a snapshot in progress: the slot stays at its consistent point
	}
	for {
		cur := r.acked.Load()
		if uint64(p.lsn) <= cur || r.acked.CompareAndSwap(cur, uint64(p.lsn)) {
			break
		}
	}
	select {
	case r.ackSig <- struct{}{}:
	default:
	}
	return nil
}

var _ connector.PositionReporter = (*reader)(nil)

// Positions reports the slot: its confirmed_flush_lsn (what the server may recycle WAL up to) and
// how many bytes of WAL the server wrote after it (the WAL the slot retains for this pipeline).
// During the initial snapshot the slot stays at its consistent point.
func (r *reader) Positions(ctx context.Context) ([]connector.Position, error) {
	var lsn *string
	var lag *int64
	err := r.pool.QueryRow(ctx, `SELECT confirmed_flush_lsn::text, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint
		FROM pg_replication_slots WHERE slot_name = $1`, r.cfg.Slot).Scan(&lsn, &lag)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres_cdc: replication slot %q does not exist", r.cfg.Slot)
	}
	if err != nil {
		return nil, postgres.Wrap("postgres_cdc: read the position of slot "+r.cfg.Slot, err)
	}
	p := connector.Position{Partition: r.cfg.Slot, Offset: -1, Lag: -1, LagUnit: connector.LagBytes}
	if lsn != nil {
		p.Committed = "LSN " + *lsn
	}
	if lag != nil {
		p.Lag = max(*lag, 0)
	}
	return []connector.Position{p}, nil
}

// Close stops the stream, confirms the last acknowledged position and closes the connections.
func (r *reader) Close() error {
	if r.cancel != nil {
		r.cancel()
		if r.repl != nil {
			_ = r.repl.Conn().SetReadDeadline(time.Now()) // ends the receiver's read
		}
		<-r.done
		if r.repl != nil {
			_ = r.repl.Conn().SetReadDeadline(time.Time{})
		}
		if r.repl != nil && !r.repl.IsClosed() && r.sendStatus(context.Background()) == nil {
			// End the stream so that the server has applied the status before Close returns; a
			// deadline (not a goroutine, which could still use the connection while it is closed
			// below) bounds the wait for a server that does not answer.
			_ = r.repl.Conn().SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = pglogrepl.SendStandbyCopyDone(context.Background(), r.repl)
			_ = r.repl.Conn().SetDeadline(time.Time{})
		}
	}
	r.closeConns()
	return nil
}

func (r *reader) closeConns() {
	if r.snapRows != nil {
		r.snapRows.Close()
		r.snapRows = nil
	}
	if r.snapTx != nil {
		_ = r.snapTx.Rollback(context.Background())
		r.snapTx = nil
	}
	if r.repl != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = r.repl.Close(ctx)
		cancel()
		r.repl = nil
	}
	if r.pool != nil {
		r.pool.Close()
		r.pool = nil
	}
}

// sendStatus confirms the acknowledged position (or, when every change handed over is
// acknowledged and no transaction is open, the server's position: WAL of other tables).
func (r *reader) sendStatus(ctx context.Context) error {
	pos := pglogrepl.LSN(r.acked.Load())
	if !r.inTx && r.received <= pos && r.walEnd > pos {
		pos = r.walEnd
	}
	pos = max(pos, r.sent)
	if err := pglogrepl.SendStandbyStatusUpdate(ctx, r.repl, pglogrepl.StandbyStatusUpdate{WALWritePosition: pos}); err != nil {
		return err
	}
	r.sent = pos
	return nil
}

// receive reads the replication stream until ctx is done or it fails (the error goes to Next).
func (r *reader) receive(ctx context.Context) {
	defer close(r.done)
	interval := time.Duration(r.cfg.StatusInterval) * time.Second
	nextStatus := time.Now().Add(interval)
	var deadline time.Time
	fail := func(err error) {
		select {
		case r.items <- item{err: err}:
		case <-ctx.Done():
		}
	}
	var tx struct {
		final pglogrepl.LSN
		ts    record.Value
		n     int
		skip  bool
	}
	for {
		select {
		case <-r.ackSig:
			nextStatus = time.Time{}
		default:
		}
		if !time.Now().Before(nextStatus) {
			if err := r.sendStatus(ctx); err != nil {
				if ctx.Err() == nil {
					fail(r.streamErr("send standby status", err))
				}
				return
			}
			nextStatus = time.Now().Add(interval)
		}
		// a read deadline, not a context per message: watching a context costs a goroutine
		// hand-off per message. Close interrupts the read by moving the deadline.
		if !deadline.After(time.Now()) {
			deadline = time.Now().Add(min(time.Until(nextStatus), 500*time.Millisecond))
			if err := r.repl.Conn().SetReadDeadline(deadline); err != nil {
				fail(r.streamErr("receive", err))
				return
			}
		}
		msg, err := r.repl.ReceiveMessage(context.Background())
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var ne net.Error
			if pgconn.Timeout(err) || errors.As(err, &ne) && ne.Timeout() {
				deadline = time.Time{}
				continue
			}
			fail(r.streamErr("receive", err))
			return
		}
		var data []byte
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			data = m.Data
		case *pgproto3.ErrorResponse:
			fail(r.streamErr("stream", pgconn.ErrorResponseToPgError(m)))
			return
		default:
			continue
		}
		if len(data) == 0 {
			continue
		}
		switch data[0] {
		case pglogrepl.PrimaryKeepaliveMessageByteID:
			ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
			if err != nil {
				fail(fmt.Errorf("postgres_cdc: keepalive: %w", err))
				return
			}
			r.walEnd = max(r.walEnd, ka.ServerWALEnd)
			if ka.ReplyRequested {
				nextStatus = time.Time{}
			}
			continue
		case pglogrepl.XLogDataByteID:
		default:
			continue
		}
		xld, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			fail(fmt.Errorf("postgres_cdc: WAL data: %w", err))
			return
		}
		lm, err := pglogrepl.Parse(xld.WALData)
		if err != nil {
			fail(fmt.Errorf("postgres_cdc: decode pgoutput message: %w", err))
			return
		}
		var rows []record.Row
		switch m := lm.(type) {
		case *pglogrepl.RelationMessage:
			if err := r.relation(ctx, m); err != nil {
				fail(err)
				return
			}
			continue
		case *pglogrepl.BeginMessage:
			r.inTx = true
			tx.final, tx.ts, tx.n = m.FinalLSN, record.Timestamp(m.CommitTime), 0
			tx.skip = m.FinalLSN < r.start.lsn // done before the checkpoint
			continue
		case *pglogrepl.CommitMessage:
			r.inTx = false
			if tx.skip {
				r.received = max(r.received, m.TransactionEndLSN)
				continue
			}
			if !r.send(ctx, item{final: tx.final, end: m.TransactionEndLSN}) {
				return
			}
			r.received = m.TransactionEndLSN
			continue
		case *pglogrepl.InsertMessage:
			rows, err = r.change(m.RelationID, OpInsert, nil, 0, m.Tuple, tx.final, tx.ts)
		case *pglogrepl.UpdateMessage:
			rows, err = r.change(m.RelationID, OpUpdate, m.OldTuple, m.OldTupleType, m.NewTuple, tx.final, tx.ts)
		case *pglogrepl.DeleteMessage:
			rows, err = r.change(m.RelationID, OpDelete, m.OldTuple, m.OldTupleType, nil, tx.final, tx.ts)
		case *pglogrepl.TruncateMessage:
			r.log.Warn("postgres_cdc: a captured table was truncated; TRUNCATE is not applied to destinations", "slot", r.cfg.Slot)
			continue
		default:
			continue
		}
		if err != nil {
			fail(err)
			return
		}
		for _, row := range rows {
			tx.n++
			if tx.skip || (tx.final == r.start.txLSN && tx.n <= r.start.txDone) {
				continue // returned before the checkpoint
			}
			if !r.send(ctx, item{row: row, final: tx.final, schema: r.cur}) {
				return
			}
		}
	}
}

// send hands an item to Next, sending standby status updates while Next is slow (backpressure),
// so the server does not time the connection out.
func (r *reader) send(ctx context.Context, it item) bool {
	select {
	case r.items <- it:
		return true
	default:
	}
	tick := time.NewTicker(time.Duration(r.cfg.StatusInterval) * time.Second)
	defer tick.Stop()
	for {
		select {
		case r.items <- it:
			return true
		case <-tick.C:
			_ = r.sendStatus(ctx)
		case <-ctx.Done():
			return false
		}
	}
}

func (r *reader) streamErr(what string, err error) error {
	err = sqlkit.Scrub(err, r.cfg.Secrets()...)
	if postgres.ErrorCode(err) == "42704" || strings.Contains(err.Error(), "does not exist") {
		return fmt.Errorf("postgres_cdc: slot %q: %s: %w: re-snapshot: start the pipeline afresh so that snapshot: initial copies the tables again and recreates the slot", r.cfg.Slot, what, err)
	}
	return postgres.Wrap(fmt.Sprintf("postgres_cdc: slot %q: %s", r.cfg.Slot, what), err)
}

// relation takes a table's description from the stream. A column the schema lacks (ALTER TABLE
// ... ADD COLUMN) is added to it, before the change fields; a column whose type the schema's field
// does not hold (ALTER COLUMN ... TYPE to a wider or another type) changes its field's kind. The rows
// after it are made for the new schema, so the destinations see the change at the batch that
// carries it (and apply their schema_changes policy). A column dropped from the table arrives as
// null. A column of the old type after a widening (changes read again from before it) keeps the
// wider field.
func (r *reader) relation(ctx context.Context, m *pglogrepl.RelationMessage) error {
	name := m.Namespace + "." + m.RelationName
	t := r.byName[name]
	if t == nil {
		delete(r.rels, m.RelationID)
		return nil // a table of the publication this source does not capture
	}
	rel := &relation{t: t, idx: make([]int, len(m.Columns)), isKey: make([]bool, len(m.Columns)), names: make([]string, len(m.Columns))}
	fields := r.cur.Fields
	changed := false
	for i, c := range m.Columns {
		rel.names[i], rel.isKey[i] = c.Name, c.Flags&1 != 0
		f, err := r.typeField(ctx, c)
		if err != nil {
			return fmt.Errorf("postgres_cdc: table %s column %q: %w", name, c.Name, err)
		}
		j := -1
		for k := range fields {
			if fields[k].Name == c.Name {
				j = k
			}
		}
		switch {
		case j >= r.nMeta:
			return fmt.Errorf("postgres_cdc: table %s has a new column named %q, which is the name of a change field", name, c.Name)
		case j < 0:
			if !changed {
				fields, changed = append([]record.Field(nil), fields...), true
			}
			fields = append(fields[:r.nMeta], append([]record.Field{f}, fields[r.nMeta:]...)...)
			j = r.nMeta
			r.nMeta++
			r.log.Info("postgres_cdc: a captured table has a new column", "table", name, "column", c.Name, "kind", f.Kind)
		case fields[j].Kind != f.Kind && !schemachange.Widens(f.Kind, fields[j].Kind):
			if !changed {
				fields, changed = append([]record.Field(nil), fields...), true
			}
			r.log.Info("postgres_cdc: a captured column changed its type", "table", name, "column", c.Name, "from", fields[j].Kind, "to", f.Kind)
			fields[j] = f
		}
		rel.idx[i] = j
	}
	if changed {
		s, err := record.NewSchema(fields...)
		if err != nil {
			return fmt.Errorf("postgres_cdc: table %s: new schema: %w", name, err)
		}
		r.cur = s
	}
	r.rels[m.RelationID] = rel
	return nil
}

// typeField is the field a column of the relation message is read as (as the catalog gives it when
// the run starts: arrays arrive as text).
func (r *reader) typeField(ctx context.Context, c *pglogrepl.RelationMessageColumn) (record.Field, error) {
	k := [2]int64{int64(c.DataType), int64(c.TypeModifier)}
	if f, ok := r.types[k]; ok {
		f.Name = c.Name
		return f, nil
	}
	f, err := postgres.TypeField(ctx, r.pool, c.Name, c.DataType, c.TypeModifier)
	if err != nil {
		return f, err
	}
	f.Nullable, f.Native = true, ""
	if r.types == nil {
		r.types = map[[2]int64]record.Field{}
	}
	r.types[k] = f
	return f, nil
}

// change makes the records of one change: one, or for an update that moves the primary key a
// delete of the old key and then the update.
func (r *reader) change(relID uint32, op string, old *pglogrepl.TupleData, oldType uint8, newT *pglogrepl.TupleData, final pglogrepl.LSN, ts record.Value) ([]record.Row, error) {
	rel := r.rels[relID]
	if rel == nil {
		return nil, nil
	}
	width := len(r.cur.Fields)
	var oldRow record.Row
	before := record.Null
	if old != nil {
		oldRow = make(record.Row, width)
		if err := r.tuple(rel, old, oldRow, nil); err != nil {
			return nil, err
		}
		buf := []byte{'{'}
		n := 0
		for i, c := range old.Columns {
			if i >= len(rel.idx) || (oldType == 'K' && !rel.isKey[i]) || c.DataType == 'u' {
				continue
			}
			if n > 0 {
				buf = append(buf, ',')
			}
			n++
			buf = record.AppendJSONString(buf, rel.names[i])
			buf = append(buf, ':')
			buf = oldRow[rel.idx[i]].AppendJSON(buf)
		}
		before = record.JSON(string(append(buf, '}')))
	}
	lsn := record.String(final.String())
	if op == OpDelete {
		if oldRow == nil {
			return nil, fmt.Errorf("postgres_cdc: table %s: a delete came without the old row; set REPLICA IDENTITY (DEFAULT with a primary key, or FULL)", rel.t.name)
		}
		r.meta(oldRow, OpDelete, rel.t.name, before, lsn, ts)
		return []record.Row{oldRow}, nil
	}
	row := make(record.Row, width)
	if err := r.tuple(rel, newT, row, oldRow); err != nil {
		return nil, err
	}
	r.meta(row, op, rel.t.name, before, lsn, ts)
	if op == OpUpdate && oldRow != nil && len(rel.t.key) > 0 {
		moved := false
		for i, k := range rel.isKey {
			if k && !oldRow[rel.idx[i]].Equal(row[rel.idx[i]]) {
				moved = true
			}
		}
		if moved {
			del := make(record.Row, width)
			for i, k := range rel.isKey {
				if k {
					del[rel.idx[i]] = oldRow[rel.idx[i]]
				}
			}
			r.meta(del, OpDelete, rel.t.name, before, lsn, ts)
			return []record.Row{del, row}, nil
		}
	}
	return []record.Row{row}, nil
}

// tuple decodes a tuple into row; an unchanged TOAST value is taken from old when it has it.
func (r *reader) tuple(rel *relation, t *pglogrepl.TupleData, row, old record.Row) error {
	for i, c := range t.Columns {
		if i >= len(rel.idx) {
			break
		}
		j := rel.idx[i]
		switch c.DataType {
		case pglogrepl.TupleDataTypeText:
			v, err := postgres.DecodeText(string(c.Data), r.cur.Fields[j].Kind)
			if err != nil {
				return fmt.Errorf("postgres_cdc: table %s column %s: %w", rel.t.name, rel.names[i], err)
			}
			row[j] = v
		case pglogrepl.TupleDataTypeToast:
			if old != nil {
				row[j] = old[j]
			} else if !r.toastLog {
				r.toastLog = true
				r.log.Warn("postgres_cdc: an update left a large (TOASTed) value unchanged and the server did not send it; it arrives as null. Set REPLICA IDENTITY FULL on the table to receive it", "table", rel.t.name, "column", rel.names[i])
			}
		}
	}
	return nil
}
