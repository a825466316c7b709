package amqp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/streamkit"
)

// Config is the decoded configuration (one for the source and the sink).
type Config struct {
	URL      string
	Username string
	Password string
	TLS      streamkit.TLS

	Queue   string
	Declare bool

	// source
	Prefetch    int
	ConsumerTag string
	Exchange    string
	BindingKeys []string
	Metadata    bool
	streamkit.Payload

	// sink
	RoutingKey      string
	RoutingKeyField string
	MessageIDField  string
	HeaderFields    []string
	Persistent      bool
	Mandatory       bool
	MaxInFlight     int
}

var configSpec = configspec.Describe(func(c *Config, b *configspec.Builder) {
	b.String(&c.URL, "url").Default("amqp://127.0.0.1:5672/").Doc("Broker URL, amqp://host:port/vhost (amqps:// for TLS). Put the credentials in username and password, not in the URL.").Example("amqp://rabbitmq:5672/")
	b.String(&c.Username, "username").Default("guest").Doc("User name.")
	b.String(&c.Password, "password").Secret().Doc("Password (default guest, as the broker's default user).")
	c.TLS.Bind(b)
	b.String(&c.Queue, "queue").PerPipeline().Doc("Source: the queue to consume (required). Destination: with declare, the queue to declare (and bind to exchange with routing_key); with no exchange and no routing_key, messages go to it through the default exchange.").Example("orders")
	b.Bool(&c.Declare, "declare").PerPipeline().Default(false).Doc("Declare queue (durable) if it does not exist, and bind it to exchange (source: with binding_keys; destination: with routing_key). Without it the queue must exist.")
	b.Int(&c.Prefetch, "prefetch").PerPipeline().Default(1000).Min(1).Doc("Source: most unacknowledged deliveries the broker sends ahead (QoS). They are acknowledged when the destinations commit, so keep it above the rows of one commit, or lower the run's commit interval.")
	b.String(&c.ConsumerTag, "consumer_tag").PerPipeline().Doc("Source: consumer tag the broker shows (default: one it makes up).")
	b.String(&c.Exchange, "exchange").PerPipeline().Doc("Destination: the exchange to publish to (default: the default exchange, which routes by queue name). Source with declare: the exchange to bind queue to.").Example("orders")
	b.Strings(&c.BindingKeys, "binding_keys").PerPipeline().Doc("Source with declare and exchange: the routing keys (patterns for a topic exchange) to bind queue with (default: the queue name).").Example([]string{"orders.*"})
	b.Bool(&c.Metadata, "metadata").Default(true).Doc("Add the fields _delivery_tag, _message_id, _routing_key, _exchange, _headers, _timestamp and _redelivered after the payload fields.")
	c.Payload.Bind(b)
	b.String(&c.RoutingKey, "routing_key").PerPipeline().Doc("Destination: the routing key of every message (default: queue, when publishing to the default exchange).")
	b.String(&c.RoutingKeyField, "routing_key_field").PerPipeline().Doc("Destination: a field whose text is the routing key (overrides routing_key).")
	b.String(&c.MessageIDField, "message_id_field").PerPipeline().Doc("Destination: a field whose text is the message id (AMQP message-id property), so consumers can drop duplicates of a redelivered record.")
	b.Strings(&c.HeaderFields, "header_fields").PerPipeline().Doc("Destination: fields sent as message headers (their text), besides being in the payload.")
	b.Bool(&c.Persistent, "persistent").Default(true).Doc("Destination: persistent delivery mode (the broker writes the message to disk before it confirms, when the queue is durable).")
	b.Bool(&c.Mandatory, "mandatory").Default(true).Doc("Destination: a message no queue is bound for fails the commit instead of being dropped by the broker.")
	b.Int(&c.MaxInFlight, "max_in_flight").Default(10000).Min(1).Doc("Destination: most messages published but not yet confirmed; writes wait beyond it (backpressure).")
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
	case u.Scheme != "amqp" && u.Scheme != "amqps":
		errs = append(errs, fmt.Sprintf("url: scheme must be amqp or amqps, got %q", u.Scheme))
	case u.User != nil:
		errs = append(errs, "url: put the user name and password in username and password, not in the URL")
	default:
		if _, err := amqp091.ParseURI(c.URL); err != nil {
			errs = append(errs, fmt.Sprintf("url: %v", err))
		}
	}
	if _, err := c.TLS.Config(); err != nil {
		errs = append(errs, err.Error())
	}
	if source {
		if c.Queue == "" {
			errs = append(errs, "queue: required for a source")
		}
		if len(c.BindingKeys) > 0 && (c.Exchange == "" || !c.Declare) {
			errs = append(errs, "binding_keys: used only with declare: true and an exchange")
		}
		if _, err := streamkit.NewDecoder(c.Payload, metaFields(c.Metadata)); err != nil {
			errs = append(errs, err.Error())
		}
	} else {
		if c.Exchange == "" && c.RoutingKey == "" && c.RoutingKeyField == "" && c.Queue == "" {
			errs = append(errs, "exchange, routing_key, queue: a destination needs an exchange, a routing key or a queue to publish to")
		}
		if c.Declare && c.Queue == "" {
			errs = append(errs, "queue: required with declare: true")
		}
	}
	if len(errs) > 0 {
		return c, connector.ConfigError(errors.New(strings.Join(errs, "; ")))
	}
	return c, nil
}

