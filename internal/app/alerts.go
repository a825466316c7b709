package app

import (
	"context"
	"database/sql"
	"time"

	"github.com/riverqueue/river"

	"github.com/dataaggregator/aggregator/internal/alerts"
	"github.com/dataaggregator/aggregator/internal/netguard"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/secrets"
)

// AlertEvaluateInterval is how often the periodic alert conditions are evaluated.
const AlertEvaluateInterval = 30 * time.Second

// buildAlerts builds the alert service: channel secrets sealed with the keyring, webhooks and
// Slack posted with the outbound guard's HTTP client, SMTP dialled through its dialer (both widened
// by ALLOWED_OUTBOUND_HOSTS).
func (a *App) buildAlerts(keys *secrets.Keyring) error {
	g, err := netguard.New(netguard.Options{Allowed: a.cfg.AllowedOutbound})
	if err != nil {
		g, _ = netguard.New(netguard.Options{})
	}
	svc, err := alerts.New(alerts.Options{Store: a.store, Keys: keys, HTTPClient: g.HTTPClient(),
		Dial: g.Dialer(netguard.HTTP).DialContext, PublicURL: a.cfg.PublicURL, WorkerLease: a.cfg.RunLease, Logger: a.log,
		SMTPTLS: a.alertSMTPTLS, SendTimeout: a.alertSendTimeout})
	if err != nil {
		return err
	}
	a.alerts = svc
	return nil
}

// alertsQueue is the queue of alert deliveries in the River client.
func (a *App) alertsQueue() runs.ExtraQueue {
	return runs.ExtraQueue{Name: alerts.QueueAlerts, MaxWorkers: 4, Register: func(w *river.Workers) error {
		return river.AddWorkerSafely(w, &alerts.DeliveryWorker{Service: a.alerts, RetryBase: a.alertRetryBase})
	}}
}

// deliveryQueue inserts delivery jobs with the River client.
type deliveryQueue struct{ c *river.Client[*sql.Tx] }

func (q deliveryQueue) EnqueueDelivery(ctx context.Context, id string) error {
	_, err := q.c.Insert(ctx, alerts.DeliveryArgs{DeliveryID: id}, nil)
	return err
}

// Alerts is the alert service.
func (a *App) Alerts() *alerts.Service { return a.alerts }
