package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/live"
)

// LiveDeps configure GET /api/v1/ws (live updates). Without a Hub the route
// answers 503.
type LiveDeps struct {
	// Hub fans run events out to the connections; the caller runs it.
	Hub *live.Hub
	// AuthTimeout is how long a new connection has to send its auth frame
	// (default 10s).
	AuthTimeout time.Duration
	// PingInterval is how often the server pings each connection and checks
	// that its token is still valid (default 30s).
	PingInterval time.Duration
}

// WebSocket close codes of /api/v1/ws besides the standard ones (docs/api.md).
const (
	// wsCloseSlowClient: the connection did not read its frames in time and
	// its send buffer filled up. Reconnect, resubscribe and refetch.
	wsCloseSlowClient websocket.StatusCode = 4000
)

const (
	wsMaxClientFrame = 8 << 10 // bytes; an auth frame with a token fits
	// wsPermission is what subscribing to any channel requires, as the REST
	// routes that read runs do.
	wsPermission = auth.PermRunsRead
)

// clientFrame is a message a client sends: {"type": "auth", "token": ...},
// {"type": "subscribe"|"unsubscribe", "channel": ...} or {"type": "ping"}.
type clientFrame struct {
	Type    string `json:"type"`
	Channel string `json:"channel,omitempty"`
	Token   string `json:"token,omitempty"`
}

// wsUser is the data of the "authenticated" frame.
type wsUser struct {
	UserID   string    `json:"user_id"`
	Username string    `json:"username"`
	Role     auth.Role `json:"role"`
}

type liveInput struct {
	Upgrade    string `header:"Upgrade" doc:"websocket"`
	Connection string `header:"Connection" doc:"Upgrade"`
}

// liveUpdates is GET /api/v1/ws: it upgrades the request to a WebSocket and
// serves the live-updates protocol on it (docs/api.md, "Live updates").
func (s *Server) liveUpdates(_ context.Context, in *liveInput) (*huma.StreamResponse, error) {
	if s.live.Hub == nil {
		return nil, huma.Error503ServiceUnavailable("live updates are not configured on this server")
	}
	if !strings.EqualFold(in.Upgrade, "websocket") || !headerHasToken(in.Connection, "upgrade") {
		return nil, huma.NewError(http.StatusUpgradeRequired,
			"this route speaks WebSocket: open it with a WebSocket client (Upgrade: websocket); see docs/api.md, Live updates")
	}
	return &huma.StreamResponse{Body: func(ctx huma.Context) {
		r, w := humago.Unwrap(ctx)
		s.serveLive(w, r)
	}}, nil
}

// headerHasToken reports whether a comma-separated header value holds token
// (case-insensitive).
func headerHasToken(v, token string) bool {
	for part := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}

// wsOriginPatterns are the hosts of the CORS origins: browsers on those
// origins may open the WebSocket besides the server's own origin.
func wsOriginPatterns(origins []string) []string {
	var hosts []string
	for _, o := range origins {
		if o == "*" {
			return []string{"*"}
		}
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			hosts = append(hosts, u.Host)
		}
	}
	return hosts
}

func (s *Server) serveLive(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.wsOrigins})
	if err != nil {
		return // Accept has answered the request (426, 403, ...)
	}
	conn.SetReadLimit(wsMaxClientFrame)
	// The request's goroutine returns now: it carries the stack of the whole
	// middleware chain, and a connection may stay open for hours. The
	// connection lives on in goroutines with small stacks until the client
	// leaves, the auth timeout passes or the hub ends it (slow client,
	// shutdown).
	go s.liveSession(context.WithoutCancel(r.Context()), conn)
}

// liveSession serves one upgraded connection: auth frame, then the reader
// (client frames) and the writer (frames from the hub, pings).
func (s *Server) liveSession(ctx context.Context, conn *websocket.Conn) {
	defer conn.CloseNow()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	token, p, err := s.liveAuth(ctx, conn)
	if err != nil {
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			_ = conn.Close(ce.Code, ce.Reason)
		}
		return
	}
	client, err := s.live.Hub.Connect(p.UserID)
	if err != nil {
		code := websocket.StatusTryAgainLater
		if errors.Is(err, live.ErrShutdown) {
			code = websocket.StatusGoingAway
		}
		_ = conn.Close(code, closeReason(err.Error()))
		return
	}
	defer client.Close()
	data, _ := json.Marshal(wsUser{UserID: p.UserID, Username: p.Username, Role: p.Role})
	client.Send(live.Frame{Type: live.TypeAuthenticated, Data: data}.Encode())

	lc := &liveConn{s: s, conn: conn, client: client, token: token, role: p.Role}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer cancel()
		lc.read(ctx)
	})
	lc.write(ctx, cancel, &wg)
	cancel()
	wg.Wait()
}

