package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/alerts"
	"github.com/dataaggregator/aggregator/internal/config"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// hookReceiver is a webhook endpoint that checks each body's signature and hands on the payloads
// it accepted; status is what it answers (200 unless set).
type hookReceiver struct {
	srv      *httptest.Server
	secret   string
	payloads chan alerts.Payload
	mu       sync.Mutex
	status   int
	calls    int
	badSigs  int
}

func newHookReceiver(t *testing.T, secret string, status int) *hookReceiver {
	h := &hookReceiver{secret: secret, payloads: make(chan alerts.Payload, 32), status: status}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		h.mu.Lock()
		h.calls++
		st := h.status
		if r.Header.Get(alerts.SignatureHeader) != alerts.Sign(h.secret, body) {
			h.badSigs++
			st = http.StatusUnauthorized
		}
		h.mu.Unlock()
		if st != http.StatusOK {
			http.Error(w, "receiver says no", st)
			return
		}
		var p alerts.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.payloads <- p
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) next(t *testing.T, event string) alerts.Payload {
	t.Helper()
	select {
	case p := <-h.payloads:
		if p.Event != event {
			t.Fatalf("webhook got %s, want %s: %+v", p.Event, event, p)
		}
		return p
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s webhook within 30s", event)
	}
	return alerts.Payload{}
}

// mailbox is an SMTP server that offers STARTTLS and requires PLAIN authentication over TLS.
type mailbox struct {
	addr  string
	mails chan string
	roots *x509.CertPool
}

type mailSession struct {
	box     *mailbox
	authed  bool
	from    string
	rcpt    []string
	user    string
	pass    string
	tlsUsed func() bool
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.user || pass != s.pass {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}
func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed || !s.tlsUsed() {
		return errors.New("authenticate over TLS first")
	}
	s.from = from
	return nil
}
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpt = append(s.rcpt, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return err
	}
	s.box.mails <- fmt.Sprintf("From: %s\nRcpt: %s\n%s", s.from, strings.Join(s.rcpt, ","), b)
	return nil
}
func (s *mailSession) Reset()        { s.from, s.rcpt = "", nil }
func (s *mailSession) Logout() error { return nil }

func newMailbox(t *testing.T, user, pass string) *mailbox {
	t.Helper()
	cert, roots := selfSigned(t)
	box := &mailbox{mails: make(chan string, 16), roots: roots}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mailSession{box: box, user: user, pass: pass, tlsUsed: func() bool { _, ok := c.TLSConnectionState(); return ok }}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.AllowInsecureAuth = false
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	box.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return box
}

func (b *mailbox) next(t *testing.T, subject string) string {
	t.Helper()
	select {
	case m := <-b.mails:
		if !strings.Contains(m, subject) {
			t.Fatalf("mail without %q:\n%s", subject, m)
		}
		return m
	case <-time.After(30 * time.Second):
		t.Fatalf("no mail %q within 30s", subject)
	}
	return ""
}

// selfSigned makes a certificate for 127.0.0.1 and the pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

type apiAlert struct {
	ID, State, Title, RuleName string
	Deliveries                 []struct {
		ChannelName string `json:"channel_name"`
		Event       string
		Status      string
		Attempts    int
		LastError   string `json:"last_error"`
	}
	History []struct{ Kind, Message string }
}

// alertSetup starts the platform with outbound access to 127.0.0.1 (the test's receivers) and
// fast delivery retries, and saves a pipeline that fails until its input file exists.
func alertSetup(t *testing.T, mailTLS *x509.CertPool) (*running, *session, config.Config, string, string) {
	t.Helper()
	cfg := testConfig(t)
	cfg.AdminPassword = "Alerts-Passw0rd-1"
	cfg.AllowedOutbound = []string{"127.0.0.1"}
	opts := Options{AlertRetryBase: 20 * time.Millisecond}
	if mailTLS != nil {
		opts.AlertSMTPTLS = &tls.Config{RootCAs: mailTLS, MinVersion: tls.VersionTLS12}
	}
	r := start(t, cfg, opts)
	s := signIn(t, r, cfg.AdminPassword)
	input := filepath.Join(cfg.OutputDir(), "alert-in.csv")
	spec := "version: 1\nname: orders\nsources:\n  - {id: src, type: csv, config: {path: alert-in.csv}}\n" +
		"destinations:\n  - {id: out, type: ndjson, inputs: [src], config: {path: alert-out.ndjson}}\n"
	var p struct{ ID string }
	if st := s.call(http.MethodPost, "/api/v1/pipelines", spec, &p); st != http.StatusCreated {
		t.Fatalf("create pipeline: %d\n%s", st, s.responses.String())
	}
	return r, s, cfg, p.ID, input
}