// where names the broker and vhost, for messages (never the password).
func (c Config) where() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return "the broker"
	}
	return u.Host + u.Path
}

// dial connects to the broker through env's guarded dialer.
func (c Config) dial(ctx context.Context, env connector.Env) (*amqp091.Connection, error) {
	tc, err := c.TLS.Config()
	if err != nil {
		return nil, connector.ConfigError(err)
	}
	addr := c.URL
	if tc != nil && strings.HasPrefix(addr, "amqp://") {
		addr = "amqps://" + strings.TrimPrefix(addr, "amqp://")
	}
	d := env.Dialer()
	conn, err := amqp091.DialConfig(addr, amqp091.Config{
		SASL:            []amqp091.Authentication{&amqp091.PlainAuth{Username: c.Username, Password: c.password()}},
		TLSClientConfig: tc,
		Heartbeat:       10 * time.Second,
		Properties:      amqp091.Table{"connection_name": "aggregator"},
		Dial: func(network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			conn, err := d(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// the handshake must not hang on a broker that accepts and says nothing
			if err := conn.SetDeadline(time.Now().Add(15 * time.Second)); err != nil {
				conn.Close()
				return nil, err
			}
			return conn, nil
		},
	})
	if err != nil {
		if errors.Is(err, amqp091.ErrCredentials) || isCode(err, amqp091.AccessRefused) {
			return nil, connector.ConfigError(fmt.Errorf("amqp: %s refused user %q: %v (check username and password)", c.where(), c.Username, c.redact(err)))
		}
		if isCode(err, amqp091.NotAllowed) {
			return nil, connector.ConfigError(fmt.Errorf("amqp: %s: %v (check the vhost in url and the user's permissions)", c.where(), c.redact(err)))
		}
		return nil, fmt.Errorf("amqp: connect to %s: %v (%w)", c.where(), c.redact(err), connector.ErrTransient)
	}
	return conn, nil
}

func (c Config) password() string {
	if c.Password == "" && c.Username == "guest" {
		return "guest"
	}
	return c.Password
}

func isCode(err error, code int) bool {
	var ae *amqp091.Error
	return errors.As(err, &ae) && ae.Code == code
}

// redact removes the password from an error's text.
func (c Config) redact(err error) error {
	if err == nil || c.Password == "" || !strings.Contains(err.Error(), c.Password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), c.Password, "***"))
}

// declare declares the queue (durable) and binds it, or checks that it exists.
func (c Config) declare(ch *amqp091.Channel, keys []string) error {
	if c.Queue == "" {
		return nil
	}
	if !c.Declare {
		if _, err := ch.QueueDeclarePassive(c.Queue, true, false, false, false, nil); err != nil {
			if isCode(err, amqp091.NotFound) {
				return fmt.Errorf("amqp: queue %q does not exist on %s (declare it, or set declare: true): %w", c.Queue, c.where(), connector.ErrNotFound)
			}
			return fmt.Errorf("amqp: queue %q on %s: %v", c.Queue, c.where(), err)
		}
		return nil
	}
	if _, err := ch.QueueDeclare(c.Queue, true, false, false, false, nil); err != nil {
		return fmt.Errorf("amqp: declare queue %q on %s: %v", c.Queue, c.where(), err)
	}
	if c.Exchange == "" {
		return nil
	}
	if len(keys) == 0 {
		keys = []string{c.Queue}
	}
	for _, k := range keys {
		if err := ch.QueueBind(c.Queue, k, c.Exchange, false, nil); err != nil {
			return fmt.Errorf("amqp: bind queue %q to exchange %q with %q: %v", c.Queue, c.Exchange, k, err)
		}
	}
	return nil
}
