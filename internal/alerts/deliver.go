package alerts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/dataaggregator/aggregator/internal/store"
)

// QueueAlerts is the River queue of deliveries: separate from runs, so a slow SMTP server never
// holds up a pipeline, and a busy run queue never holds up an alert.
const QueueAlerts = "alerts"

// DefaultMaxAttempts is how many times a delivery is tried (the first attempt and its retries).
const DefaultMaxAttempts = 5

// DeliveryArgs is the River job that sends one delivery.
type DeliveryArgs struct {
	DeliveryID string `json:"delivery_id"`
}

// Kind is the River job kind.
func (DeliveryArgs) Kind() string { return "alert_delivery" }

// InsertOpts puts deliveries in QueueAlerts.
func (DeliveryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueAlerts, MaxAttempts: DefaultMaxAttempts}
}

// DeliveryWorker sends deliveries. A failed attempt is recorded on the delivery (retrying, or
// failed after the last attempt) and retried with exponential backoff: RetryBase after the
// first failure, doubling, at most RetryMax.
type DeliveryWorker struct {
	river.WorkerDefaults[DeliveryArgs]
	Service *Service
	// RetryBase is the wait after the first failure (default 10s); RetryMax the longest (10m).
	RetryBase, RetryMax time.Duration
}

// NextRetry is the backoff: RetryBase * 2^(attempt-1), at most RetryMax.
func (w *DeliveryWorker) NextRetry(job *river.Job[DeliveryArgs]) time.Time {
	return time.Now().Add(Backoff(job.Attempt, w.RetryBase, w.RetryMax))
}

// Backoff is the wait after failed attempt n (1-based): base * 2^(n-1), at most limit (defaults
// 10s and 10m).
func Backoff(n int, base, limit time.Duration) time.Duration {
	if base <= 0 {
		base = 10 * time.Second
	}
	if limit <= 0 {
		limit = 10 * time.Minute
	}
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// Timeout bounds one attempt a little beyond the send timeout.
func (w *DeliveryWorker) Timeout(*river.Job[DeliveryArgs]) time.Duration {
	return w.Service.opts.SendTimeout + 5*time.Second
}

// Work sends the delivery once.
func (w *DeliveryWorker) Work(ctx context.Context, job *river.Job[DeliveryArgs]) error {
	return w.Service.Deliver(ctx, job.Args.DeliveryID, job.Attempt >= job.MaxAttempts)
}

// Deliver makes one attempt at a delivery and records it: sent, or retrying (the error is
// returned so that the queue tries again), or failed when last is true. A delivery already sent,
// or whose channel was deleted, is not retried.
func (s *Service) Deliver(ctx context.Context, deliveryID string, last bool) error {
	d, err := s.st.GetAlertDelivery(ctx, deliveryID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if d.Status == store.DeliverySent || d.Status == store.DeliveryFailed {
		return nil
	}
	c, err := s.st.GetAlertChannel(ctx, d.ChannelID)
	if errors.Is(err, store.ErrNotFound) {
		_, err := s.st.RecordDeliveryAttempt(ctx, d.ID, store.DeliveryFailed, "the channel was deleted")
		return err
	}
	if err != nil {
		return err
	}
	var a *store.Alert
	if d.AlertID != "" {
		al, err := s.st.GetAlert(ctx, d.AlertID)
		if err != nil {
			return err
		}
		a = &al
	}
	sendErr := s.sendTo(ctx, c, d, a)
	rec := context.WithoutCancel(ctx)
	if sendErr == nil {
		_, err := s.st.RecordDeliveryAttempt(rec, d.ID, store.DeliverySent, "")
		return err
	}
	var err2 error
	switch {
	case last && a != nil:
		_, err2 = s.st.RecordDeliveryFailure(rec, d.ID, sendErr.Error(), a.ID,
			fmt.Sprintf("%s notification to %s failed after %d attempts: %v", d.Event, c.Name, d.Attempts+1, sendErr))
	case last:
		_, err2 = s.st.RecordDeliveryAttempt(rec, d.ID, store.DeliveryFailed, sendErr.Error())
	default:
		_, err2 = s.st.RecordDeliveryAttempt(rec, d.ID, store.DeliveryRetrying, sendErr.Error())
	}
	if err2 != nil {
		return errors.Join(sendErr, err2)
	}
	s.log.WarnContext(ctx, "alert delivery failed", "channel", c.Name, "delivery_id", d.ID, "final", last, "error", sendErr)
	return sendErr
}

// sendTo sends delivery d of alert a (nil: a test) to channel c.
func (s *Service) sendTo(ctx context.Context, c store.AlertChannel, d store.AlertDelivery, a *store.Alert) error {
	set, err := s.settings(c)
	if err != nil {
		return err
	}
	p := Payload{Event: d.Event, DeliveryID: d.ID, SentAt: s.now().UTC()}
	if a != nil {
		p.Alert = PayloadAlert{ID: a.ID, RuleID: a.RuleID, RuleName: a.RuleName, State: a.State, Title: a.Title, Message: a.Message,
			Subject: a.Subject, PipelineID: a.PipelineID, RunID: a.RunID, FiredAt: a.FiredAt, ResolvedAt: a.ResolvedAt}
		if s.opts.PublicURL != "" {
			p.Alert.URL = strings.TrimRight(s.opts.PublicURL, "/") + "/alerts/" + a.ID
		}
	} else {
		p.Alert = PayloadAlert{Title: "Test notification from channel " + c.Name, State: "test", FiredAt: p.SentAt}
	}
	return s.send.send(ctx, c.Type, set, p)
}
