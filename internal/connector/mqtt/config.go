package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/streamkit"
)

// Config is the decoded configuration (one for the source and the sink).
type Config struct {
	URL       string
	Username  string
	Password  string
	TLS       streamkit.TLS
	ClientID  string
	KeepAlive int

	// source
	Topics      []string
	MaxInflight int
	Metadata    bool
	streamkit.Payload

	// sink
	Topic       string
	TopicField  string
	Retain      bool
	MaxInFlight int
}

var configSpec = configspec.Describe(func(c *Config, b *configspec.Builder) {
	b.String(&c.URL, "url").Default("tcp://127.0.0.1:1883").Doc("Broker URL: tcp://host:port (also mqtt://), or ssl://, tls://, mqtts:// for TLS.").Example("tcp://mosquitto:1883")
	b.String(&c.Username, "username").Doc("User name (default: none, anonymous).")
	b.String(&c.Password, "password").Secret().Doc("Password.")
	c.TLS.Bind(b)
	b.String(&c.ClientID, "client_id").Doc("Client id. Source: required and stable: the broker keeps the persistent session (subscriptions and unacknowledged messages) under it; two clients with one id disconnect each other. Destination: optional (default a random one; a clean session).").Example("aggregator-orders")
	b.Int(&c.KeepAlive, "keep_alive").Default(30).Min(5).Doc("Seconds between keep-alive pings; a broker silent for longer is taken as lost.")
	b.Strings(&c.Topics, "topics").PerPipeline().Doc("Source: topic filters to subscribe to with QoS 1 (+ and # wildcards).").Example([]string{"sensors/+/temperature"})
	b.Int(&c.MaxInflight, "max_inflight").PerPipeline().Default(1000).Min(1).Doc("Source: most received messages buffered before the reader returns them (with the broker's own in-flight limit, this bounds memory).")
	b.Bool(&c.Metadata, "metadata").Default(true).Doc("Source: add the fields _topic, _message_id, _duplicate and _retained after the payload fields.")
	c.Payload.Bind(b)
	b.String(&c.Topic, "topic").PerPipeline().Doc("Destination: the topic to publish to.").Example("orders/clean")
	b.String(&c.TopicField, "topic_field").PerPipeline().Doc("Destination: a field whose text is the topic (overrides topic).")
	b.Bool(&c.Retain, "retain").PerPipeline().Default(false).Doc("Destination: publish retained messages (the broker keeps the last one per topic for new subscribers).")
	b.Int(&c.MaxInFlight, "max_in_flight").PerPipeline().Default(1000).Min(1).Doc("Destination: most messages published but not yet acknowledged (PUBACK); writes wait beyond it.")
})

// decode validates raw against spec and the rules the schema cannot express.
func decode(raw map[string]any, source bool) (Config, error) {
	var c Config
	if err := connector.DecodeConfig(connector.Spec{Config: configSpec}, raw, &c); err != nil {
		return c, err
	}
	var errs []string
	u, err := url.Parse(c.URL)
	switch {
	case err != nil:
		errs = append(errs, fmt.Sprintf("url: %v", err))
	case !validScheme(u.Scheme):
		errs = append(errs, fmt.Sprintf("url: scheme must be tcp, mqtt, ssl, tls or mqtts, got %q", u.Scheme))
	case u.User != nil:
		errs = append(errs, "url: put the user name and password in username and password, not in the URL")
	case u.Port() == "":
		errs = append(errs, fmt.Sprintf("url: %q has no port (1883, or 8883 for TLS)", c.URL))
	}
	if _, err := c.TLS.Config(); err != nil {
		errs = append(errs, err.Error())
	}
	if c.Password != "" && c.Username == "" {
		errs = append(errs, "username: required with password")
	}
	if source {
		if len(c.Topics) == 0 {
			errs = append(errs, "topics: give the topic filters to subscribe to")
		}
		for i, t := range c.Topics {
			if err := checkFilter(t); err != nil {
				errs = append(errs, fmt.Sprintf("topics[%d]: %v", i, err))
			}
		}
		if c.ClientID == "" {
			errs = append(errs, "client_id: required for a source (the broker keeps its persistent session, with the unacknowledged messages, under it)")
		}
		if _, err := streamkit.NewDecoder(c.Payload, metaFields(c.Metadata)); err != nil {
			errs = append(errs, err.Error())
		}
	} else {
		if c.Topic == "" && c.TopicField == "" {
			errs = append(errs, "topic: required for a destination (or topic_field)")
		}
		if strings.ContainsAny(c.Topic, "+#") {
			errs = append(errs, fmt.Sprintf("topic: %q has a wildcard; a message is published to one topic", c.Topic))
		}
	}
	if len(errs) > 0 {
		return c, connector.ConfigError(errors.New(strings.Join(errs, "; ")))
	}
	return c, nil
}

