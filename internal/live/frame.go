package live

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Frame types the server sends.
const (
	TypeAuthenticated = "authenticated" // after a valid auth frame; data: the user
	TypeSubscribed    = "subscribed"    // channel: what was subscribed
	TypeUnsubscribed  = "unsubscribed"  // channel: what was unsubscribed
	TypeEvent         = "event"         // channel, seq, data: a run event
	TypeError         = "error"         // data: {"message": ...}; channel when it concerns one
	TypePong          = "pong"          // the answer to a client ping
)

// Channels.
const (
	ChannelRuns      = "runs"
	ChannelDashboard = "dashboard"
	runPrefix        = "run:"
	maxRunIDLen      = 64
)

// Frame is a message the server sends: {type, channel, seq, data}.
type Frame struct {
	Type    string          `json:"type"`
	Channel string          `json:"channel,omitempty"`
	Seq     int64           `json:"seq,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Encode returns the frame as JSON.
func (f Frame) Encode() []byte {
	b, err := json.Marshal(f)
	if err != nil { // Data is not valid JSON: a programming error
		panic(fmt.Sprintf("live: encode %s frame: %v", f.Type, err))
	}
	return b
}

// ErrorFrame is an error frame with message (and the channel it concerns, if any).
func ErrorFrame(channel, message string) []byte {
	data, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{message})
	return Frame{Type: TypeError, Channel: channel, Data: data}.Encode()
}

// CheckChannel reports whether name is a channel a client may subscribe to, with an error that
// says what is wrong and what is accepted.
func CheckChannel(name string) error {
	switch {
	case name == ChannelRuns || name == ChannelDashboard:
		return nil
	case name == "":
		return fmt.Errorf(`channel is missing: want "runs", "dashboard" or "run:<run id>"`)
	case strings.HasPrefix(name, runPrefix):
		id := name[len(runPrefix):]
		if id == "" || len(id) > maxRunIDLen || strings.IndexFunc(id, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}) >= 0 {
			return fmt.Errorf("channel %s: the run id must be 1 to %d letters, digits, '-' or '_'", strconv.Quote(truncate(name, 80)), maxRunIDLen)
		}
		return nil
	}
	return fmt.Errorf(`unknown channel %s: want "runs", "dashboard" or "run:<run id>"`, strconv.Quote(truncate(name, 80)))
}

// RunChannel is the channel of one run's events.
func RunChannel(runID string) string { return runPrefix + runID }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// eventFrame encodes the event frame of channel around data (the encoded event), without
// re-encoding data.
func eventFrame(channel string, seq int64, data []byte) []byte {
	ch, _ := json.Marshal(channel)
	b := make([]byte, 0, len(data)+len(ch)+48)
	b = append(b, `{"type":"event","channel":`...)
	b = append(b, ch...)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	return append(b, '}')
}

// DashboardData is the data of a dashboard event: the status event of a run and the counts of
// runs by status after it.
type DashboardData struct {
	runs.Event
	Counts *Counts `json:"counts,omitempty"`
}

// Counts are the numbers of runs queued and running.
type Counts struct {
	Queued  int `json:"queued"`
	Running int `json:"running"`
}

// StoreCounts returns a Counts function over the store: the totals of queued and running runs.
func StoreCounts(st *store.Store) func(context.Context) (Counts, error) {
	return func(ctx context.Context) (Counts, error) {
		var c Counts
		for _, x := range []struct {
			status store.RunStatus
			n      *int
		}{{store.RunQueued, &c.Queued}, {store.RunRunning, &c.Running}} {
			_, total, err := st.ListRuns(ctx, store.RunFilter{Status: []store.RunStatus{x.status}, Page: store.Page{Limit: 1}})
			if err != nil {
				return Counts{}, fmt.Errorf("count %s runs: %w", x.status, err)
			}
			*x.n = total
		}
		return c, nil
	}
}
