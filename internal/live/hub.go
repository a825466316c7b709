package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dataaggregator/aggregator/internal/runs"
)

// Defaults of Options.
const (
	DefaultSendBuffer        = 256
	DefaultMaxClientsPerUser = 20
	DefaultEventBuffer       = 4096
	// MaxChannelsPerClient caps the channels one client may subscribe to.
	MaxChannelsPerClient = 100
)

var (
	// ErrSlowClient ends a client whose send buffer was full: it did not read its frames in time.
	ErrSlowClient = errors.New("send buffer full: the client did not read its frames in time")
	// ErrShutdown ends every client when the hub stops.
	ErrShutdown = errors.New("the server is shutting down")
	// ErrTooManyClients refuses a client beyond the cap of its user (the error names the cap).
	ErrTooManyClients = errors.New("too many live connections")
)

// Options configure a Hub.
type Options struct {
	// SendBuffer is how many frames a client may have waiting before it is dropped (default 256).
	SendBuffer int
	// MaxClientsPerUser caps the clients one user may have at once (default 20).
	MaxClientsPerUser int
	// EventBuffer is how many events the hub may have waiting from the source (default 4096).
	EventBuffer int
	// Counts returns the counts of queued and running runs that dashboard events carry; when nil
	// they carry none. It is called from the hub's dashboard goroutine, never from the fan-out.
	Counts func(context.Context) (Counts, error)
	Logger *slog.Logger
}

// Source is where the hub takes run events from: the run service's bus (runs.Bus), which
// carries the events of every process.
type Source interface {
	Subscribe(filter func(runs.Event) bool, buffer int) (<-chan runs.Event, func())
}

// Hub fans run events out to clients. Build it with New and call Run once.
type Hub struct {
	events <-chan runs.Event // the subscription to the source, taken by New
	stop   func()            // ends it
	opts   Options
	log    *slog.Logger

	mu      sync.Mutex
	subs    map[string]map[*Client]struct{} // channel -> its clients
	clients map[*Client]struct{}
	perUser map[string]int
	stopped bool

	dropped atomic.Int64 // clients dropped for being slow
}

// New returns a hub subscribed to the source's events; Run fans them out (events published
// before Run starts wait in the subscription's buffer).
func New(source Source, o Options) (*Hub, error) {
	if source == nil {
		return nil, errors.New("live: an event source (runs.Bus) is required")
	}
	if o.SendBuffer < 0 || o.MaxClientsPerUser < 0 || o.EventBuffer < 0 {
		return nil, fmt.Errorf("live: SendBuffer, MaxClientsPerUser and EventBuffer must not be negative")
	}
	if o.SendBuffer == 0 {
		o.SendBuffer = DefaultSendBuffer
	}
	if o.MaxClientsPerUser == 0 {
		o.MaxClientsPerUser = DefaultMaxClientsPerUser
	}
	if o.EventBuffer == 0 {
		o.EventBuffer = DefaultEventBuffer
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	events, stop := source.Subscribe(nil, o.EventBuffer)
	return &Hub{events: events, stop: stop, opts: o, log: o.Logger,
		subs: map[string]map[*Client]struct{}{}, clients: map[*Client]struct{}{}, perUser: map[string]int{}}, nil
}

// MaxClientsPerUser is the cap Connect enforces.
func (h *Hub) MaxClientsPerUser() int { return h.opts.MaxClientsPerUser }

// Stats are a hub's counters.
type Stats struct {
	Clients int   // connected now
	Dropped int64 // dropped for being slow, since the start
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Stats{Clients: len(h.clients), Dropped: h.dropped.Load()}
}

// Run fans events out until ctx is done, then ends every client with ErrShutdown and refuses new
// ones. It returns nil when ctx is done.
func (h *Hub) Run(ctx context.Context) error {
	defer h.stop()
	events := h.events
	dash := make(chan runs.Event, 256)
	var wg sync.WaitGroup
	wg.Go(func() { h.dashboard(ctx, dash) })
	defer func() {
		close(dash)
		wg.Wait()
		h.shutdown()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			h.fanout(ev, dash)
		}
	}
}