// runTo starts a run of pipeline id and waits for its outcome.
func runTo(t *testing.T, s *session, id, want string) string {
	t.Helper()
	var run struct{ ID, Status, Error string }
	if st := s.call(http.MethodPost, "/api/v1/pipelines/"+id+"/run", nil, &run); st != http.StatusAccepted {
		t.Fatalf("run: %d", st)
	}
	deadline := time.Now().Add(30 * time.Second)
	for run.Status != "succeeded" && run.Status != "failed" && run.Status != "cancelled" {
		if time.Now().After(deadline) {
			t.Fatalf("run still %s after 30s", run.Status)
		}
		time.Sleep(20 * time.Millisecond) // bounded poll of the REST status
		s.call(http.MethodGet, "/api/v1/runs/"+run.ID, nil, &run)
	}
	if run.Status != want {
		t.Fatalf("run %s: %+v, want %s", run.ID, run, want)
	}
	return run.ID
}

// waitAlert polls the alert until ok says it is done (its deliveries are recorded by a queue job).
func waitAlert(t *testing.T, s *session, id string, ok func(apiAlert) bool) apiAlert {
	t.Helper()
	var a apiAlert
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st := s.call(http.MethodGet, "/api/v1/alerts/"+id, nil, &a); st != http.StatusOK {
			t.Fatalf("get alert: %d", st)
		}
		if ok(a) {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("alert not as expected after 60s: %+v", a)
		}
		time.Sleep(50 * time.Millisecond) // bounded poll of the REST state
	}
}

