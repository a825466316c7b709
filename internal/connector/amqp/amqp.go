package amqp

import (
	"context"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Connector is the amqp connector.
type Connector struct{}

// New returns the connector.
func New() *Connector { return &Connector{} }

var (
	_ connector.Source      = (*Connector)(nil)
	_ connector.Destination = (*Connector)(nil)
	_ connector.Checker     = (*Connector)(nil)
	_ connector.Acker       = (*reader)(nil)
)

// Spec describes the connector: one configuration for the source and the sink.
func (c *Connector) Spec() connector.Spec {
	return connector.Spec{
		Name: "amqp", Title: "RabbitMQ (AMQP 0-9-1)", Category: "stream",
		Description: "Consume a queue with manual acknowledgements sent after the destinations commit (at-least-once), and publish persistent messages with publisher confirms.",
		Source:      true, Destination: true, Unbounded: true, ConsumerGroups: true,
		Config:     configSpec,
		WriteModes: []connector.WriteMode{connector.Append},
	}
}

// Metadata field names.
const (
	FieldDeliveryTag = "_delivery_tag"
	FieldMessageID   = "_message_id"
	FieldRoutingKey  = "_routing_key"
	FieldExchange    = "_exchange"
	FieldHeaders     = "_headers"
	FieldTimestamp   = "_timestamp"
	FieldRedelivered = "_redelivered"
)

func metaFields(on bool) []record.Field {
	if !on {
		return nil
	}
	return []record.Field{
		{Name: FieldDeliveryTag, Kind: record.KindInt},
		{Name: FieldMessageID, Kind: record.KindString, Nullable: true},
		{Name: FieldRoutingKey, Kind: record.KindString},
		{Name: FieldExchange, Kind: record.KindString},
		{Name: FieldHeaders, Kind: record.KindJSON, Nullable: true},
		{Name: FieldTimestamp, Kind: record.KindTimestamp, Nullable: true},
		{Name: FieldRedelivered, Kind: record.KindBool},
	}
}

// Check connects and checks that the queue exists (or can be declared) and, for a destination, that
// the exchange exists.
func (c *Connector) Check(ctx context.Context, env connector.Env, raw map[string]any) error {
	src := raw["exchange"] == nil && raw["routing_key"] == nil && raw["routing_key_field"] == nil
	cfg, err := decode(raw, src)
	if err != nil {
		return err
	}
	conn, err := cfg.dial(ctx, env)
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("amqp: open a channel on %s: %v", cfg.where(), err)
	}
	defer ch.Close()
	if !src && cfg.Exchange != "" {
		if err := ch.ExchangeDeclarePassive(cfg.Exchange, "direct", true, false, false, false, nil); err != nil {
			if isCode(err, 404) {
				return fmt.Errorf("amqp: exchange %q does not exist on %s: %w", cfg.Exchange, cfg.where(), connector.ErrNotFound)
			}
			return fmt.Errorf("amqp: exchange %q on %s: %v", cfg.Exchange, cfg.where(), err)
		}
		// a failed passive declare closes the channel; the queue check needs a fresh one
		if ch, err = conn.Channel(); err != nil {
			return fmt.Errorf("amqp: open a channel on %s: %v", cfg.where(), err)
		}
		defer ch.Close()
	}
	return cfg.declare(ch, cfg.BindingKeys)
}
