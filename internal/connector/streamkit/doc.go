// Package streamkit holds what the message-broker connectors (kafka, nats_jetstream) share: the
// payload configuration (format json, ndjson, csv or raw, and the declared payload fields), a
// Decoder that turns one message's payload into rows (a payload that does not parse becomes a
// reject naming the message's position, never an error that stops the stream), an Encoder that
// turns a row into a payload, and the TLS configuration.
//
// Message metadata (key, headers, partition, offset, subject, sequence...) is the connector's: it
// declares the metadata fields and fills them per message; the Decoder puts them after the payload
// fields.
package streamkit
