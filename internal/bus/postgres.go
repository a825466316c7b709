package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/runs"
)

// notifyLimit is the largest NOTIFY payload PostgreSQL takes (it must be shorter than 8,000
// bytes); maxPGEvent leaves room for the sequence number and its space in front of the JSON.
const (
	notifyLimit = 7999
	maxPGEvent  = notifyLimit - 20
)

// PostgresOptions configure a Postgres bus.
type PostgresOptions struct {
	// DSN connects to the store's database, with the search_path of its schema (a
	// postgres:// URL or key=value string, as DATABASE_URL). Required.
	DSN string
	// Outbox is how many events may wait to be sent (DefaultOutbox when 0).
	Outbox int
	Logger *slog.Logger
}

// Postgres is the runs.Bus over PostgreSQL LISTEN/NOTIFY. Build it with NewPostgres.
type Postgres struct {
	*outbox
	cfg     *pgx.ConnConfig
	channel string
	cancel  context.CancelFunc // stops listening and publishing
	flush   context.CancelFunc // ends the flush of the outbox
	wg      sync.WaitGroup
	once    sync.Once

	mu   sync.Mutex
	send *pgx.Conn // the publishing connection; nil while disconnected
}

var _ runs.Bus = (*Postgres)(nil)

// NewPostgres connects, listens on the schema's channel and starts publishing. The error names
// what failed (connect, the schema's run_event_seqs table, LISTEN).
func NewPostgres(ctx context.Context, o PostgresOptions) (*Postgres, error) {
	if o.DSN == "" {
		return nil, errors.New("event bus: PostgreSQL: a DSN is required")
	}
	cfg, err := pgx.ParseConfig(o.DSN)
	if err != nil {
		return nil, fmt.Errorf("event bus: PostgreSQL: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "aggregator-events"
	}
	p := &Postgres{outbox: newOutbox(o.Outbox, o.Logger), cfg: cfg}
	listen, err := p.connect(ctx)
	if err != nil {
		return nil, err
	}
	var schema string
	if err := listen.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		_ = listen.Close(context.Background())
		return nil, fmt.Errorf("event bus: PostgreSQL: current schema: %w", err)
	}
	p.channel = channelName(schema)
	if _, err := listen.Exec(ctx, "SELECT 1 FROM run_event_seqs LIMIT 0"); err != nil {
		_ = listen.Close(context.Background())
		return nil, fmt.Errorf("event bus: PostgreSQL: table run_event_seqs in schema %s (run the migrations: aggregator migrate up): %w", schema, err)
	}
	if err := p.listen(ctx, listen); err != nil {
		_ = listen.Close(context.Background())
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	flushCtx, flush := context.WithCancel(context.Background())
	p.cancel, p.flush = cancel, flush
	p.wg.Go(func() { p.receive(runCtx, listen) })
	p.wg.Go(func() { p.sendLoop(runCtx, flushCtx, "postgres", p.publish) })
	return p, nil
}

// Channel is the NOTIFY channel: one per schema, so that deployments (and tests) sharing a
// database do not hear each other.
func (p *Postgres) Channel() string { return p.channel }

func channelName(schema string) string {
	name := "aggregator_events_" + schema
	if len(name) > 63 || strings.ContainsFunc(name, func(r rune) bool { return r > 127 }) {
		sum := sha256.Sum256([]byte(schema))
		name = "aggregator_events_" + hex.EncodeToString(sum[:8])
	}
	return name
}

func (p *Postgres) connect(ctx context.Context) (*pgx.Conn, error) {
	c, err := pgx.ConnectConfig(ctx, p.cfg)
	if err != nil {
		return nil, fmt.Errorf("event bus: PostgreSQL: connect to %s:%d: %w", p.cfg.Host, p.cfg.Port, err)
	}
	return c, nil
}

func (p *Postgres) listen(ctx context.Context, c *pgx.Conn) error {
	if _, err := c.Exec(ctx, "LISTEN "+pgx.Identifier{p.channel}.Sanitize()); err != nil {
		return fmt.Errorf("event bus: PostgreSQL: LISTEN %s: %w", p.channel, err)
	}
	return nil
}

// receive hands every notification to the local broker, reconnecting when the connection drops.
func (p *Postgres) receive(ctx context.Context, c *pgx.Conn) {
	defer func() {
		if c != nil {
			_ = c.Close(context.Background())
		}
	}()
	for attempt := 0; ; {
		if c == nil {
			if !wait(ctx, attempt) {
				return
			}
			attempt++
			var err error
			if c, err = p.connect(ctx); err == nil {
				if err = p.listen(ctx, c); err != nil {
					_ = c.Close(context.Background())
					c = nil
				}
			}
			if err != nil {
				if ctx.Err() == nil {
					p.log.Warn("event bus: PostgreSQL: cannot listen yet", "attempt", attempt, "error", err)
				}
				continue
			}
			attempt = 0
			p.log.Info("event bus: PostgreSQL: listening again; events published while disconnected were lost", "channel", p.channel)
		}
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.log.Warn("event bus: PostgreSQL: listening connection lost; reconnecting", "error", err)
			_ = c.Close(context.Background())
			c = nil
			continue
		}
		e, err := decode(n.Payload)
		if err != nil {
			p.log.Warn("event bus: PostgreSQL: dropped a notification", "channel", n.Channel, "error", err)
			continue
		}
		p.Deliver(e)
	}
}