// fanout sends ev to the channels it belongs to. It never blocks on a client.
func (h *Hub) fanout(ev runs.Event, dash chan<- runs.Event) {
	toAll := ev.Type == runs.EventStatus || ev.Type == runs.EventProgress
	toDash := ev.Type == runs.EventStatus
	runCh := RunChannel(ev.RunID)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs[runCh]) == 0 && (!toAll || len(h.subs[ChannelRuns]) == 0) && (!toDash || len(h.subs[ChannelDashboard]) == 0) {
		return
	}
	data, err := json.Marshal(ev)
	if err != nil {
		h.log.Error("live: encode run event", "run_id", ev.RunID, "type", ev.Type, "error", err)
		return
	}
	h.deliverLocked(runCh, ev.Seq, data)
	if toAll {
		h.deliverLocked(ChannelRuns, ev.Seq, data)
	}
	if toDash && len(h.subs[ChannelDashboard]) > 0 {
		if h.opts.Counts == nil {
			h.deliverDashboardLocked(DashboardData{Event: ev})
			return
		}
		select {
		case dash <- ev:
		default: // the dashboard goroutine is behind: its clients see a gap in the numbers
		}
	}
}

// dashboard sends the status events it receives to the dashboard channel with the counts of
// runs taken after each.
func (h *Hub) dashboard(ctx context.Context, events <-chan runs.Event) {
	for ev := range events {
		if ctx.Err() != nil {
			continue // drain until Run closes the channel
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := h.opts.Counts(cctx)
		cancel()
		d := DashboardData{Event: ev}
		if err != nil {
			h.log.Warn("live: dashboard counts", "error", err)
		} else {
			d.Counts = &c
		}
		h.mu.Lock()
		h.deliverDashboardLocked(d)
		h.mu.Unlock()
	}
}

func (h *Hub) deliverDashboardLocked(d DashboardData) {
	data, err := json.Marshal(d)
	if err != nil {
		h.log.Error("live: encode dashboard event", "run_id", d.RunID, "error", err)
		return
	}
	h.deliverLocked(ChannelDashboard, d.Seq, data)
}

// deliverLocked queues the event frame of channel for its clients; a client whose queue is full
// is dropped.
func (h *Hub) deliverLocked(channel string, seq int64, data []byte) {
	subs := h.subs[channel]
	if len(subs) == 0 {
		return
	}
	frame := eventFrame(channel, seq, data)
	for c := range subs {
		select {
		case c.send <- frame:
		default:
			h.dropped.Add(1)
			h.endLocked(c, ErrSlowClient)
		}
	}
}

// shutdown ends every client and refuses new ones.
func (h *Hub) shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	for c := range h.clients {
		h.endLocked(c, ErrShutdown)
	}
}

// Connect registers a client of user. It fails with ErrTooManyClients when the user has
// MaxClientsPerUser clients already, and with ErrShutdown after Run has ended.
func (h *Hub) Connect(userID string) (*Client, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return nil, ErrShutdown
	}
	if n := h.perUser[userID]; n >= h.opts.MaxClientsPerUser {
		return nil, fmt.Errorf("%w: this user has %d open, the limit is %d; close one (another tab?) and reconnect",
			ErrTooManyClients, n, h.opts.MaxClientsPerUser)
	}
	c := &Client{hub: h, user: userID, send: make(chan []byte, h.opts.SendBuffer), done: make(chan struct{}),
		channels: map[string]struct{}{}}
	h.clients[c] = struct{}{}
	h.perUser[userID]++
	return c, nil
}