// TestAlertFiresAndResolves is the "done when": a failing pipeline fires a signed webhook
// (verified by the receiver) and an email (received by an SMTP server that requires STARTTLS and
// authentication), and the next successful run resolves the alert, notified the same two ways.
func TestAlertFiresAndResolves(t *testing.T) {
	hook := newHookReceiver(t, "hook-secret-1", http.StatusOK)
	box := newMailbox(t, "alerts@example.com", "smtp-Passw0rd")
	_, s, _, pipelineID, input := alertSetup(t, box.roots)
	host, port, _ := net.SplitHostPort(box.addr)
	var hookCh, mailCh struct{ ID string }
	if st := s.call(http.MethodPost, "/api/v1/alerts/channels", map[string]any{"name": "ops hook", "type": "webhook",
		"config": map[string]any{"url": hook.srv.URL + "/hook", "secret": "hook-secret-1"}}, &hookCh); st != http.StatusCreated {
		t.Fatalf("create webhook channel: %d\n%s", st, s.responses.String())
	}
	if st := s.call(http.MethodPost, "/api/v1/alerts/channels", map[string]any{"name": "ops mail", "type": "email",
		"config": map[string]any{"host": host, "port": json.Number(port), "tls": "starttls", "username": "alerts@example.com",
			"password": "smtp-Passw0rd", "from": "aggregator@example.com", "to": []string{"oncall@example.com"}}}, &mailCh); st != http.StatusCreated {
		t.Fatalf("create email channel: %d\n%s", st, s.responses.String())
	}
	var rule struct{ ID string }
	if st := s.call(http.MethodPost, "/api/v1/alerts/rules", map[string]any{"name": "orders failing",
		"condition": map[string]any{"type": "run_failed", "pipeline_id": pipelineID}, "channels": []string{hookCh.ID, mailCh.ID},
		"throttle_minutes": 30}, &rule); st != http.StatusCreated {
		t.Fatalf("create rule: %d\n%s", st, s.responses.String())
	}

	runID := runTo(t, s, pipelineID, "failed")
	fired := hook.next(t, "firing")
	if fired.Alert.RunID != runID || fired.Alert.State != "firing" || fired.Alert.RuleName != "orders failing" || fired.DeliveryID == "" {
		t.Errorf("firing payload = %+v", fired)
	}
	mail := box.next(t, "[FIRING] orders failing: Pipeline orders failed")
	if !strings.Contains(mail, "Rcpt: oncall@example.com") || !strings.Contains(mail, runID) {
		t.Errorf("firing mail:\n%s", mail)
	}
	a := waitAlert(t, s, fired.Alert.ID, func(a apiAlert) bool {
		return len(a.Deliveries) == 2 && a.Deliveries[0].Status == "sent" && a.Deliveries[1].Status == "sent"
	})
	if a.State != "firing" {
		t.Fatalf("alert = %+v", a)
	}
	// A second failure while it fires is the same alert: no new notification.
	runTo(t, s, pipelineID, "failed")
	var firing struct{ Total int }
	s.call(http.MethodGet, "/api/v1/alerts?state=firing", nil, &firing)
	if firing.Total != 1 {
		t.Errorf("firing alerts = %d after a second failure, want 1", firing.Total)
	}

	if err := os.MkdirAll(filepath.Dir(input), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(input, []byte("id,name\n1,a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runTo(t, s, pipelineID, "succeeded")
	resolved := hook.next(t, "resolved")
	if resolved.Alert.ID != fired.Alert.ID || resolved.Alert.State != "resolved" || resolved.Alert.ResolvedAt == nil {
		t.Errorf("resolved payload = %+v", resolved)
	}
	box.next(t, "[RESOLVED] orders failing")
	a = waitAlert(t, s, fired.Alert.ID, func(a apiAlert) bool { return len(a.Deliveries) == 4 && a.Deliveries[3].Status == "sent" })
	var kinds []string
	for _, h := range a.History {
		kinds = append(kinds, h.Kind)
	}
	if a.State != "resolved" || strings.Join(kinds, ",") != "fired,resolved" {
		t.Errorf("alert = %+v, history %v", a, kinds)
	}
	select {
	case p := <-hook.payloads:
		t.Errorf("an extra webhook: %+v", p)
	default:
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	if hook.badSigs != 0 {
		t.Errorf("%d webhook calls with a bad signature", hook.badSigs)
	}
}

// TestAlertDeliveryFailures: a webhook that answers 500 is retried with backoff and shown failed on
// the alert, while the other channel of the rule is notified; a rule naming a deleted pipeline is
// reported on the rule, and the others are still evaluated; a webhook at a private address is
// refused by the outbound guard unless ALLOWED_OUTBOUND_HOSTS lists it.
func TestAlertDeliveryFailures(t *testing.T) {
	good := newHookReceiver(t, "good", http.StatusOK)
	bad := newHookReceiver(t, "bad", http.StatusInternalServerError)
	r, s, _, pipelineID, _ := alertSetup(t, nil)
	var goodCh, badCh struct{ ID string }
	s.call(http.MethodPost, "/api/v1/alerts/channels", map[string]any{"name": "good", "type": "webhook",
		"config": map[string]any{"url": good.srv.URL, "secret": "good"}}, &goodCh)
	s.call(http.MethodPost, "/api/v1/alerts/channels", map[string]any{"name": "broken", "type": "webhook",
		"config": map[string]any{"url": bad.srv.URL, "secret": "bad"}}, &badCh)
	var rule struct{ ID string }
	if st := s.call(http.MethodPost, "/api/v1/alerts/rules", map[string]any{"name": "any failure",
		"condition": map[string]any{"type": "run_failed"}, "channels": []string{badCh.ID, goodCh.ID}}, &rule); st != http.StatusCreated {
		t.Fatalf("create rule: %d\n%s", st, s.responses.String())
	}
	runTo(t, s, pipelineID, "failed")
	p := good.next(t, "firing")
	a := waitAlert(t, s, p.Alert.ID, func(a apiAlert) bool {
		for _, d := range a.Deliveries {
			if d.ChannelName == "broken" && d.Status == "failed" {
				return true
			}
		}
		return false
	})
	for _, d := range a.Deliveries {
		switch d.ChannelName {
		case "broken":
			if d.Attempts != alerts.DefaultMaxAttempts || !strings.Contains(d.LastError, "500 Internal Server Error") {
				t.Errorf("broken delivery = %+v", d)
			}
		case "good":
			if d.Status != "sent" || d.Attempts != 1 {
				t.Errorf("good delivery = %+v", d)
			}
		}
	}
	if last := a.History[len(a.History)-1]; last.Kind != "delivery_failed" || !strings.Contains(last.Message, "broken") {
		t.Errorf("history = %+v", a.History)
	}
	bad.mu.Lock()
	if bad.calls != alerts.DefaultMaxAttempts {
		t.Errorf("the broken webhook was called %d times, want %d", bad.calls, alerts.DefaultMaxAttempts)
	}
	bad.mu.Unlock()

	// A rule on a pipeline that is then deleted: reported, not crashed on.
	spec := "version: 1\nname: doomed\nsources:\n  - {id: src, type: csv, config: {path: nothing.csv}}\n" +
		"destinations:\n  - {id: out, type: ndjson, inputs: [src], config: {path: doomed.ndjson}}\n"
	var doomed struct{ ID string }
	s.call(http.MethodPost, "/api/v1/pipelines", spec, &doomed)
	var stale struct{ ID string }
	if st := s.call(http.MethodPost, "/api/v1/alerts/rules", map[string]any{"name": "doomed stale",
		"condition": map[string]any{"type": "freshness_over", "pipeline_id": doomed.ID, "minutes": 60}}, &stale); st != http.StatusCreated {
		t.Fatalf("create rule: %d\n%s", st, s.responses.String())
	}
	if st := s.call(http.MethodDelete, "/api/v1/pipelines/"+doomed.ID, nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete pipeline: %d", st)
	}
	if err := r.app.Alerts().Evaluate(t.Context()); err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	var got struct{ Problem string }
	s.call(http.MethodGet, "/api/v1/alerts/rules/"+stale.ID, nil, &got)
	if !strings.Contains(got.Problem, "pipeline "+doomed.ID+" does not exist") {
		t.Errorf("rule problem = %q", got.Problem)
	}

	// A private address: refused, with the reason, and never reached.
	for target, want := range map[string]string{
		strings.Replace(good.srv.URL, "127.0.0.1", "127.0.0.2", 1): "loopback address",
		"http://10.1.2.3:8080/hook":                                "private address",
		"http://169.254.169.254/latest":                            "link-local",
	} {
		var ch struct{ ID string }
		if st := s.call(http.MethodPost, "/api/v1/alerts/channels", map[string]any{"name": "private " + want, "type": "webhook",
			"config": map[string]any{"url": target, "secret": "x"}}, &ch); st != http.StatusCreated {
			t.Fatalf("create channel: %d", st)
		}
		var d struct {
			Status    string
			LastError string `json:"last_error"`
		}
		if st := s.call(http.MethodPost, "/api/v1/alerts/channels/"+ch.ID+"/test", nil, &d); st != http.StatusOK {
			t.Fatalf("test channel: %d", st)
		}
		if d.Status != "failed" || !strings.Contains(d.LastError, "refused to connect") || !strings.Contains(d.LastError, want) {
			t.Errorf("test of %s = %+v, want refused (%s)", target, d, want)
		}
	}
	var d struct{ Status string }
	s.call(http.MethodPost, "/api/v1/alerts/channels/"+goodCh.ID+"/test", nil, &d)
	if d.Status != "sent" {
		t.Errorf("test of the good channel = %+v", d)
	}
	good.next(t, "test")
}

// TestAlertRunAwaitingApproval: a run_awaiting_approval rule notifies when a run pauses for a
// review of schema changes (a column added on a PostgreSQL source between two runs under
// schema_changes: review), naming the change, and resolves when the run is approved.
func TestAlertRunAwaitingApproval(t *testing.T) {
	hook := newHookReceiver(t, "hook-secret-2", http.StatusOK)
	pg := testutil.Postgres(t)
	bg := context.Background()
	conn, err := pgx.Connect(bg, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(bg)
	if _, err := conn.Exec(bg, "CREATE TABLE src (id bigint PRIMARY KEY, qty integer); INSERT INTO src VALUES (1, 10)"); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.AdminPassword = "Alerts-Passw0rd-1"
	cfg.AllowedOutbound = []string{"127.0.0.1"}
	r := start(t, cfg, Options{AlertRetryBase: 20 * time.Millisecond})
	s := signIn(t, r, cfg.AdminPassword)
	for name, table := range map[string]string{"pgsrc": "src", "pgdst": "dst"} {
		if st := s.call(http.MethodPost, "/api/v1/connectors", map[string]any{"name": name, "type": "postgres",
			"config": map[string]any{"url": pg.URL, "table": table}}, nil); st != http.StatusCreated {
			t.Fatalf("create connector %s: %d\n%s", name, st, s.responses.String())
		}
	}
	spec := "version: 1\nname: reviewed\nsources:\n  - {id: in, connector: pgsrc}\n" +
		"destinations:\n  - {id: out, connector: pgdst, inputs: [in], write: {mode: append, schema_changes: review}}\n"
	var p struct{ ID string }
	if st := s.call(http.MethodPost, "/api/v1/pipelines", spec, &p); st != http.StatusCreated {
		t.Fatalf("create pipeline: %d\n%s", st, s.responses.String())
	}
	var hookCh, rule struct{ ID string }
	if st := s.call(http.MethodPost, "/api/v1/alerts/channels", map[string]any{"name": "review hook", "type": "webhook",
		"config": map[string]any{"url": hook.srv.URL + "/hook", "secret": "hook-secret-2"}}, &hookCh); st != http.StatusCreated {
		t.Fatalf("create webhook channel: %d\n%s", st, s.responses.String())
	}
	if st := s.call(http.MethodPost, "/api/v1/alerts/rules", map[string]any{"name": "reviews waiting",
		"condition": map[string]any{"type": "run_awaiting_approval", "pipeline_id": p.ID}, "channels": []string{hookCh.ID}}, &rule); st != http.StatusCreated {
		t.Fatalf("create rule: %d\n%s", st, s.responses.String())
	}
	runTo(t, s, p.ID, "succeeded")
	if _, err := conn.Exec(bg, "ALTER TABLE src ADD COLUMN note text; INSERT INTO src VALUES (2, 20, 'new')"); err != nil {
		t.Fatal(err)
	}
	var run struct{ ID, Status string }
	if st := s.call(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", nil, &run); st != http.StatusAccepted {
		t.Fatalf("run: %d", st)
	}
	fired := hook.next(t, "firing")
	if fired.Alert.RunID != run.ID || fired.Alert.RuleName != "reviews waiting" ||
		!strings.Contains(fired.Alert.Title, "awaits approval of schema changes") || !strings.Contains(fired.Alert.Message, `column "note": column added`) {
		t.Errorf("firing payload = %+v", fired.Alert)
	}
	s.call(http.MethodGet, "/api/v1/runs/"+run.ID, nil, &run)
	if run.Status != "awaiting_approval" {
		t.Fatalf("run %s is %s while its alert fires, want awaiting_approval", run.ID, run.Status)
	}
	if st := s.call(http.MethodPost, "/api/v1/runs/"+run.ID+"/schema-review/approve", map[string]any{"comment": "ok"}, nil); st != http.StatusOK {
		t.Fatalf("approve: %d\n%s", st, s.responses.String())
	}
	resolved := hook.next(t, "resolved")
	if resolved.Alert.ID != fired.Alert.ID || resolved.Alert.State != "resolved" {
		t.Errorf("resolved payload = %+v", resolved.Alert)
	}
}
