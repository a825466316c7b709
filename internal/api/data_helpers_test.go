package api

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/dataaggregator/aggregator/internal/alerts"
	"github.com/dataaggregator/aggregator/internal/connections"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/connector/postgres"
	"github.com/dataaggregator/aggregator/internal/connector/rest"
	"github.com/dataaggregator/aggregator/internal/connector/salesforce"
	analytics "github.com/dataaggregator/aggregator/internal/metrics"
	"github.com/dataaggregator/aggregator/internal/netguard"
	"github.com/dataaggregator/aggregator/internal/pipelines"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/secretref"
	"github.com/dataaggregator/aggregator/internal/secrets"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// testData is the run service (with a running dispatcher) behind the data
// routes, with file roots in a temp directory.
type testData struct {
	deps   DataDeps
	runs   *runs.Service
	alerts *alerts.Service
	files  string // the file root pipelines read and write
	refs   *secretref.Service
	// rec records the runs' metrics; tests flush it (rec.Flush) instead of waiting for its interval.
	rec *analytics.Recorder
}

// testEncryptionKey seals saved connectors' secrets in API tests.
const testEncryptionKey = "api-test-encryption-key-0123456789abcdef"

// testMaxUpload is the upload limit in API tests.
const testMaxUpload = 64 << 10

func newTestData(t *testing.T, st *store.Store, logger *slog.Logger, opts setupOptions) *testData {
	t.Helper()
	dir := t.TempDir()
	files := filepath.Join(dir, "files")
	if err := os.MkdirAll(files, 0o755); err != nil {
		t.Fatal(err)
	}
	conns, err := connector.NewRegistry(append([]connector.Connector{csv.New(), csv.NewTSV(), postgres.New(), rest.New(), salesforce.New()}, opts.connectors...)...)
	if err != nil {
		t.Fatal(err)
	}
	trs, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	uploads := filepath.Join(dir, "uploads")
	// files plays DATA_DIR/files; the HTTP client may reach test servers on 127.0.0.1 (as
	// ALLOWED_OUTBOUND_HOSTS=127.0.0.1 would), nothing else private.
	guard, err := netguard.New(netguard.Options{Allowed: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	connEnv := connector.Env{FileRoots: []string{files}, UploadDir: uploads, OutputDir: files, HTTPClient: guard.HTTPClient()}
	keys, err := secrets.NewKeyring(testEncryptionKey)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := secretref.NewService(secretref.ServiceOptions{Store: st, Keys: keys, HTTPClient: connEnv.HTTPClient, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	saved, err := connections.New(connections.Options{Store: st, Connectors: conns, Keys: keys, Env: connEnv, Refs: refs, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := analytics.NewRecorder(analytics.RecorderOptions{Store: st, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ro := runs.Options{Store: st, Connectors: conns, Transforms: trs, Logger: logger, Env: connEnv, SavedConnectors: saved, Metrics: rec}
	if opts.runOpts != nil {
		opts.runOpts(&ro)
	}
	svc, err := runs.New(ro)
	if err != nil {
		t.Fatal(err)
	}
	al, err := alerts.New(alerts.Options{Store: st, Keys: keys, HTTPClient: guard.HTTPClient(), Dial: guard.Dialer(netguard.HTTP).DialContext, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	disp, err := runs.NewRiver(svc, runs.RiverOptions{Workers: 2, FetchPoll: 100 * time.Millisecond, DrainTimeout: 5 * time.Second,
		Heartbeat: 100 * time.Millisecond, Extra: []runs.ExtraQueue{{Name: alerts.QueueAlerts, Register: func(w *river.Workers) error {
			return river.AddWorkerSafely(w, &alerts.DeliveryWorker{Service: al, RetryBase: 50 * time.Millisecond})
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	al.SetQueue(riverDeliveries{disp})
	go func() { done <- disp.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	pls, err := pipelines.New(pipelines.Options{Store: st, Connectors: conns, Transforms: trs,
		Resolver: runs.Resolver{Store: st, Connectors: saved}, SaveResolver: runs.Resolver{Store: st, Connectors: saved.KeepingReferences()},
		Env: svc.Env(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return &testData{deps: DataDeps{Runs: svc, Pipelines: pls, Connections: saved, Connectors: conns, Transforms: trs, UploadDir: uploads, MaxUploadBytes: testMaxUpload}, runs: svc, alerts: al, files: files, refs: refs, rec: rec}
}

// riverDeliveries queues alert deliveries with the test's River client.
type riverDeliveries struct{ q *runs.River }

func (r riverDeliveries) EnqueueDelivery(ctx context.Context, id string) error {
	_, err := r.q.Client().Insert(ctx, alerts.DeliveryArgs{DeliveryID: id}, nil)
	return err
}