// liveAuth waits for the auth frame and authenticates its token. Its error is
// a websocket.CloseError to close the connection with (nothing else has been
// sent), or the read error of a connection that went away.
func (s *Server) liveAuth(ctx context.Context, conn *websocket.Conn) (string, principal, error) {
	timeout := s.live.AuthTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	policy := func(format string, args ...any) error {
		return websocket.CloseError{Code: websocket.StatusPolicyViolation, Reason: closeReason(fmt.Sprintf(format, args...))}
	}
	// A read whose context expires cuts the connection without a close
	// frame; the timer closes it properly instead, which ends the read.
	timer := time.AfterFunc(timeout, func() {
		_ = conn.Close(websocket.StatusPolicyViolation,
			closeReason(fmt.Sprintf(`authentication required: send {"type":"auth","token":"..."} within %s`, timeout)))
	})
	typ, msg, err := conn.Read(ctx)
	if !timer.Stop() {
		return "", principal{}, errors.New("no auth frame in time; closed")
	}
	if err != nil {
		return "", principal{}, err
	}
	if typ != websocket.MessageText {
		return "", principal{}, policy(`the first frame must be a JSON text frame {"type":"auth","token":"..."}`)
	}
	f, err := decodeClientFrame(msg)
	switch {
	case err != nil:
		return "", principal{}, policy("first frame: %s", err)
	case f.Type != "auth":
		return "", principal{}, policy(`the first frame must be {"type":"auth","token":"..."}, got type %q`, truncate(f.Type, 24))
	case f.Channel != "":
		return "", principal{}, policy(`the auth frame takes no channel`)
	}
	p, err := s.authenticateToken(ctx, f.Token)
	if err != nil {
		return "", principal{}, policy("authentication failed: %s", err)
	}
	if p.MustChangePassword {
		return "", principal{}, policy("password change required: change the temporary password at POST /api/v1/auth/password first")
	}
	return f.Token, p, nil
}

// decodeClientFrame decodes one client frame strictly: unknown fields and
// trailing data are errors that say what was wrong.
func decodeClientFrame(msg []byte) (clientFrame, error) {
	var f clientFrame
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
			return f, fmt.Errorf(`invalid JSON (%v): want an object such as {"type":"subscribe","channel":"runs"}`, err)
		case errors.As(err, &te) && te.Field == "":
			return f, errors.New(`a frame must be a JSON object such as {"type":"subscribe","channel":"runs"}`)
		case errors.As(err, &te):
			return f, fmt.Errorf("field %q must be a %s", te.Field, te.Type)
		}
		return f, fmt.Errorf("invalid frame: %v", err)
	}
	if dec.More() {
		return f, errors.New("invalid frame: one JSON object per message")
	}
	if f.Type == "" {
		return f, errors.New(`field "type" is missing: want auth, subscribe, unsubscribe or ping`)
	}
	return f, nil
}

// liveConn is one authenticated connection.
type liveConn struct {
	s      *Server
	conn   *websocket.Conn
	client *live.Client
	token  string

	mu   sync.Mutex
	role auth.Role // refreshed at each ping
}

// read handles the client's frames until the connection ends. Bad frames get
// an error frame; the connection stays.
func (lc *liveConn) read(ctx context.Context) {
	for {
		typ, msg, err := lc.conn.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			lc.fail("", `binary frames are not accepted: send JSON text frames`)
			continue
		}
		f, err := decodeClientFrame(msg)
		if err != nil {
			lc.fail("", err.Error())
			continue
		}
		switch f.Type {
		case "ping":
			lc.client.Send(live.Frame{Type: live.TypePong}.Encode())
		case "subscribe":
			lc.mu.Lock()
			role := lc.role
			lc.mu.Unlock()
			if !auth.Can(role, wsPermission) {
				lc.fail(f.Channel, fmt.Sprintf("role %s lacks permission %s", role, wsPermission))
				continue
			}
			if err := lc.client.Subscribe(f.Channel); err != nil {
				lc.fail(f.Channel, err.Error())
			}
		case "unsubscribe":
			if err := lc.client.Unsubscribe(f.Channel); err != nil {
				lc.fail(f.Channel, err.Error())
			}
		case "auth":
			lc.fail("", "already authenticated")
		default:
			lc.fail("", fmt.Sprintf("unknown frame type %q: want subscribe, unsubscribe or ping", truncate(f.Type, 40)))
		}
	}
}

