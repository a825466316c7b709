// Package natstest gives tests a JetStream stream of their own on the NATS server of the
// development and CI machines (AGG_TEST_NATS_URL, default nats://127.0.0.1:4222).
package natstest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dataaggregator/aggregator/internal/testutil"
)

// URL is the test server's address.
func URL() string {
	if v := os.Getenv("AGG_TEST_NATS_URL"); v != "" {
		return v
	}
	return "nats://127.0.0.1:4222"
}

// AnchorStream is the stream the tests keep on the server (see Stream).
const AnchorStream = "AGG_TEST_ANCHOR"

// Stream creates a stream with a random name capturing <name>.> and returns its name, the subject
// prefix and a JetStream handle; the test deletes it. Without a server the test skips (fails under
// CI=true).
func Stream(t testing.TB) (name, subject string, js jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(URL(), nats.Timeout(3*time.Second))
	if err != nil {
		testutil.Unavailable(t, "NATS ("+URL()+")", err)
	}
	t.Cleanup(nc.Close)
	js, err = jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	name = strings.ToUpper(testutil.Name("T"))
	subject = strings.ToLower(name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The anchor stream is created once and never deleted. nats-server (2.9) removes the account's
	// store directory when its last stream is deleted, and a stream created at that moment by a test
	// of another package fails with "could not create storage directory" (seen in CI): with the
	// anchor, the account always holds a stream.
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: AnchorStream, Subjects: []string{"agg-test-anchor"}}); err != nil {
		testutil.Unavailable(t, "NATS JetStream ("+URL()+")", err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject + ".>"}}); err != nil {
		testutil.Unavailable(t, "NATS JetStream ("+URL()+")", err)
	}
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
	return name, subject, js
}

// Publish publishes the payloads to subject and waits for the acknowledgements.
func Publish(t testing.TB, js jetstream.JetStream, subject string, payloads ...[]byte) {
	t.Helper()
	for _, p := range payloads {
		if _, err := js.PublishAsync(subject, p); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(60 * time.Second):
		t.Fatal("publish: no acknowledgement within 60s")
	}
}
