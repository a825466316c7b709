package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Channel types.
const (
	ChannelWebhook = "webhook"
	ChannelEmail   = "email"
	ChannelSlack   = "slack"
)

// ChannelTypes are every channel type.
var ChannelTypes = []string{ChannelWebhook, ChannelEmail, ChannelSlack}

// SignatureHeader carries a webhook body's HMAC-SHA256 under the channel's secret:
// "sha256=<hex>".
const SignatureHeader = "X-Aggregator-Signature"

// Redacted stands for a secret that is set, in what the API returns; given back on update it keeps
// the stored value.
const Redacted = "********"

// Settings are a channel's configuration, secrets included. Which fields apply depends on the
// type; fieldsOf lists them and says which are secret.
//
//	webhook  url (http or https), secret (signs the body)
//	slack    url (the incoming webhook's URL: a secret)
//	email    host, port (default 587), tls (starttls, default, or tls), username, password, from, to
type Settings struct {
	URL      string   `json:"url,omitempty"`
	Secret   string   `json:"secret,omitempty"`
	Host     string   `json:"host,omitempty"`
	Port     int      `json:"port,omitempty"`
	TLS      string   `json:"tls,omitempty"`
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty"`
	From     string   `json:"from,omitempty"`
	To       []string `json:"to,omitempty"`
}

// field is one setting of a channel type.
type field struct {
	name   string
	secret bool
}

func fieldsOf(typ string) []field {
	switch typ {
	case ChannelWebhook:
		return []field{{"url", false}, {"secret", true}}
	case ChannelSlack:
		return []field{{"url", true}}
	case ChannelEmail:
		return []field{{"host", false}, {"port", false}, {"tls", false}, {"username", false}, {"password", true}, {"from", false}, {"to", false}}
	}
	return nil
}

// SecretFields are the names of the secret settings of a channel type.
func SecretFields(typ string) []string {
	var out []string
	for _, f := range fieldsOf(typ) {
		if f.secret {
			out = append(out, f.name)
		}
	}
	return out
}

// parseSettings decodes a channel's config for its type: unknown fields are problems, and a secret
// given as Redacted (or left out) is taken from prev.
func parseSettings(typ string, raw json.RawMessage, prev *Settings) (Settings, error) {
	var ps problems
	fields := fieldsOf(typ)
	if fields == nil {
		ps.add("type", "unknown channel type %q: use one of %s", typ, strings.Join(ChannelTypes, ", "))
		return Settings{}, ps.err()
	}
	var keys map[string]json.RawMessage
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		raw = json.RawMessage("{}")
	}
	if err := json.Unmarshal(raw, &keys); err != nil {
		ps.add("config", "must be an object: %s", strings.TrimPrefix(err.Error(), "json: "))
		return Settings{}, ps.err()
	}
	for k := range keys {
		if !slices.ContainsFunc(fields, func(f field) bool { return f.name == k }) {
			names := make([]string, len(fields))
			for i, f := range fields {
				names[i] = f.name
			}
			ps.add("config."+k, "unknown setting of a %s channel (settings: %s)", typ, strings.Join(names, ", "))
		}
	}
	var s Settings
	if err := json.Unmarshal(raw, &s); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			ps.add("config."+te.Field, "must be %s", te.Type.String())
		} else {
			ps.add("config", "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return Settings{}, ps.err()
	}
	if prev != nil {
		if s.Secret == "" || s.Secret == Redacted {
			s.Secret = prev.Secret
		}
		if s.Password == "" || s.Password == Redacted {
			s.Password = prev.Password
		}
		if typ == ChannelSlack && (s.URL == "" || s.URL == Redacted) {
			s.URL = prev.URL
		}
	}
	s.URL, s.Host, s.TLS, s.From = strings.TrimSpace(s.URL), strings.TrimSpace(s.Host), strings.TrimSpace(s.TLS), strings.TrimSpace(s.From)
	checkURL := func() {
		u, err := url.Parse(s.URL)
		switch {
		case s.URL == "":
			ps.add("config.url", "required: the http or https URL to post to")
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			ps.add("config.url", "must be an absolute http or https URL")
		}
	}
	switch typ {
	case ChannelWebhook:
		checkURL()
		if s.Secret == "" {
			ps.add("config.secret", "required: the shared secret the body is signed with (HMAC-SHA256 in %s)", SignatureHeader)
		}
	case ChannelSlack:
		checkURL()
	case ChannelEmail:
		if s.Host == "" {
			ps.add("config.host", "required: the SMTP server's host name")
		}
		if s.Port == 0 {
			s.Port = 587
		}
		if s.Port < 1 || s.Port > 65535 {
			ps.add("config.port", "must be between 1 and 65535")
		}
		if s.TLS == "" {
			s.TLS = "starttls"
		}
		if s.TLS != "starttls" && s.TLS != "tls" {
			ps.add("config.tls", "must be starttls (upgrade the connection, port 587) or tls (TLS from the start, port 465)")
		}
		if s.Password != "" && s.Username == "" {
			ps.add("config.username", "required with a password")
		}
		if _, err := mail.ParseAddress(s.From); err != nil {
			ps.add("config.from", "must be an email address (%v)", err)
		}
		if len(s.To) == 0 {
			ps.add("config.to", "required: at least one recipient")
		}
		for i, to := range s.To {
			if _, err := mail.ParseAddress(to); err != nil {
				ps.add(fmt.Sprintf("config.to[%d]", i), "must be an email address (%v)", err)
			}
		}
	}
	return s, ps.err()
}