// endLocked removes c from the hub and closes its Done channel with err (nil: it left).
func (h *Hub) endLocked(c *Client, err error) {
	if _, ok := h.clients[c]; !ok {
		return
	}
	delete(h.clients, c)
	if h.perUser[c.user]--; h.perUser[c.user] <= 0 {
		delete(h.perUser, c.user)
	}
	for ch := range c.channels {
		if subs := h.subs[ch]; subs != nil {
			delete(subs, c)
			if len(subs) == 0 {
				delete(h.subs, ch)
			}
		}
	}
	c.err = err
	close(c.done)
}

// Client is one connection's place in the hub. Its owner reads Frames and writes them to the
// connection until Done is closed, and calls Close when the connection ends.
type Client struct {
	hub      *Hub
	user     string
	send     chan []byte
	done     chan struct{}
	err      error               // why done was closed; written before the close
	channels map[string]struct{} // guarded by hub.mu
}

// Frames are the encoded frames to write, in order.
func (c *Client) Frames() <-chan []byte { return c.send }

// Done is closed when the hub ends the client (Err says why) or Close was called.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the client ended: ErrSlowClient, ErrShutdown, or nil after Close. Call it after
// Done is closed.
func (c *Client) Err() error {
	<-c.done
	return c.err
}

// Close removes the client from the hub. Safe to call more than once.
func (c *Client) Close() {
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	c.hub.endLocked(c, nil)
}

// Send queues a frame (a reply to the client: pong, error). It reports false when the client
// has ended; a client whose queue is full ends with ErrSlowClient.
func (c *Client) Send(frame []byte) bool {
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	return c.sendLocked(frame)
}

func (c *Client) sendLocked(frame []byte) bool {
	if _, ok := c.hub.clients[c]; !ok {
		return false
	}
	select {
	case c.send <- frame:
		return true
	default:
		c.hub.dropped.Add(1)
		c.hub.endLocked(c, ErrSlowClient)
		return false
	}
}

// Subscribe adds the client to channel and queues the "subscribed" frame before any event of
// it. The error names what is wrong with channel (CheckChannel) or says the client has ended.
func (c *Client) Subscribe(channel string) error {
	if err := CheckChannel(channel); err != nil {
		return err
	}
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; !ok {
		return errors.New("the client has ended")
	}
	if _, ok := c.channels[channel]; !ok {
		if len(c.channels) >= MaxChannelsPerClient {
			return fmt.Errorf("too many subscriptions: at most %d channels per connection; unsubscribe from one first", MaxChannelsPerClient)
		}
		c.channels[channel] = struct{}{}
		if h.subs[channel] == nil {
			h.subs[channel] = map[*Client]struct{}{}
		}
		h.subs[channel][c] = struct{}{}
	}
	c.sendLocked(Frame{Type: TypeSubscribed, Channel: channel}.Encode())
	return nil
}

// Unsubscribe removes the client from channel and queues the "unsubscribed" frame; no event of
// channel follows it. Unsubscribing from a channel the client is not subscribed to is an error.
func (c *Client) Unsubscribe(channel string) error {
	if err := CheckChannel(channel); err != nil {
		return err
	}
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := c.channels[channel]; !ok {
		return fmt.Errorf("not subscribed to channel %q", channel)
	}
	delete(c.channels, channel)
	if subs := h.subs[channel]; subs != nil {
		delete(subs, c)
		if len(subs) == 0 {
			delete(h.subs, channel)
		}
	}
	c.sendLocked(Frame{Type: TypeUnsubscribed, Channel: channel}.Encode())
	return nil
}

// UnsubscribeAll removes the client from every channel, queues an "unsubscribed" frame for each
// and returns them (when its user lost the permission to read runs).
func (c *Client) UnsubscribeAll() []string {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for ch := range c.channels {
		delete(c.channels, ch)
		if subs := h.subs[ch]; subs != nil {
			delete(subs, c)
			if len(subs) == 0 {
				delete(h.subs, ch)
			}
		}
		c.sendLocked(Frame{Type: TypeUnsubscribed, Channel: ch}.Encode())
		out = append(out, ch)
	}
	slices.Sort(out)
	return out
}