func validScheme(s string) bool {
	switch s {
	case "tcp", "mqtt", "ssl", "tls", "mqtts":
		return true
	}
	return false
}

// checkFilter checks an MQTT topic filter: # only as the last level, + and # alone in their level.
func checkFilter(f string) error {
	if f == "" {
		return errors.New("empty topic filter")
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		if strings.Contains(l, "#") && (l != "#" || i != len(levels)-1) {
			return fmt.Errorf("%q: # must be a whole level and the last one", f)
		}
		if strings.Contains(l, "+") && l != "+" {
			return fmt.Errorf("%q: + must be a whole level", f)
		}
	}
	return nil
}

// where names the broker, for messages (never the password).
func (c Config) where() string {
	if u, err := url.Parse(c.URL); err == nil {
		return u.Host
	}
	return "the broker"
}

// options are the client options of c: the broker, the guarded dialer (with TLS), credentials.
func (c Config) options(env connector.Env) (*paho.ClientOptions, error) {
	tc, err := c.TLS.Config()
	if err != nil {
		return nil, connector.ConfigError(err)
	}
	u, _ := url.Parse(c.URL) // checked by decode
	if tc == nil && (u.Scheme == "ssl" || u.Scheme == "tls" || u.Scheme == "mqtts") {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	dial := env.Dialer()
	o := paho.NewClientOptions()
	o.AddBroker("tcp://" + u.Host) // the scheme is ours to handle in the dialer
	o.SetClientID(c.ClientID)
	if c.Username != "" {
		o.SetUsername(c.Username)
		o.SetPassword(c.Password)
	}
	o.SetKeepAlive(time.Duration(c.KeepAlive) * time.Second)
	o.SetPingTimeout(10 * time.Second)
	o.SetConnectTimeout(15 * time.Second)
	o.SetWriteTimeout(15 * time.Second)
	o.SetMaxReconnectInterval(10 * time.Second)
	o.SetOrderMatters(true)
	o.SetCustomOpenConnectionFn(func(uri *url.URL, _ paho.ClientOptions) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		conn, err := dial(ctx, "tcp", uri.Host)
		if err != nil || tc == nil {
			return conn, err
		}
		cfg := tc.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = uri.Hostname()
		}
		tconn := tls.Client(conn, cfg)
		if err := tconn.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", uri.Host, err)
		}
		return tconn, nil
	})
	return o, nil
}

// connectError turns a failed CONNECT into an error that says what to do.
func (c Config) connectError(err error) error {
	switch {
	case errors.Is(err, packets.ErrorRefusedNotAuthorised), errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		return connector.ConfigError(fmt.Errorf("mqtt: %s refused the connection: %v (check username and password)", c.where(), err))
	case errors.Is(err, packets.ErrorRefusedIDRejected):
		return connector.ConfigError(fmt.Errorf("mqtt: %s rejected client_id %q: %v", c.where(), c.ClientID, err))
	}
	return fmt.Errorf("mqtt: connect to %s: %v (%w)", c.where(), err, connector.ErrTransient)
}

// wait waits for a paho token, bounded by ctx.
func wait(ctx context.Context, t paho.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}
