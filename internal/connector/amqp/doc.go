// Package amqp is the RabbitMQ source and sink (type amqp, AMQP 0-9-1), on
// github.com/rabbitmq/amqp091-go.
//
// The source consumes one queue with manual acknowledgements and a prefetch (QoS) bound: the broker
// never has more than prefetch unacknowledged deliveries out to the reader, which bounds its memory.
// It is unbounded (connector.Spec.Unbounded): Next blocks until deliveries arrive. Its State is the
// last delivery tag it returned on the current channel; Ack (connector.Acker) acknowledges every
// delivery up to that tag (multiple=true), and the engine calls Ack only after every destination has
// committed what came before the checkpoint. Deliveries are never acknowledged any other way; the
// ones not acknowledged when the reader stops or its connection drops are redelivered by the broker
// (at-least-once). A payload that does not parse is a reject naming the queue and delivery tag (and
// message id); it is acknowledged with the checkpoint after it reaches the dead letters, so it never
// blocks the queue. When the broker goes away the reader logs it once, reconnects with backoff and
// logs when it resumes.
//
// The sink publishes one persistent message per row with publisher confirms; Commit waits until the
// broker confirmed every message written so far (a nack or an unroutable mandatory message fails
// it). The message id may come from a field, so a consumer downstream can drop redeliveries.
package amqp
