// Package alerts raises alerts from rules and notifies channels.
//
// A rule is a condition (run_failed, run_duration_over, reject_ratio_over, freshness_over,
// worker_down, queue_depth_over, stream_lag_over, run_awaiting_approval) and the channels to notify. Run conditions are
// evaluated on the run events of the event bus (Service.Watch); the others by Service.Evaluate,
// called by a periodic job. For each rule and subject (a pipeline, a worker, a queue) an alert
// goes firing -> resolved; each transition is notified once (deduplicated by the store, which
// admits one firing alert per rule and subject), unless a notification of the same rule and
// subject was sent less than the rule's throttle ago, or the alert is silenced.
//
// Notifications are deliveries: one row per channel, sent by a River job on QueueAlerts with
// retries and backoff (DeliveryWorker); a failed attempt is recorded on the delivery, so it shows
// on the alert, and never holds up other deliveries. Channels are a signed JSON webhook, email
// over SMTP and a Slack incoming webhook; their secrets are sealed with the keyring like saved
// connectors' and never returned. Every address is dialled through the outbound guard.
package alerts
