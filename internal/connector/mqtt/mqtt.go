package mqtt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Connector is the mqtt connector.
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
		Name: "mqtt", Title: "MQTT", Category: "stream",
		Description: "Subscribe to topics with QoS 1 in a persistent session, acknowledging messages after the destinations commit (at-least-once), and publish with QoS 1.",
		Source:      true, Destination: true, Unbounded: true,
		Config:     configSpec,
		WriteModes: []connector.WriteMode{connector.Append},
	}
}

// Metadata field names.
const (
	FieldTopic     = "_topic"
	FieldMessageID = "_message_id"
	FieldDuplicate = "_duplicate"
	FieldRetained  = "_retained"
)

func metaFields(on bool) []record.Field {
	if !on {
		return nil
	}
	return []record.Field{
		{Name: FieldTopic, Kind: record.KindString},
		{Name: FieldMessageID, Kind: record.KindInt},
		{Name: FieldDuplicate, Kind: record.KindBool},
		{Name: FieldRetained, Kind: record.KindBool},
	}
}

func randomID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Check connects (a clean session under a throw-away client id, so a source's persistent session is
// left alone) and, for a source, subscribes to its topic filters and unsubscribes.
func (c *Connector) Check(ctx context.Context, env connector.Env, raw map[string]any) error {
	src := raw["topic"] == nil && raw["topic_field"] == nil
	if src && raw["client_id"] == nil {
		raw = withClientID(raw)
	}
	cfg, err := decode(raw, src)
	if err != nil {
		return err
	}
	cfg.ClientID = randomID("aggregator-check-")
	o, err := cfg.options(env)
	if err != nil {
		return err
	}
	o.SetCleanSession(true)
	cl := paho.NewClient(o)
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := wait(ctx, cl.Connect()); err != nil {
		return cfg.connectError(err)
	}
	defer cl.Disconnect(100)
	if !src {
		return nil
	}
	filters := map[string]byte{}
	for _, t := range cfg.Topics {
		filters[t] = 1
	}
	t := cl.SubscribeMultiple(filters, func(paho.Client, paho.Message) {})
	if err := wait(ctx, t); err != nil {
		return fmt.Errorf("mqtt: subscribe to %v on %s: %v", cfg.Topics, cfg.where(), err)
	}
	if err := subscribeRefused(t); err != nil {
		return fmt.Errorf("mqtt: %s: %v", cfg.where(), err)
	}
	return nil
}

func withClientID(raw map[string]any) map[string]any {
	m := make(map[string]any, len(raw)+1)
	for k, v := range raw {
		m[k] = v
	}
	m["client_id"] = "check"
	return m
}

// subscribeRefused reports the filters the broker refused (SUBACK return code 0x80).
func subscribeRefused(t paho.Token) error {
	st, ok := t.(*paho.SubscribeToken)
	if !ok {
		return nil
	}
	for f, code := range st.Result() {
		if code == 0x80 {
			return fmt.Errorf("the broker refused the subscription to %q (not authorised for this topic filter?)", f)
		}
	}
	return nil
}