// SQL of publication. The first numbers the event in the run's counter row (2 when it has none)
// and sends it with its number in front; the second sends an event numbered already; the third
// forgets a run that ended.
const (
	numberAndNotify = `WITH s AS (
  INSERT INTO run_event_seqs AS r (run_id, seq) VALUES ($2, $3) ON CONFLICT (run_id) DO UPDATE SET seq = r.seq + 1 RETURNING seq)
SELECT pg_notify($1, s.seq::text || ' ' || $4) FROM s`
	notify     = `SELECT pg_notify($1, $2)`
	forgetSeqs = `DELETE FROM run_event_seqs WHERE run_id = $1`
)

// publish sends a batch in one round trip and one implicit transaction, ordered by run (each
// run's events keep their order) so that two processes lock counter rows in the same order.
func (p *Postgres) publish(ctx context.Context, events []runs.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.send == nil {
		c, err := p.connect(ctx)
		if err != nil {
			return err
		}
		p.send = c
	}
	slices.SortStableFunc(events, func(a, b runs.Event) int { return strings.Compare(a.RunID, b.RunID) })
	var b pgx.Batch
	for _, e := range events {
		data, ok := fit(e, maxPGEvent)
		if !ok {
			p.lost.Add(1)
			p.log.Warn("event bus: PostgreSQL: an event does not fit in a notification; dropped", "run_id", e.RunID, "type", e.Type)
			continue
		}
		if e.Seq == 0 {
			b.Queue(numberAndNotify, p.channel, e.RunID, runs.SeqQueued+1, string(data))
		} else {
			b.Queue(notify, p.channel, strconv.FormatInt(e.Seq, 10)+" "+string(data))
		}
		if e.Ends() {
			b.Queue(forgetSeqs, e.RunID)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	if err := p.send.SendBatch(ctx, &b).Close(); err != nil {
		if p.send.IsClosed() || ctx.Err() != nil || !isQueryError(err) {
			_ = p.send.Close(context.Background())
			p.send = nil
		}
		return err
	}
	return nil
}

// isQueryError reports whether err came from a statement (the connection is fine).
func isQueryError(err error) bool {
	var pgErr interface{ SQLState() string }
	return errors.As(err, &pgErr)
}

// Close sends what waits in the outbox (a few seconds at most), stops listening and closes the
// connections. Safe to call more than once.
func (p *Postgres) Close() {
	p.once.Do(func() {
		t := time.AfterFunc(flushTimeout, p.flush)
		p.cancel()
		p.wg.Wait()
		t.Stop()
		p.flush()
		p.mu.Lock()
		if p.send != nil {
			_ = p.send.Close(context.Background())
			p.send = nil
		}
		p.mu.Unlock()
	})
}