func (lc *liveConn) fail(channel, message string) {
	lc.client.Send(live.ErrorFrame(channel, message))
}

// write sends the client's frames until the connection ends or the hub drops
// the client, and closes the connection with the reason. At every ping
// interval it starts a check (check) in a goroutine that lives only until
// the pong: an idle connection holds two goroutines, not three.
func (lc *liveConn) write(ctx context.Context, cancel context.CancelFunc, wg *sync.WaitGroup) {
	interval := lc.s.live.PingInterval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	checking := make(chan struct{}, 1) // holds a token while a check runs
	for {
		select { // the hub's verdict first: no frame after a drop
		case <-lc.client.Done():
			lc.closeFor(lc.client.Err())
			return
		default:
		}
		select {
		case <-ctx.Done():
			return
		case <-lc.client.Done():
			lc.closeFor(lc.client.Err())
			return
		case <-ticker.C:
			select {
			case checking <- struct{}{}:
				wg.Go(func() {
					defer func() { <-checking }()
					lc.check(ctx, cancel, max(interval, 10*time.Second))
				})
			default: // the previous check still waits for its pong
			}
		case f := <-lc.client.Frames():
			// No deadline per frame (a timer per write was a sixth of the fan-out's CPU): a write
			// stuck on a client that stopped reading is ended by the next check, whose ping
			// cannot get through and cancels ctx.
			if err := lc.conn.Write(ctx, websocket.MessageText, f); err != nil {
				return
			}
		}
	}
}

func (lc *liveConn) closeFor(err error) {
	switch {
	case errors.Is(err, live.ErrSlowClient):
		_ = lc.conn.Close(wsCloseSlowClient, closeReason(err.Error()+"; reconnect and refetch"))
	case errors.Is(err, live.ErrShutdown):
		_ = lc.conn.Close(websocket.StatusGoingAway, closeReason(err.Error()))
	}
}

// check pings the client and checks its token: a client that does not
// answer within timeout is cut, one whose token no longer authenticates
// (expired, revoked, account deactivated) is closed with a policy violation,
// one whose role lost runs:read is unsubscribed from everything.
func (lc *liveConn) check(ctx context.Context, cancel context.CancelFunc, timeout time.Duration) {
	pctx, pcancel := context.WithTimeout(ctx, timeout)
	err := lc.conn.Ping(pctx)
	pcancel()
	if err != nil {
		cancel()
		return
	}
	p, err := lc.s.authenticateToken(ctx, lc.token)
	if err != nil {
		if ctx.Err() == nil {
			_ = lc.conn.Close(websocket.StatusPolicyViolation, closeReason("token no longer valid ("+err.Error()+"): reconnect with a fresh token"))
		}
		cancel()
		return
	}
	lc.mu.Lock()
	lc.role = p.Role
	lc.mu.Unlock()
	if !auth.Can(p.Role, wsPermission) {
		for _, ch := range lc.client.UnsubscribeAll() {
			lc.fail(ch, fmt.Sprintf("role %s lacks permission %s: unsubscribed", p.Role, wsPermission))
		}
	}
}

// closeReason fits a close reason in the 123 bytes a close frame allows.
func closeReason(s string) string { return strings.ToValidUTF8(truncate(s, 120), "") }

// liveDescription is the OpenAPI description of GET /api/v1/ws.
const liveDescription = "Upgrade to a WebSocket (`ws://` or `wss://` on this path). No token in the URL or header: " +
	"the first frame must be `{\"type\":\"auth\",\"token\":\"<access token or API token>\"}` within 10 seconds, " +
	"else the server closes with 1008 (policy violation). Then send `{\"type\":\"subscribe\",\"channel\":\"run:<id>\"|\"runs\"|\"dashboard\"}`, " +
	"`unsubscribe` or `ping`; the server sends `authenticated`, `subscribed`, `unsubscribed`, `event` " +
	"(`{type, channel, seq, data}`, seq numbering each run's events), `error` (`data.message`) and `pong`. " +
	"Subscribing needs `runs:read`. See docs/api.md, \"Live updates\"."