// split returns the public part of s (secrets removed) and its secret part.
func (s Settings) split(typ string) (public, secret Settings) {
	public = s
	public.Secret, public.Password = "", ""
	if typ == ChannelSlack {
		public.URL = ""
	}
	secret = Settings{Secret: s.Secret, Password: s.Password}
	if typ == ChannelSlack {
		secret.URL = s.URL
	}
	return public, secret
}

// merge adds the secret part back.
func (s Settings) merge(typ string, secret Settings) Settings {
	s.Secret, s.Password = secret.Secret, secret.Password
	if typ == ChannelSlack {
		s.URL = secret.URL
	}
	return s
}

// Redact returns s as the API shows it: each secret that is set is Redacted.
func (s Settings) Redact() Settings {
	if s.Secret != "" {
		s.Secret = Redacted
	}
	if s.Password != "" {
		s.Password = Redacted
	}
	return s
}

// Payload is the JSON body a webhook channel receives.
type Payload struct {
	// Event is firing, resolved or test.
	Event string       `json:"event"`
	Alert PayloadAlert `json:"alert"`
	// DeliveryID is the same on every attempt of one notification (receivers deduplicate by it).
	DeliveryID string    `json:"delivery_id"`
	SentAt     time.Time `json:"sent_at"`
}

// PayloadAlert is the alert in a Payload.
type PayloadAlert struct {
	ID         string     `json:"id"`
	RuleID     string     `json:"rule_id"`
	RuleName   string     `json:"rule_name"`
	State      string     `json:"state"`
	Title      string     `json:"title"`
	Message    string     `json:"message"`
	Subject    string     `json:"subject"`
	PipelineID string     `json:"pipeline_id,omitempty"`
	RunID      string     `json:"run_id,omitempty"`
	FiredAt    time.Time  `json:"fired_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	URL        string     `json:"url,omitempty"`
}

// Sign is the SignatureHeader value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// maxResponse bounds how much of a webhook's answer is read (and quoted in an error).
const maxResponse = 4 << 10

// sender delivers notifications through the outbound guard.
type sender struct {
	http    *http.Client
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	rootCAs *tlsRoots
	timeout time.Duration
}

// tlsRoots holds the TLS configuration base for SMTP (tests trust their own certificate).
type tlsRoots struct{ cfg *tls.Config }

func (s *sender) send(ctx context.Context, typ string, set Settings, p Payload) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	switch typ {
	case ChannelWebhook:
		body, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return s.post(ctx, set.URL, body, map[string]string{SignatureHeader: Sign(set.Secret, body),
			"X-Aggregator-Event": p.Event, "X-Aggregator-Delivery": p.DeliveryID})
	case ChannelSlack:
		body, err := json.Marshal(map[string]string{"text": slackText(p)})
		if err != nil {
			return err
		}
		return s.post(ctx, set.URL, body, nil)
	case ChannelEmail:
		return s.mail(ctx, set, p)
	}
	return fmt.Errorf("unknown channel type %q", typ)
}

func (s *sender) post(ctx context.Context, target string, body []byte, headers map[string]string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "aggregator-alerts")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("post to %s: %w", redactURL(target), unwrapURLError(err))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		text := strings.TrimSpace(string(msg))
		if len(text) > 200 {
			text = text[:200] + "..."
		}
		if text != "" {
			return fmt.Errorf("%s answered %s: %s", redactURL(target), resp.Status, text)
		}
		return fmt.Errorf("%s answered %s", redactURL(target), resp.Status)
	}
	return nil
}

// unwrapURLError drops the *url.Error wrapper, which repeats the full URL (a Slack URL is a
// secret).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redactURL keeps the scheme and host of a URL: a Slack webhook's path is its secret.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "the URL"
	}
	return u.Scheme + "://" + u.Host
}

func (s *sender) mail(ctx context.Context, set Settings, p Payload) error {
	m := gomail.NewMsg()
	if err := m.From(set.From); err != nil {
		return fmt.Errorf("from %q: %w", set.From, err)
	}
	if err := m.To(set.To...); err != nil {
		return fmt.Errorf("to: %w", err)
	}
	m.Subject(subject(p))
	m.SetBodyString(gomail.TypeTextPlain, textBody(p))
	opts := []gomail.Option{gomail.WithPort(set.Port), gomail.WithTimeout(s.timeout), gomail.WithDialContextFunc(s.dial)}
	tlsCfg := &tls.Config{ServerName: set.Host, MinVersion: tls.VersionTLS12}
	if s.rootCAs != nil && s.rootCAs.cfg != nil {
		tlsCfg = s.rootCAs.cfg.Clone()
		tlsCfg.ServerName = set.Host
	}
	opts = append(opts, gomail.WithTLSConfig(tlsCfg))
	if set.TLS == "tls" {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if set.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(set.Username), gomail.WithPassword(set.Password))
	}
	c, err := gomail.NewClient(set.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("send mail through %s:%d: %w", set.Host, set.Port, err)
	}
	return nil
}

func subject(p Payload) string {
	switch p.Event {
	case "test":
		return "[TEST] Data Aggregator alert channel test"
	case "resolved":
		return "[RESOLVED] " + p.Alert.RuleName + ": " + p.Alert.Title
	}
	return "[FIRING] " + p.Alert.RuleName + ": " + p.Alert.Title
}

func textBody(p Payload) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", subject(p))
	if p.Event == "test" {
		b.WriteString("This is a test notification: the channel works.\n")
		return b.String()
	}
	if p.Alert.Message != "" {
		fmt.Fprintf(&b, "%s\n\n", p.Alert.Message)
	}
	fmt.Fprintf(&b, "Rule:     %s\nSubject:  %s\nFired at: %s\n", p.Alert.RuleName, p.Alert.Subject, p.Alert.FiredAt.UTC().Format(time.RFC3339))
	if p.Alert.ResolvedAt != nil {
		fmt.Fprintf(&b, "Resolved: %s\n", p.Alert.ResolvedAt.UTC().Format(time.RFC3339))
	}
	if p.Alert.RunID != "" {
		fmt.Fprintf(&b, "Run:      %s\n", p.Alert.RunID)
	}
	if p.Alert.URL != "" {
		fmt.Fprintf(&b, "\n%s\n", p.Alert.URL)
	}
	return b.String()
}

func slackText(p Payload) string {
	s := subject(p)
	if p.Event != "test" && p.Alert.Message != "" {
		s += "\n" + p.Alert.Message
	}
	if p.Alert.URL != "" {
		s += "\n<" + p.Alert.URL + "|Open the alert>"
	}
	return s
}
