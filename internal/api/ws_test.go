package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/live"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

// wsClient is a real WebSocket client of GET /api/v1/ws.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	ctx  context.Context // bounds every read: a test that waits for a frame that never comes fails
}

// wsDial opens a WebSocket to the test server.
func (e *env) wsDial() *wsClient {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	e.t.Cleanup(cancel)
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/api/v1/ws", nil)
	if err != nil {
		e.t.Fatalf("dial /api/v1/ws: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		e.t.Fatalf("dial /api/v1/ws: status %d", resp.StatusCode)
	}
	c.SetReadLimit(1 << 20)
	e.t.Cleanup(func() { _ = c.CloseNow() })
	return &wsClient{t: e.t, conn: c, ctx: ctx}
}

// send writes v: a string is sent as it is, anything else as JSON.
func (w *wsClient) send(v any) {
	w.t.Helper()
	b, ok := v.(string)
	if !ok {
		raw, err := json.Marshal(v)
		if err != nil {
			w.t.Fatal(err)
		}
		b = string(raw)
	}
	if err := w.conn.Write(w.ctx, websocket.MessageText, []byte(b)); err != nil {
		w.t.Fatalf("send %s: %v", b, err)
	}
}

// next reads one frame.
func (w *wsClient) next() live.Frame {
	w.t.Helper()
	typ, b, err := w.conn.Read(w.ctx)
	if err != nil {
		w.t.Fatalf("read a frame: %v", err)
	}
	if typ != websocket.MessageText {
		w.t.Fatalf("got a binary frame")
	}
	var f live.Frame
	if err := json.Unmarshal(b, &f); err != nil {
		w.t.Fatalf("frame %s: %v", b, err)
	}
	return f
}

// expect reads one frame and checks its type.
func (w *wsClient) expect(typ string) live.Frame {
	w.t.Helper()
	f := w.next()
	if f.Type != typ {
		w.t.Fatalf("got frame %s %s %s, want a %s frame", f.Type, f.Channel, f.Data, typ)
	}
	return f
}

// errorMessage reads an error frame and returns its message.
func (w *wsClient) errorMessage() string {
	w.t.Helper()
	f := w.expect(live.TypeError)
	var d struct{ Message string }
	if err := json.Unmarshal(f.Data, &d); err != nil || d.Message == "" {
		w.t.Fatalf("error frame without a message: %s", f.Data)
	}
	return d.Message
}

// closed reads (skipping frames) until the server closes the connection and
// returns how.
func (w *wsClient) closed() websocket.CloseError {
	w.t.Helper()
	for {
		_, _, err := w.conn.Read(w.ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			w.t.Fatalf("connection ended without a close frame: %v", err)
		}
		return ce
	}
}

// auth sends the auth frame and expects the authenticated frame.
func (w *wsClient) auth(token string) wsUser {
	w.t.Helper()
	w.send(map[string]string{"type": "auth", "token": token})
	var u wsUser
	if err := json.Unmarshal(w.expect(live.TypeAuthenticated).Data, &u); err != nil {
		w.t.Fatal(err)
	}
	return u
}

// subscribe subscribes and expects the confirmation.
func (w *wsClient) subscribe(channel string) {
	w.t.Helper()
	w.send(map[string]string{"type": "subscribe", "channel": channel})
	if f := w.expect(live.TypeSubscribed); f.Channel != channel {
		w.t.Fatalf("subscribed to %q, want %q", f.Channel, channel)
	}
}

// checkLiveAccess is the route-by-role check of GET /api/v1/ws: the
// anonymous caller is closed with a policy violation, a role with perm is
// subscribed, any other gets an error frame naming the permission.
func (e *env) checkLiveAccess(t *testing.T, caller, token string, role auth.Role, perm auth.Permission) {
	t.Helper()
	w := e.wsDial()
	defer w.conn.CloseNow()
	if token == "" {
		w.send(map[string]string{"type": "auth", "token": ""})
		if ce := w.closed(); ce.Code != websocket.StatusPolicyViolation || !strings.Contains(ce.Reason, "authentication failed") {
			t.Errorf("GET /api/v1/ws as %s: closed %d %q, want 1008 authentication failed", caller, ce.Code, ce.Reason)
		}
		return
	}
	if u := w.auth(token); u.Role != role {
		t.Errorf("GET /api/v1/ws as %s: authenticated as role %s", caller, u.Role)
	}
	w.send(map[string]string{"type": "subscribe", "channel": live.ChannelRuns})
	f := w.next()
	switch {
	case auth.Can(role, perm) && f.Type != live.TypeSubscribed:
		t.Errorf("GET /api/v1/ws as %s: subscribe answered %s %s, want subscribed", caller, f.Type, f.Data)
	case !auth.Can(role, perm) && (f.Type != live.TypeError || !strings.Contains(string(f.Data), "lacks permission "+string(perm))):
		t.Errorf("GET /api/v1/ws as %s: subscribe answered %s %s, want an error naming %s", caller, f.Type, f.Data, perm)
	}
}

func TestLiveAuthentication(t *testing.T) {
	e := setup(t, setupOptions{liveAuthTimeout: 300 * time.Millisecond})
	apiToken, _, err := e.auth.CreateAPIToken(context.Background(), e.users[auth.RoleViewer].ID, "live", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, first string // first frame; "" sends nothing
		reason      string // close reason (policy violation)
	}{
		{"silent client", "", "authentication required"},
		{"invalid JSON", `{"type":"auth"`, "invalid JSON"},
		{"not an auth frame", `{"type":"subscribe","channel":"runs"}`, `got type "subscribe"`},
		{"bad token", `{"type":"auth","token":"not-a-token"}`, "authentication failed: invalid or expired token"},
		{"unknown field", `{"type":"auth","token":"x","user":"admin"}`, `unknown field "user"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.wsDial()
			if tc.first != "" {
				w.send(tc.first)
			}
			// Nothing is sent before the close: the first read is the close.
			_, b, err := w.conn.Read(w.ctx)
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("read %s, %v; want the close", b, err)
			}
			if ce.Code != websocket.StatusPolicyViolation || !strings.Contains(ce.Reason, tc.reason) {
				t.Fatalf("closed %d %q, want 1008 with %q", ce.Code, ce.Reason, tc.reason)
			}
			if strings.Contains(ce.Reason, "not-a-token") {
				t.Fatalf("the close reason echoes the token: %q", ce.Reason)
			}
		})
	}
	t.Run("access token", func(t *testing.T) {
		u := e.wsDial().auth(e.tokens[auth.RoleDesigner])
		if u.Username != e.users[auth.RoleDesigner].Username || u.Role != auth.RoleDesigner || u.UserID == "" {
			t.Fatalf("authenticated as %+v", u)
		}
	})
	t.Run("API token", func(t *testing.T) {
		w := e.wsDial()
		if u := w.auth(apiToken); u.Role != auth.RoleViewer {
			t.Fatalf("authenticated as %+v", u)
		}
		w.subscribe(live.ChannelRuns)
	})
	t.Run("plain GET", func(t *testing.T) {
		r := e.do(http.MethodGet, "/api/v1/ws", e.tokens[auth.RoleViewer], nil)
		if r.status != http.StatusUpgradeRequired || !strings.Contains(r.problem(t).Detail, "WebSocket") {
			t.Fatalf("plain GET: %d %s", r.status, r.body)
		}
	})
}

// heldSpec is a pipeline whose source holds after `hold` rows until the test releases it.
func heldSpec(rows, hold int) string {
	return "version: 1\nname: held\nsources: [{id: src, type: held, config: {rows: " + itoa(rows) + ", hold: " + itoa(hold) + "}}]\n" +
		"destinations: [{id: out, type: csv, inputs: [src], config: {path: held.csv}, write: {mode: overwrite}}]\n"
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// startRun saves spec and queues a run of it as the designer.
func (e *env) startRun(spec string) Run {
	e.t.Helper()
	r := e.do(http.MethodPost, "/api/v1/pipelines", e.tokens[auth.RoleDesigner], spec)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create: %d %s", r.status, r.body)
	}
	var p Pipeline
	r.decode(e.t, &p)
	var run Run
	r = e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", e.tokens[auth.RoleDesigner], nil)
	if r.status != http.StatusAccepted {
		e.t.Fatalf("run: %d %s", r.status, r.body)
	}
	r.decode(e.t, &run)
	return run
}

// TestLiveRunEvents: while a real run executes, a viewer subscribed to the run gets its status,
// progress and log lines with seq going up by one; "runs" carries status and progress only;
// "dashboard" carries status changes with counts. A role without runs:read receives nothing.
func TestLiveRunEvents(t *testing.T) {
	held := heldSource{release: make(chan struct{})}
	e := setup(t, setupOptions{connectors: []connector.Connector{held}, runOpts: func(o *runs.Options) {
		o.ProgressInterval = 20 * time.Millisecond
	}})
	w := e.wsDial()
	w.auth(e.tokens[auth.RoleViewer])
	w.subscribe(live.ChannelRuns)
	w.subscribe(live.ChannelDashboard)

	outsider := e.wsDial()
	outsider.auth(e.tokens[auth.RoleExecutive])
	for _, ch := range []string{live.ChannelRuns, live.ChannelDashboard, "run:x1"} {
		outsider.send(map[string]string{"type": "subscribe", "channel": ch})
		if m := outsider.errorMessage(); m != "role executive lacks permission runs:read" {
			t.Fatalf("executive subscribing to %s: %q", ch, m)
		}
	}

	run := e.startRun(heldSpec(100, 40))
	defer close(held.release)
	runCh := live.RunChannel(run.ID)
	w.send(map[string]string{"type": "subscribe", "channel": runCh})

	type event struct {
		seq int64
		ev  live.DashboardData
	}
	byChannel := map[string][]event{}
	released, subscribed := false, false
	for done := false; !done; {
		f := w.next()
		switch f.Type {
		case live.TypeSubscribed:
			subscribed = subscribed || f.Channel == runCh
			continue
		case live.TypeEvent:
		default:
			t.Fatalf("unexpected frame %s %s", f.Type, f.Data)
		}
		var d live.DashboardData
		if err := json.Unmarshal(f.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d.RunID != run.ID || d.Seq != f.Seq {
			t.Fatalf("frame seq %d for event %+v of run %s", f.Seq, d.Event, run.ID)
		}
		if f.Channel == runCh && !subscribed {
			t.Fatalf("an event of %s came before its subscribed frame", runCh)
		}
		byChannel[f.Channel] = append(byChannel[f.Channel], event{f.Seq, d})
		// The source holds at 40 rows: release it once the run's channel showed them.
		if f.Channel == runCh && d.Type == runs.EventProgress && !released && d.Progress.RowsRead >= 40 {
			held.release <- struct{}{}
			released = true
		}
		done = f.Channel == live.ChannelDashboard && d.Status == store.RunSucceeded
	}

	one := byChannel[runCh]
	types := map[string]int{}
	var logs []string
	for i, ev := range one {
		if i > 0 && ev.seq != one[i-1].seq+1 {
			t.Fatalf("%s: seq %d after %d", runCh, ev.seq, one[i-1].seq)
		}
		types[ev.ev.Type]++
		if ev.ev.Type == runs.EventLog {
			logs = append(logs, ev.ev.Log.Level+": "+ev.ev.Log.Message)
		}
	}
	if types[runs.EventProgress] == 0 || types[runs.EventLog] == 0 || one[len(one)-1].ev.Status != store.RunSucceeded {
		t.Fatalf("%s events: %v, last %+v", runCh, types, one[len(one)-1].ev.Event)
	}
	if last := logs[len(logs)-1]; !strings.HasPrefix(last, "info: run succeeded: 100 rows read, 100 written") {
		t.Fatalf("last live log line %q", last)
	}
	all := byChannel[live.ChannelRuns]
	if all[0].ev.Status != store.RunQueued || all[0].seq != 1 || all[len(all)-1].ev.Status != store.RunSucceeded {
		t.Fatalf("runs channel from %+v to %+v", all[0].ev.Event, all[len(all)-1].ev.Event)
	}
	for i, ev := range all {
		if ev.ev.Type == runs.EventLog || (i > 0 && ev.seq <= all[i-1].seq) {
			t.Fatalf("runs channel event %d: %s seq %d (previous %d)", i, ev.ev.Type, ev.seq, all[max(i-1, 0)].seq)
		}
	}
	dash := byChannel[live.ChannelDashboard]
	final := dash[len(dash)-1].ev
	for _, ev := range dash {
		if ev.ev.Type != runs.EventStatus || ev.ev.Counts == nil {
			t.Fatalf("dashboard event %+v without counts or not a status change", ev.ev)
		}
	}
	if *final.Counts != (live.Counts{}) {
		t.Fatalf("dashboard counts after the only run succeeded: %+v", *final.Counts)
	}

	// The executive received nothing: the next frame is the answer to its ping.
	outsider.send(`{"type":"ping"}`)
	outsider.expect(live.TypePong)
}

// TestLiveBadFrames: each bad frame gets an error frame that says what was wrong; the
// connection and the server go on.
func TestLiveBadFrames(t *testing.T) {
	e := setup(t, setupOptions{})
	w := e.wsDial()
	w.auth(e.tokens[auth.RoleViewer])
	for _, tc := range []struct{ frame, want string }{
		{`{"type":"subscribe","channel":`, "invalid JSON"},
		{`not json at all`, "invalid JSON"},
		{`[1,2]`, "a frame must be a JSON object"},
		{`{"type":5}`, `field "type" must be a string`},
		{`{"channel":"runs"}`, `field "type" is missing`},
		{`{"type":"dance"}`, `unknown frame type "dance"`},
		{`{"type":"subscribe","channel":"everything"}`, `unknown channel "everything"`},
		{`{"type":"subscribe"}`, "channel is missing"},
		{`{"type":"subscribe","channel":"run:../../etc"}`, "the run id must be"},
		{`{"type":"subscribe","channel":"runs","extra":1}`, `unknown field "extra"`},
		{`{"type":"ping"}{"type":"ping"}`, "one JSON object per message"},
		{`{"type":"unsubscribe","channel":"runs"}`, `not subscribed to channel "runs"`},
		{`{"type":"auth","token":"x"}`, "already authenticated"},
	} {
		w.send(tc.frame)
		if m := w.errorMessage(); !strings.Contains(m, tc.want) {
			t.Errorf("frame %s: error %q, want it to contain %q", tc.frame, m, tc.want)
		}
	}
	if err := w.conn.Write(w.ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if m := w.errorMessage(); !strings.Contains(m, "binary frames are not accepted") {
		t.Errorf("binary frame: %q", m)
	}
	// The connection still works, and so does the server.
	w.send(`{"type":"ping"}`)
	w.expect(live.TypePong)
	w.subscribe(live.ChannelRuns)
	w.send(`{"type":"unsubscribe","channel":"runs"}`)
	if f := w.expect(live.TypeUnsubscribed); f.Channel != live.ChannelRuns {
		t.Fatalf("unsubscribed %q", f.Channel)
	}
	if r := e.do(http.MethodGet, "/healthz", "", nil); r.status != http.StatusOK {
		t.Fatalf("healthz after bad frames: %d", r.status)
	}
}

// TestLiveSlowClientDropped: a client that stops reading is dropped with code 4000 once its
// send buffer is full, while a real run goes on and succeeds; other clients are served.
func TestLiveSlowClientDropped(t *testing.T) {
	held := heldSource{release: make(chan struct{})}
	e := setup(t, setupOptions{connectors: []connector.Connector{held}, live: live.Options{SendBuffer: 8}})
	slow := e.wsDial()
	slow.auth(e.tokens[auth.RoleViewer])
	slow.subscribe(live.ChannelRuns)
	// From here the slow client reads nothing until it has been dropped.

	// Fill the connection: large events until the socket buffers are full, the send buffer
	// fills up and the hub drops the client. Publishing never waits for it.
	big := strings.Repeat("x", 16<<10)
	broker := e.data.runs.Broker()
	deadline := time.Now().Add(30 * time.Second)
	for i := int64(1); e.hub.Stats().Dropped == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("the slow client was not dropped within 30s")
		}
		broker.Publish(runs.Event{Type: runs.EventStatus, RunID: "flood", Seq: i, Status: store.RunRunning, Error: big})
	}
	// A real run executes meanwhile and is not held up by the slow client.
	run := e.startRun(heldSpec(100, 1000))
	if got := e.awaitRun(run.ID); got.Status != "succeeded" {
		t.Fatalf("run with a slow client connected: %+v", got)
	}
	ce := slow.closed()
	if ce.Code != 4000 || !strings.Contains(ce.Reason, "send buffer full") {
		t.Fatalf("slow client closed %d %q, want 4000 send buffer full", ce.Code, ce.Reason)
	}
	other := e.wsDial()
	other.auth(e.tokens[auth.RoleViewer])
	other.send(`{"type":"ping"}`)
	other.expect(live.TypePong)
	if s := e.hub.Stats(); s.Dropped != 1 {
		t.Fatalf("hub stats %+v, want exactly one client dropped", s)
	}
}

// TestLiveConnectionCap: a user's connection beyond the cap is refused with 1013 and a message
// naming the limit; closing one makes room again. Other users are not affected.
func TestLiveConnectionCap(t *testing.T) {
	e := setup(t, setupOptions{live: live.Options{MaxClientsPerUser: 2}})
	token := e.tokens[auth.RoleViewer]
	first := e.wsDial()
	first.auth(token)
	e.wsDial().auth(token)

	third := e.wsDial()
	third.send(map[string]string{"type": "auth", "token": token})
	ce := third.closed()
	if ce.Code != websocket.StatusTryAgainLater || !strings.Contains(ce.Reason, "too many live connections") || !strings.Contains(ce.Reason, "the limit is 2") {
		t.Fatalf("third connection closed %d %q, want 1013 naming the limit", ce.Code, ce.Reason)
	}
	e.wsDial().auth(e.tokens[auth.RoleDesigner]) // another user

	if err := first.conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	// The server lets go of the closed connection (bounded wait), then a new one fits.
	deadline := time.Now().Add(10 * time.Second)
	for e.hub.Stats().Clients != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("hub still has %d clients after one closed", e.hub.Stats().Clients)
		}
		time.Sleep(10 * time.Millisecond) // polling interval of a bounded loop
	}
	e.wsDial().auth(token)
}

// TestLiveTokenCheckedAtEachPing: the server pings, and a connection whose API token was revoked
// is closed with 1008 at the next ping; a valid one stays.
func TestLiveTokenCheckedAtEachPing(t *testing.T) {
	e := setup(t, setupOptions{livePing: 50 * time.Millisecond})
	owner := e.users[auth.RoleViewer].ID
	token, info, err := e.auth.CreateAPIToken(context.Background(), owner, "live-revoked", nil)
	if err != nil {
		t.Fatal(err)
	}
	w := e.wsDial()
	w.auth(token)
	w.subscribe(live.ChannelRuns)
	stays := e.wsDial()
	stays.auth(e.tokens[auth.RoleViewer])

	if err := e.auth.RevokeAPIToken(context.Background(), owner, info.ID); err != nil {
		t.Fatal(err)
	}
	ce := w.closed()
	if ce.Code != websocket.StatusPolicyViolation || !strings.Contains(ce.Reason, "token no longer valid") {
		t.Fatalf("revoked token: closed %d %q, want 1008 token no longer valid", ce.Code, ce.Reason)
	}
	stays.send(`{"type":"ping"}`)
	stays.expect(live.TypePong)
}
