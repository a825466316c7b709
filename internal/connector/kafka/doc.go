// Package kafka is the Kafka source and sink (type kafka), on github.com/twmb/franz-go.
//
// The source reads topics (or a topic regex) as a consumer group member or, without a group, every
// partition directly. It is unbounded (connector.Spec.Unbounded): Next blocks until records arrive.
// Its State is the next offset of every partition it returned records of; its Ack (connector.Acker)
// commits those offsets to the group, and the engine calls Ack only after every destination has
// committed what came before the checkpoint, so a committed offset never runs ahead of the data.
// Offsets are never committed any other way (auto-commit is off). A run resumed from a checkpoint
// starts each partition it holds at the checkpoint's offset; other partitions start at the group's
// committed offset, or where start says. A payload that does not parse is a reject naming the topic,
// partition and offset; it never stops the partition.
//
// The sink produces one record per row with the idempotent producer (acks from all in-sync
// replicas); Commit flushes and waits for every acknowledgement.
package kafka
