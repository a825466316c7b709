// Package mqtt is the MQTT source and sink (type mqtt, MQTT 3.1.1), on
// github.com/eclipse/paho.mqtt.golang.
//
// The source subscribes to topic filters with QoS 1 in a persistent session (clean session off,
// the client id from the config) and with paho's automatic acknowledgement disabled: a message is
// acknowledged (PUBACK) only by Ack (connector.Acker), which the engine calls after every destination
// committed what came before the checkpoint. Its State counts the messages it returned in the current
// connection; Ack acknowledges those up to the count, in the order they arrived. What is not
// acknowledged when the process stops or the connection drops is sent again by the broker when the
// session resumes (at-least-once). The reader holds at most max_inflight received messages not yet
// returned (the broker's own in-flight window bounds the rest). A payload that does not parse is a
// reject naming the topic and packet id, acknowledged with the rest. A lost broker is logged once;
// paho reconnects and the reader logs when it resumes.
//
// The sink publishes each row with QoS 1 in a clean session; Commit waits for the PUBACK of every
// message written so far, and a lost connection fails it with connector.ErrTransient.
package mqtt
