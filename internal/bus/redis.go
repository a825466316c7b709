package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataaggregator/aggregator/internal/runs"
)

// seqTTL is how long a run's counter key lives after its last event when the run's last event
// (which deletes it) never comes, e.g. after a crash.
const seqTTL = 24 * time.Hour

// receiveTimeout is how long the subscriber waits for a message before it pings the server, to
// notice a dead connection.
const receiveTimeout = 30 * time.Second

// numberAndPublish numbers an event in the run's counter key (KEYS[1]; ARGV[3] when it has none)
// and publishes "<seq> <event JSON>" (ARGV[2]) on the channel (ARGV[1]) in one step, so that the
// numbers of a run reach subscribers in order whichever process publishes. The key expires after
// ARGV[4] ms, or goes at once with the run's last event (ARGV[5] = "1").
var numberAndPublish = redis.NewScript(`
local s = redis.call('INCR', KEYS[1])
local first = tonumber(ARGV[3])
if s < first then
  s = first
  redis.call('SET', KEYS[1], s)
end
if ARGV[5] == '1' then
  redis.call('DEL', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
redis.call('PUBLISH', ARGV[1], string.format('%d', s) .. ' ' .. ARGV[2])
return s
`)

// RedisOptions configure a Redis bus.
type RedisOptions struct {
	// Client is the Redis the deployment shares (REDIS_URL). Required; Close leaves it open.
	Client *redis.Client
	// Prefix namespaces the channel and the keys ("aggregator:" when empty): the channel is
	// <prefix>events, a run's counter <prefix>events:seq:<run id>.
	Prefix string
	// Outbox is how many events may wait to be sent (DefaultOutbox when 0).
	Outbox int
	Logger *slog.Logger
}

// Redis is the runs.Bus over Redis pub/sub. Build it with NewRedis.
type Redis struct {
	*outbox
	client  *redis.Client
	prefix  string
	channel string
	ps      *redis.PubSub
	cancel  context.CancelFunc
	flush   context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
}

var _ runs.Bus = (*Redis)(nil)

// NewRedis subscribes to the channel and starts publishing; the error says when Redis cannot be
// reached.
func NewRedis(ctx context.Context, o RedisOptions) (*Redis, error) {
	if o.Client == nil {
		return nil, errors.New("event bus: Redis: a client is required")
	}
	if o.Prefix == "" {
		o.Prefix = "aggregator:"
	}
	r := &Redis{outbox: newOutbox(o.Outbox, o.Logger), client: o.Client, prefix: o.Prefix, channel: o.Prefix + "events"}
	r.ps = o.Client.Subscribe(ctx, r.channel)
	// The first message is the confirmation of the subscription (or the error).
	if _, err := r.ps.ReceiveTimeout(ctx, 5*time.Second); err != nil {
		_ = r.ps.Close()
		return nil, fmt.Errorf("event bus: Redis: subscribe to %s at %s: %w", r.channel, o.Client.Options().Addr, err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	flushCtx, flush := context.WithCancel(context.Background())
	r.cancel, r.flush = cancel, flush
	r.wg.Go(func() { r.receive(runCtx) })
	r.wg.Go(func() { r.sendLoop(runCtx, flushCtx, "redis", r.publish) })
	return r, nil
}

// Channel is the pub/sub channel.
func (r *Redis) Channel() string { return r.channel }

// receive hands every message to the local broker. go-redis reopens a dropped connection and
// subscribes again on the next Receive; this logs it.
func (r *Redis) receive(ctx context.Context) {
	lost := false
	for attempt := 0; ; {
		msg, err := r.ps.ReceiveTimeout(ctx, receiveTimeout)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				_ = r.ps.Ping(ctx) // a dead connection fails the next Receive
				continue
			}
			if !lost {
				r.log.Warn("event bus: Redis: subscription connection lost; reconnecting", "error", err)
			}
			lost = true
			if !wait(ctx, attempt) {
				return
			}
			attempt++
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if lost {
				r.log.Info("event bus: Redis: subscribed again; events published while disconnected were lost", "channel", m.Channel)
			}
			lost, attempt = false, 0
		case *redis.Message:
			e, err := decode(m.Payload)
			if err != nil {
				r.log.Warn("event bus: Redis: dropped a message", "channel", m.Channel, "error", err)
				continue
			}
			r.Deliver(e)
		}
	}
}

// publish sends a batch in one pipeline (one round trip).
func (r *Redis) publish(ctx context.Context, events []runs.Event) error {
	pipe := r.client.Pipeline()
	for _, e := range events {
		data, err := encode(e)
		if err != nil {
			r.lost.Add(1)
			continue
		}
		if e.Seq == 0 {
			ends := "0"
			if e.Ends() {
				ends = "1"
			}
			numberAndPublish.Eval(ctx, pipe, []string{r.seqKey(e.RunID)}, r.channel, data,
				runs.SeqQueued+1, seqTTL.Milliseconds(), ends)
			continue
		}
		pipe.Publish(ctx, r.channel, strconv.FormatInt(e.Seq, 10)+" "+string(data))
		if e.Ends() {
			pipe.Del(ctx, r.seqKey(e.RunID))
		}
	}
	if pipe.Len() == 0 {
		return nil
	}
	_, err := pipe.Exec(ctx)
	return err
}

func (r *Redis) seqKey(runID string) string { return r.prefix + "events:seq:" + runID }

// Close sends what waits in the outbox (a few seconds at most) and stops receiving; the client
// stays open. Safe to call more than once.
func (r *Redis) Close() {
	r.once.Do(func() {
		t := time.AfterFunc(flushTimeout, r.flush)
		r.cancel()
		_ = r.ps.Close() // ends a Receive in progress
		r.wg.Wait()
		t.Stop()
		r.flush()
	})
}
