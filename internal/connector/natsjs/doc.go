// Package natsjs is the NATS JetStream source and sink (type nats_jetstream), on
// github.com/nats-io/nats.go's jetstream API.
//
// The source reads a stream through a durable pull consumer with explicit acks. Its State counts
// the messages it returned; its Ack (connector.Acker), which the engine calls only after every
// destination committed what came before the checkpoint, acknowledges exactly those messages, so a
// message is never acknowledged before it is durable downstream. Messages not acknowledged within
// ack_wait (a crash, a stopped process) are delivered again: at-least-once. A payload that does not
// parse is a reject naming the stream and sequence, and is acknowledged with the rest.
//
// The sink publishes each row and waits for the stream's acknowledgement at Commit; each message
// carries a Nats-Msg-Id (from msg_id_field, or the run and row), so that the stream drops a
// duplicate sent within its duplicate window.
package natsjs
