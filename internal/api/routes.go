package api

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/runs"
)

// registerRoutes is the one place that lists every API route with its
// permission. To add a resource: write its handlers in a new file and add its
// lines here (and, for a new permission, a line in auth/permissions.go). The
// route-by-role test fails until the new route is in its expectation table.
func (s *Server) registerRoutes(api huma.API) {
	const (
		get, post, put, patch, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
		created, empty             = http.StatusCreated, http.StatusNoContent
	)

	// Operations.
	handle(s, api, route{Method: get, Path: "/healthz", ID: "healthz", Tag: "operations", Public: true,
		Summary: "Liveness: the process serves HTTP"}, s.healthz)
	handle(s, api, route{Method: get, Path: "/readyz", ID: "readyz", Tag: "operations", Public: true,
		Summary: "Readiness: the metadata store answers and its schema is current"}, s.readyz)

	// Authentication and the caller's own account.
	handle(s, api, route{Method: post, Path: "/api/v1/auth/login", ID: "login", Action: "auth.login", Target: "user", Tag: "auth", Public: true,
		Summary: "Sign in with username or email and password; returns an access and a refresh token"}, s.login)
	handle(s, api, route{Method: post, Path: "/api/v1/auth/refresh", ID: "refresh", Action: "auth.refresh", Tag: "auth", Public: true,
		Summary: "Exchange a refresh token for a new token pair (the old refresh token is spent)"}, s.refresh)
	handle(s, api, route{Method: post, Path: "/api/v1/auth/logout", ID: "logout", Action: "auth.logout", Tag: "auth", Public: true, Status: empty,
		Summary: "Revoke a refresh token and every token of its login session"}, s.logout)
	handle(s, api, route{Method: get, Path: "/api/v1/auth/me", ID: "get-me", Tag: "auth", Perm: auth.PermProfileSelf, WhilePasswordChange: true,
		Summary: "The signed-in user, with the permissions of their role"}, s.me)
	handle(s, api, route{Method: post, Path: "/api/v1/auth/password", ID: "change-password", Action: "auth.password_change", Tag: "auth", Perm: auth.PermProfileSelf, Status: empty, WhilePasswordChange: true,
		Summary: "Change your own password (the current one is required); ends your other sessions"}, s.changePassword)

	// API tokens (own).
	handle(s, api, route{Method: get, Path: "/api/v1/auth/tokens", ID: "list-api-tokens", Tag: "auth", Perm: auth.PermTokensSelf,
		Summary: "Your API tokens (the tokens themselves are never shown again)"}, s.listTokens)
	handle(s, api, route{Method: post, Path: "/api/v1/auth/tokens", ID: "create-api-token", Action: "api_token.create", Target: "api_token", Tag: "auth", Perm: auth.PermTokensSelf, Status: created,
		Summary: "Create an API token carrying your role; the response shows it once"}, s.createToken)
	handle(s, api, route{Method: del, Path: "/api/v1/auth/tokens/{id}", ID: "revoke-api-token", Action: "api_token.revoke", Target: "api_token", Tag: "auth", Perm: auth.PermTokensSelf, Status: empty,
		Summary: "Revoke one of your API tokens"}, s.revokeToken)

	// Users.
	handle(s, api, route{Method: get, Path: "/api/v1/users", ID: "list-users", Tag: "users", Perm: auth.PermUsersRead,
		Summary: "List users (search, filter by role and active, paginated with total)"}, s.listUsers)
	handle(s, api, route{Method: post, Path: "/api/v1/users", ID: "create-user", Action: "user.create", Target: "user", Tag: "users", Perm: auth.PermUsersWrite, Status: created,
		Summary: "Create a user (only an admin may create an admin)"}, s.createUser)
	handle(s, api, route{Method: get, Path: "/api/v1/users/{id}", ID: "get-user", Tag: "users", Perm: auth.PermUsersRead,
		Summary: "Get a user"}, s.getUser)
	handle(s, api, route{Method: patch, Path: "/api/v1/users/{id}", ID: "update-user", Action: "user.update", Target: "user", Tag: "users", Perm: auth.PermUsersWrite,
		Summary: "Change a user's email, name, role or active flag (only an admin may touch admins or grant admin)"}, s.updateUser)
	handle(s, api, route{Method: post, Path: "/api/v1/users/{id}/deactivate", ID: "deactivate-user", Action: "user.deactivate", Target: "user", Tag: "users", Perm: auth.PermUsersWrite,
		Summary: "Deactivate a user and end their sessions"}, s.deactivateUser)
	handle(s, api, route{Method: post, Path: "/api/v1/users/{id}/password", ID: "reset-user-password", Action: "user.password_reset", Target: "user", Tag: "users", Perm: auth.PermUsersWrite, Status: empty,
		Summary: "Set a temporary password for a user (never for an admin); they must change it"}, s.resetPassword)
	handle(s, api, route{Method: del, Path: "/api/v1/users/{id}", ID: "delete-user", Action: "user.delete", Target: "user", Tag: "users", Perm: auth.PermUsersWrite, Status: empty,
		Summary: "Delete a user (their audit entries stay)"}, s.deleteUser)

	// Audit log (read only: no route changes or deletes an entry).
	handle(s, api, route{Method: get, Path: "/api/v1/audit-logs", ID: "list-audit-logs", Tag: "audit", Perm: auth.PermAuditRead,
		Summary: "Audit entries, newest first, filtered by actor, action, target, result and time range"}, s.listAudit)

	// Administration: retention settings and the clean-up (admin.go).
	handle(s, api, route{Method: get, Path: "/api/v1/admin/settings/retention", ID: "get-retention-settings", Tag: "admin", Perm: auth.PermSettingsRead,
		Summary: "How long runs, dead letters, server logs, unreferenced uploads and staged outputs are kept, with the defaults"}, s.getRetention)
	handle(s, api, route{Method: put, Path: "/api/v1/admin/settings/retention", ID: "put-retention-settings", Action: "settings.retention_update", Target: "settings", Tag: "admin", Perm: auth.PermSettingsWrite,
		Summary: "Change the retention settings (each a whole number of days or hours, 1h to 3650d; 422 naming the field)"}, s.putRetention)
	// Administration: secret managers for secret references (secretrefs.go).
	handle(s, api, route{Method: get, Path: "/api/v1/admin/settings/secret-managers", ID: "get-secret-manager-settings", Tag: "admin", Perm: auth.PermSettingsRead,
		Summary: "The secret managers that vault://, aws-sm://, gcp-sm://, azure-kv:// and file:// references in saved connectors resolve with (their credentials shown as ********)"}, s.getSecretManagers)
	handle(s, api, route{Method: put, Path: "/api/v1/admin/settings/secret-managers", ID: "put-secret-manager-settings", Action: "settings.secret_managers_update", Target: "settings", Tag: "admin", Perm: auth.PermSettingsWrite,
		Summary: "Change the secret managers (Vault address and auth, file roots, cache TTL; 422 naming the field)"}, s.putSecretManagers)
	handle(s, api, route{Method: post, Path: "/api/v1/admin/settings/secret-managers/test", ID: "test-secret-manager-settings", Action: "settings.secret_managers_test", Target: "settings", Tag: "admin", Perm: auth.PermSettingsWrite,
		Summary: "Resolve one reference with settings being edited (not saved); says whether it resolves, never its value"}, s.testSecretManagers)
	handle(s, api, route{Method: post, Path: "/api/v1/admin/cleanup", ID: "run-cleanup", Action: "retention.cleanup", Target: "retention", Tag: "admin", Perm: auth.PermCleanup,
		Summary:     "Run the clean-up now and report what it removed (audited with the counts)",
		Description: "Deletes expired refresh tokens, finished runs past their retention with their log lines and dead letters, old dead letters, old server log lines, unreferenced uploads and staged files of abandoned runs, as docs/runs.md defines them. Queued and running runs are never touched. The clean-up also runs by itself every hour."}, s.runCleanup)

	// System logs and health (system.go).
	handle(s, api, route{Method: get, Path: "/api/v1/system/logs", ID: "list-system-logs", Tag: "system", Perm: auth.PermSystemLogsRead,
		Summary: "The server's own log records, newest first, filtered by level, component, request id, run id, user, text and time (cursor pages)"}, s.listSystemLogs)
	handle(s, api, route{Method: get, Path: "/api/v1/system/requests/{id}", ID: "get-request-trace", Tag: "system", Perm: auth.PermSystemLogsRead,
		Summary: "Follow a request id: its log records, its audit entries, the runs it started and their log lines"}, s.requestTrace)
	handle(s, api, route{Method: get, Path: "/api/v1/system/health", ID: "get-system-health", Tag: "system", Perm: auth.PermSettingsRead,
		Summary: "Health of the store, Redis, workers, queue, DATA_DIR's disk and the log writer, with the build (200 even when a part fails: see status)"}, s.systemHealth)

	// Own preferences and dashboard layouts.
	handle(s, api, route{Method: get, Path: "/api/v1/me/preferences", ID: "get-preferences", Tag: "me", Perm: auth.PermPreferencesSelf,
		Summary: "Your preferences (defaults until you save them)"}, s.getPreferences)
	handle(s, api, route{Method: put, Path: "/api/v1/me/preferences", ID: "put-preferences", Action: "preferences.update", Tag: "me", Perm: auth.PermPreferencesSelf,
		Summary: "Save your theme, language and time zone"}, s.putPreferences)
	handle(s, api, route{Method: get, Path: "/api/v1/me/dashboards", ID: "list-dashboard-layouts", Tag: "me", Perm: auth.PermLayoutsSelf,
		Summary: "Your dashboard layouts, the default first"}, s.listLayouts)
	handle(s, api, route{Method: post, Path: "/api/v1/me/dashboards", ID: "create-dashboard-layout", Action: "dashboard_layout.create", Target: "dashboard_layout", Tag: "me", Perm: auth.PermLayoutsSelf, Status: created,
		Summary: "Save a dashboard layout (your first one becomes the default)"}, s.createLayout)
	handle(s, api, route{Method: get, Path: "/api/v1/me/dashboards/{id}", ID: "get-dashboard-layout", Tag: "me", Perm: auth.PermLayoutsSelf,
		Summary: "One of your dashboard layouts"}, s.getLayout)
	handle(s, api, route{Method: put, Path: "/api/v1/me/dashboards/{id}", ID: "update-dashboard-layout", Action: "dashboard_layout.update", Target: "dashboard_layout", Tag: "me", Perm: auth.PermLayoutsSelf,
		Summary: "Replace a dashboard layout's name and content"}, s.updateLayout)
	handle(s, api, route{Method: post, Path: "/api/v1/me/dashboards/{id}/default", ID: "set-default-dashboard-layout", Action: "dashboard_layout.set_default", Target: "dashboard_layout", Tag: "me", Perm: auth.PermLayoutsSelf,
		Summary: "Make a layout your default (exactly one is)"}, s.setDefaultLayout)
	handle(s, api, route{Method: del, Path: "/api/v1/me/dashboards/{id}", ID: "delete-dashboard-layout", Action: "dashboard_layout.delete", Target: "dashboard_layout", Tag: "me", Perm: auth.PermLayoutsSelf, Status: empty,
		Summary: "Delete a dashboard layout (the most recent other one becomes the default)"}, s.deleteLayout)

	// Pipelines. Bodies that carry a spec are the spec document itself (YAML or JSON).
	handle(s, api, route{Method: get, Path: "/api/v1/pipelines", ID: "list-pipelines", Tag: "pipelines", Perm: auth.PermPipelinesRead,
		Summary: "List pipelines (search, paginated with total)"}, s.listPipelines)
	handle(s, api, route{Method: post, Path: "/api/v1/pipelines", ID: "create-pipeline", Action: "pipeline.create", Target: "pipeline", Tag: "pipelines", Perm: auth.PermPipelinesWrite, Status: created, MaxBody: pipeline.MaxSpecSize,
		Summary: "Save a new pipeline from its spec (YAML or JSON); refused with every problem and its path when invalid"}, s.createPipeline)
	handle(s, api, route{Method: post, Path: "/api/v1/pipelines/validate", ID: "validate-pipeline", Tag: "pipelines", Perm: auth.PermPipelinesWrite, MaxBody: pipeline.MaxSpecSize,
		Summary: "Check a spec: 200 with valid and every problem with its path"}, s.validatePipeline)
	handle(s, api, route{Method: post, Path: "/api/v1/pipelines/preview", ID: "preview-pipeline-spec", Tag: "pipelines", Perm: auth.PermPipelinesWrite, MaxBody: pipeline.MaxSpecSize,
		Summary: "Run the first rows of an unsaved spec through every node; per-node samples, nothing written"}, s.previewSpec)
	handle(s, api, route{Method: get, Path: "/api/v1/pipelines/{id}", ID: "get-pipeline", Tag: "pipelines", Perm: auth.PermPipelinesRead,
		Summary: "Get a pipeline with its current spec"}, s.getPipeline)
	handle(s, api, route{Method: put, Path: "/api/v1/pipelines/{id}", ID: "update-pipeline", Action: "pipeline.update", Target: "pipeline", Tag: "pipelines", Perm: auth.PermPipelinesWrite, MaxBody: pipeline.MaxSpecSize,
		Summary: "Save a new version of a pipeline's spec"}, s.updatePipeline)
	handle(s, api, route{Method: del, Path: "/api/v1/pipelines/{id}", ID: "delete-pipeline", Action: "pipeline.delete", Target: "pipeline", Tag: "pipelines", Perm: auth.PermPipelinesWrite, Status: empty,
		Summary: "Delete a pipeline (soft: its versions and runs stay)"}, s.deletePipeline)
	handle(s, api, route{Method: get, Path: "/api/v1/pipelines/{id}/versions", ID: "list-pipeline-versions", Tag: "pipelines", Perm: auth.PermPipelinesRead,
		Summary: "A pipeline's saved versions, newest first"}, s.listPipelineVersions)
	handle(s, api, route{Method: post, Path: "/api/v1/pipelines/{id}/preview", ID: "preview-pipeline", Tag: "pipelines", Perm: auth.PermPipelinesWrite,
		Summary: "Run the first rows of a saved pipeline through every node; per-node samples, nothing written"}, s.previewPipeline)
	handle(s, api, route{Method: post, Path: "/api/v1/pipelines/{id}/run", ID: "run-pipeline", Action: "pipeline.run", Target: "pipeline", Tag: "pipelines", Perm: auth.PermPipelinesRun, Status: http.StatusAccepted,
		Summary: "Queue a run of the pipeline (current version, or ?version=N); 202 with the run"}, s.runPipeline)
	handle(s, api, route{Method: post, Path: "/api/v1/pipelines/{id}/trigger", ID: "trigger-pipeline-webhook", Action: "pipeline.webhook", Target: "pipeline", Tag: "pipelines", Public: true, Status: http.StatusAccepted, OptionalBody: runs.MaxWebhookPayload,
		Summary: "Webhook: queue a run of the pipeline, authenticated by the pipeline's webhook token (not a user); 202 with the run", Description: webhookDescription}, s.webhook)
	handle(s, api, route{Method: get, Path: "/api/v1/pipelines/{id}/trigger-token", ID: "get-pipeline-trigger-token", Tag: "pipelines", Perm: auth.PermPipelinesRead,
		Summary: "Whether the pipeline has a webhook token, its prefix, creation and last use (never the token), and the webhook URL"}, s.getTriggerToken)
	handle(s, api, route{Method: post, Path: "/api/v1/pipelines/{id}/trigger-token", ID: "create-pipeline-trigger-token", Action: "pipeline.trigger_token.create", Target: "pipeline", Tag: "pipelines", Perm: auth.PermPipelinesWrite, Status: created,
		Summary: "Create or rotate the pipeline's webhook token (the old one stops working at once); the response shows it once"}, s.createTriggerToken)
	handle(s, api, route{Method: del, Path: "/api/v1/pipelines/{id}/trigger-token", ID: "revoke-pipeline-trigger-token", Action: "pipeline.trigger_token.revoke", Target: "pipeline", Tag: "pipelines", Perm: auth.PermPipelinesWrite, Status: empty,
		Summary: "Revoke the pipeline's webhook token; 404 when it has none"}, s.deleteTriggerToken)
	handle(s, api, route{Method: post, Path: "/api/v1/pipelines/{id}/schedule/pause", ID: "pause-pipeline-schedule", Action: "pipeline.schedule.pause", Target: "pipeline", Tag: "pipelines", Perm: auth.PermPipelinesRun,
		Summary: "Pause the pipeline's schedule (no new version); its ticks start no run until resumed"}, s.pauseSchedule)
	handle(s, api, route{Method: post, Path: "/api/v1/pipelines/{id}/schedule/resume", ID: "resume-pipeline-schedule", Action: "pipeline.schedule.resume", Target: "pipeline", Tag: "pipelines", Perm: auth.PermPipelinesRun,
		Summary: "Resume the pipeline's schedule; the ticks of the pause are not caught up"}, s.resumeSchedule)
	handle(s, api, route{Method: put, Path: "/api/v1/pipelines/{id}/managed", ID: "set-pipeline-managed", Action: "pipeline.managed.set", Target: "pipeline", Tag: "pipelines", Perm: auth.PermPipelinesWrite,
		Summary: "Mark the pipeline as written from a file now (aggregator apply does); a later change in the web app or the API shows as drift", Description: managedDescription}, s.setPipelineManaged)
	handle(s, api, route{Method: del, Path: "/api/v1/pipelines/{id}/managed", ID: "unset-pipeline-managed", Action: "pipeline.managed.unset", Target: "pipeline", Tag: "pipelines", Perm: auth.PermPipelinesWrite, Status: empty,
		Summary: "Stop marking the pipeline as managed from a file; 404 when it was not"}, s.unsetPipelineManaged)
	handle(s, api, route{Method: put, Path: "/api/v1/connectors/{id}/managed", ID: "set-connector-managed", Action: "connector.managed.set", Target: "connector", Tag: "connectors", Perm: auth.PermConnectorsWrite,
		Summary: "Mark the connector as written from a file now (aggregator apply does)", Description: managedDescription}, s.setConnectorManaged)
	handle(s, api, route{Method: del, Path: "/api/v1/connectors/{id}/managed", ID: "unset-connector-managed", Action: "connector.managed.unset", Target: "connector", Tag: "connectors", Perm: auth.PermConnectorsWrite, Status: empty,
		Summary: "Stop marking the connector as managed from a file; 404 when it was not"}, s.unsetConnectorManaged)
	handle(s, api, route{Method: put, Path: "/api/v1/transformations/{id}/managed", ID: "set-transformation-managed", Action: "transformation.managed.set", Target: "transformation", Tag: "transformations", Perm: auth.PermTransformationsWrite,
		Summary: "Mark the transformation as written from a file now (aggregator apply does)", Description: managedDescription}, s.setTransformationManaged)
	handle(s, api, route{Method: del, Path: "/api/v1/transformations/{id}/managed", ID: "unset-transformation-managed", Action: "transformation.managed.unset", Target: "transformation", Tag: "transformations", Perm: auth.PermTransformationsWrite, Status: empty,
		Summary: "Stop marking the transformation as managed from a file; 404 when it was not"}, s.unsetTransformationManaged)
	handle(s, api, route{Method: get, Path: "/api/v1/schedules/preview", ID: "preview-schedule", Tag: "pipelines", Perm: auth.PermPipelinesRead,
		Summary: "Read a cron expression in a time zone: plain words and the next five run times, or 422 naming the wrong field"}, s.previewSchedule)

	// Runs.
	handle(s, api, route{Method: get, Path: "/api/v1/runs", ID: "list-runs", Tag: "runs", Perm: auth.PermRunsRead,
		Summary: "Runs, newest first, filtered by pipeline, status and time"}, s.listRuns)
	handle(s, api, route{Method: get, Path: "/api/v1/workers", ID: "list-workers", Tag: "runs", Perm: auth.PermWorkersRead,
		Summary: "The worker processes of the run queue: host, pid, version, queues, running jobs, last heartbeat, status"}, s.listWorkers)
	handle(s, api, route{Method: get, Path: "/api/v1/runs/{id}", ID: "get-run", Tag: "runs", Perm: auth.PermRunsRead,
		Summary: "A run: status, timings, error, version and per-node counters"}, s.getRun)
	handle(s, api, route{Method: post, Path: "/api/v1/runs/{id}/cancel", ID: "cancel-run", Action: "run.cancel", Target: "run", Tag: "runs", Perm: auth.PermPipelinesCancel,
		Summary: "Cancel a queued or running run, or one awaiting approval"}, s.cancelRun)
	handle(s, api, route{Method: post, Path: "/api/v1/runs/{id}/schema-review/approve", ID: "approve-run-schema-changes", Action: "run.schema_review.approve", Target: "run", Tag: "runs", Perm: auth.PermRunsReview,
		Summary: "Approve the schema changes a run awaits (write.schema_changes: review): the run is queued again and applies them; 409 when it awaits nothing"}, s.approveRun)
	handle(s, api, route{Method: post, Path: "/api/v1/runs/{id}/schema-review/reject", ID: "reject-run-schema-changes", Action: "run.schema_review.reject", Target: "run", Tag: "runs", Perm: auth.PermRunsReview,
		Summary: "Reject the schema changes a run awaits: the run fails naming them; 409 when it awaits nothing"}, s.rejectRun)
	for _, c := range []struct {
		control runs.Control
		summary string
	}{
		{runs.ControlStop, "Stop a deployed streaming run: its instances commit what they read and the run ends succeeded"},
		{runs.ControlPause, "Pause a deployed streaming run: its instances commit what they read and stop until resumed"},
		{runs.ControlResume, "Resume a paused deployed streaming run: its instances are queued again and continue from their committed positions"},
		{runs.ControlRestart, "Restart a deployed streaming run: its instances commit, stop and are queued again (on any worker)"},
	} {
		handle(s, api, route{Method: post, Path: "/api/v1/runs/{id}/" + string(c.control), ID: string(c.control) + "-run", Action: "run." + string(c.control),
			Target: "run", Tag: "runs", Perm: auth.PermRunsControl, Summary: c.summary}, s.controlRun(c.control))
	}
	handle(s, api, route{Method: get, Path: "/api/v1/runs/{id}/logs", ID: "get-run-logs", Tag: "runs", Perm: auth.PermRunsRead,
		Summary: "A run's log lines, oldest first"}, s.runLogs)
	handle(s, api, route{Method: get, Path: "/api/v1/runs/{id}/dead-letters", ID: "download-run-dead-letters", Tag: "runs", Perm: auth.PermRunsRead,
		Summary: "Download a run's rejected rows (file, line, field, reason) as CSV or NDJSON"}, s.deadLetters)
	handle(s, api, route{Method: post, Path: "/api/v1/runs/{id}/dead-letters/replay", ID: "replay-run-dead-letters", Action: "run.replay", Target: "run", Tag: "runs", Perm: auth.PermRunsReplay, Status: http.StatusAccepted,
		Summary: "Replay a finished run's dead letters (optionally edited) through the current pipeline as a new run; 202 with the new run",
		Description: "Each dead letter enters the pipeline's current version again at the node that rejected it and goes on to that node's destinations. " +
			"`edits` replace field values of some dead letters (by dead-letter id). The new run's `replay_of` names the run replayed; rows that now pass are written " +
			"(upsert destinations take them without duplicates), the others become the new run's dead letters with their reasons. " +
			"409 when the run has not finished or has no dead letters; 422 naming `edits[i]` for an unknown dead letter. " +
			"The replay run fails (nothing written) when a node on the rows' way keeps state across the run (aggregate, dedup, unique rule, join lookup) " +
			"or a destination it reaches overwrites its content."}, s.replayRun)
	handle(s, api, route{Method: get, Path: "/api/v1/runs/{id}/outputs", ID: "list-run-outputs", Tag: "runs", Perm: auth.PermRunsRead,
		Summary: "The files a succeeded run's file destinations wrote: node id, name, path under DATA_DIR/files, bytes, rows"}, s.runOutputs)
	handle(s, api, route{Method: get, Path: "/api/v1/runs/{id}/outputs/{node}", ID: "download-run-output", Action: "run.output_download", Target: "run", Tag: "runs", Perm: auth.PermRunsRead, Audit: true,
		Summary:     "Download the file a run's destination node wrote (audited)",
		Description: "Only files under DATA_DIR/files are served (403 otherwise); 404 when the run has no output for the node."}, s.downloadRunOutput)

	// Live updates (ws.go): a WebSocket; the token comes in the first frame.
	handle(s, api, route{Method: get, Path: "/api/v1/ws", ID: "live-updates", Tag: "runs", Perm: auth.PermRunsRead, InBandAuth: true,
		Status:      http.StatusSwitchingProtocols,
		Summary:     "Live updates over a WebSocket: run status, progress and log lines as they happen",
		Description: liveDescription}, s.liveUpdates)

	// Saved transformations.
	handle(s, api, route{Method: get, Path: "/api/v1/transformations", ID: "list-transformations", Tag: "transformations", Perm: auth.PermTransformationsRead,
		Summary: "List saved transformations"}, s.listTransformations)
	handle(s, api, route{Method: post, Path: "/api/v1/transformations", ID: "create-transformation", Action: "transformation.create", Target: "transformation", Tag: "transformations", Perm: auth.PermTransformationsWrite, Status: created,
		Summary: "Save a transformation (type and config, checked against the type's spec)"}, s.createTransformation)
	handle(s, api, route{Method: post, Path: "/api/v1/transformations/preview", ID: "preview-transformation-config", Tag: "transformations", Perm: auth.PermTransformationsWrite, MaxBody: 8 << 20,
		Summary: "Run a transformation type and config on sample rows"}, s.previewTransformation)
	handle(s, api, route{Method: get, Path: "/api/v1/transformations/{id}", ID: "get-transformation", Tag: "transformations", Perm: auth.PermTransformationsRead,
		Summary: "Get a saved transformation"}, s.getTransformation)
	handle(s, api, route{Method: put, Path: "/api/v1/transformations/{id}", ID: "update-transformation", Action: "transformation.update", Target: "transformation", Tag: "transformations", Perm: auth.PermTransformationsWrite,
		Summary: "Replace a saved transformation (its version goes up)"}, s.updateTransformation)
	handle(s, api, route{Method: del, Path: "/api/v1/transformations/{id}", ID: "delete-transformation", Action: "transformation.delete", Target: "transformation", Tag: "transformations", Perm: auth.PermTransformationsWrite, Status: empty,
		Summary: "Delete a saved transformation"}, s.deleteTransformation)
	handle(s, api, route{Method: post, Path: "/api/v1/transformations/{id}/preview", ID: "preview-transformation", Tag: "transformations", Perm: auth.PermTransformationsWrite, MaxBody: 8 << 20,
		Summary: "Run a saved transformation on sample rows"}, s.previewSavedTransformation)

	// Schema mapping.
	handle(s, api, route{Method: post, Path: "/api/v1/mappings/suggest", ID: "suggest-mapping", Tag: "mappings", Perm: auth.PermMappingsRead,
		Summary: "Propose source -> destination field pairs, each with a confidence and a reason"}, s.suggestMapping)

	// Uploaded files.
	handle(s, api, route{Method: get, Path: "/api/v1/files", ID: "list-files", Tag: "files", Perm: auth.PermFilesRead,
		Summary: "Uploaded files, newest first"}, s.listFiles)
	handle(s, api, route{Method: post, Path: "/api/v1/files", ID: "upload-file", Action: "file.upload", Target: "file", Tag: "files", Perm: auth.PermFilesWrite, Status: created, MaxBody: uploadRouteLimit(s.maxUpload()),
		Summary:     "Upload a file (multipart/form-data, part \"file\"): streamed to disk, size-limited, type-sniffed",
		Description: "Accepted content: CSV, TSV, JSON, NDJSON, XML, XLSX, gzip. The limit is MAX_UPLOAD_BYTES (413 beyond it); other content is 415."}, s.uploadFile)
	documentUpload(api)
	handle(s, api, route{Method: get, Path: "/api/v1/files/{id}", ID: "get-file", Tag: "files", Perm: auth.PermFilesRead,
		Summary: "An uploaded file's metadata"}, s.getFile)
	handle(s, api, route{Method: del, Path: "/api/v1/files/{id}", ID: "delete-file", Action: "file.delete", Target: "file", Tag: "files", Perm: auth.PermFilesWrite, Status: empty,
		Summary: "Delete an uploaded file"}, s.deleteFile)

	// Analytics over the metrics history (analytics.go): every role reads them.
	handle(s, api, route{Method: get, Path: "/api/v1/analytics/timeseries", ID: "analytics-timeseries", Tag: "analytics", Perm: auth.PermAnalyticsRead,
		Summary: "A metric over time in 1m, 1h or 1d buckets, over all pipelines, one pipeline or one series per pipeline (422 naming a bad parameter)"}, s.analyticsTimeseries)
	handle(s, api, route{Method: get, Path: "/api/v1/analytics/pipelines", ID: "analytics-pipelines", Tag: "analytics", Perm: auth.PermAnalyticsRead,
		Summary: "Per pipeline: runs, success rate, mean and p95 duration over the range; last run, last success, freshness and staleness against its schedule"}, s.analyticsPipelines)
	handle(s, api, route{Method: get, Path: "/api/v1/analytics/summary", ID: "analytics-summary", Tag: "analytics", Perm: auth.PermAnalyticsRead,
		Summary: "Runs by status, running now, rows, dead-letter rate, failing and stale pipelines, workers, queue depth and stream lag"}, s.analyticsSummary)

	// Alerts: rules, channels (secrets never shown), alerts with history and deliveries.
	handle(s, api, route{Method: get, Path: "/api/v1/alerts", ID: "list-alerts", Tag: "alerts", Perm: auth.PermAlertsRead,
		Summary: "Alerts, newest first (filter by state, rule, pipeline)"}, s.listAlerts)
	handle(s, api, route{Method: get, Path: "/api/v1/alerts/rules", ID: "list-alert-rules", Tag: "alerts", Perm: auth.PermAlertsRead,
		Summary: "Alert rules, with the problem that kept each from being evaluated, if any"}, s.listAlertRules)
	handle(s, api, route{Method: post, Path: "/api/v1/alerts/rules", ID: "create-alert-rule", Action: "alert_rule.create", Target: "alert_rule", Tag: "alerts", Perm: auth.PermAlertsWrite, Status: created,
		Summary: "Create an alert rule: a condition and the channels to notify"}, s.createAlertRule)
	handle(s, api, route{Method: get, Path: "/api/v1/alerts/rules/{id}", ID: "get-alert-rule", Tag: "alerts", Perm: auth.PermAlertsRead,
		Summary: "An alert rule"}, s.getAlertRule)
	handle(s, api, route{Method: put, Path: "/api/v1/alerts/rules/{id}", ID: "update-alert-rule", Action: "alert_rule.update", Target: "alert_rule", Tag: "alerts", Perm: auth.PermAlertsWrite,
		Summary: "Replace an alert rule"}, s.updateAlertRule)
	handle(s, api, route{Method: del, Path: "/api/v1/alerts/rules/{id}", ID: "delete-alert-rule", Action: "alert_rule.delete", Target: "alert_rule", Tag: "alerts", Perm: auth.PermAlertsWrite, Status: empty,
		Summary: "Delete an alert rule (its alerts stay in the history)"}, s.deleteAlertRule)
	handle(s, api, route{Method: get, Path: "/api/v1/alerts/channels", ID: "list-alert-channels", Tag: "alerts", Perm: auth.PermAlertsRead,
		Summary: "Notification channels (secrets shown as ********)"}, s.listAlertChannels)
	handle(s, api, route{Method: post, Path: "/api/v1/alerts/channels", ID: "create-alert-channel", Action: "alert_channel.create", Target: "alert_channel", Tag: "alerts", Perm: auth.PermAlertsWrite, Status: created,
		Summary: "Create a notification channel: webhook, email or slack (secrets sealed at rest)"}, s.createAlertChannel)
	handle(s, api, route{Method: get, Path: "/api/v1/alerts/channels/{id}", ID: "get-alert-channel", Tag: "alerts", Perm: auth.PermAlertsRead,
		Summary: "A notification channel (secrets shown as ********)"}, s.getAlertChannel)
	handle(s, api, route{Method: put, Path: "/api/v1/alerts/channels/{id}", ID: "update-alert-channel", Action: "alert_channel.update", Target: "alert_channel", Tag: "alerts", Perm: auth.PermAlertsWrite,
		Summary: "Replace a channel's name and settings (secrets sent as ******** are kept)"}, s.updateAlertChannel)
	handle(s, api, route{Method: del, Path: "/api/v1/alerts/channels/{id}", ID: "delete-alert-channel", Action: "alert_channel.delete", Target: "alert_channel", Tag: "alerts", Perm: auth.PermAlertsWrite, Status: empty,
		Summary: "Delete a notification channel"}, s.deleteAlertChannel)
	handle(s, api, route{Method: post, Path: "/api/v1/alerts/channels/{id}/test", ID: "test-alert-channel", Action: "alert_channel.test", Target: "alert_channel", Tag: "alerts", Perm: auth.PermAlertsWrite,
		Summary: "Send a test notification now, once, and return the delivery: sent, or failed with the reason"}, s.testAlertChannel)
	handle(s, api, route{Method: get, Path: "/api/v1/alerts/{id}", ID: "get-alert", Tag: "alerts", Perm: auth.PermAlertsRead,
		Summary: "An alert with its history and its deliveries (attempts, last error)"}, s.getAlert)
	handle(s, api, route{Method: post, Path: "/api/v1/alerts/{id}/ack", ID: "acknowledge-alert", Action: "alert.acknowledge", Target: "alert", Tag: "alerts", Perm: auth.PermAlertsAck,
		Summary: "Acknowledge a firing alert"}, s.ackAlert)
	handle(s, api, route{Method: post, Path: "/api/v1/alerts/{id}/silence", ID: "silence-alert", Action: "alert.silence", Target: "alert", Tag: "alerts", Perm: auth.PermAlertsAck,
		Summary: "Silence a firing alert for some minutes (0 lifts it): no notification of it or of its rule and subject until then"}, s.silenceAlert)

	// Analytics queries: read-only SQL on saved database connectors, saved queries, export (queries.go).
	handle(s, api, route{Method: get, Path: "/api/v1/analytics/query-sources", ID: "list-query-sources", Tag: "analytics", Perm: auth.PermAnalyticsQuery,
		Summary: "The saved database connectors a query can run on (id, name, type; never a config)"}, s.listQuerySources)
	handle(s, api, route{Method: post, Path: "/api/v1/analytics/queries/run", ID: "run-query", Action: "query.run", Target: "connector", Tag: "analytics", Perm: auth.PermAnalyticsQuery,
		Summary:     "Run one SQL statement read-only on a saved database connector: columns, rows up to max_rows (truncated says when there were more), elapsed time",
		Description: "PostgreSQL and MySQL/MariaDB run it in a read-only transaction with a server-side statement timeout, so the database refuses every write and DDL; its own message comes back as a 422, as does a statement cancelled at the timeout (the message names it). SQL Server: see docs/analytics.md."}, s.runQuery)
	handle(s, api, route{Method: get, Path: "/api/v1/analytics/queries", ID: "list-saved-queries", Tag: "analytics", Perm: auth.PermAnalyticsQuery,
		Summary: "Saved analytics queries, by name, with their connector and chart"}, s.listSavedQueries)
	handle(s, api, route{Method: post, Path: "/api/v1/analytics/queries", ID: "create-saved-query", Action: "saved_query.create", Target: "saved_query", Tag: "analytics", Perm: auth.PermAnalyticsQuery, Status: created,
		Summary: "Save a query with its connector and chart (names unique, case-insensitive)"}, s.createSavedQuery)
	handle(s, api, route{Method: get, Path: "/api/v1/analytics/queries/{id}", ID: "get-saved-query", Tag: "analytics", Perm: auth.PermAnalyticsQuery,
		Summary: "A saved query"}, s.getSavedQuery)
	handle(s, api, route{Method: put, Path: "/api/v1/analytics/queries/{id}", ID: "update-saved-query", Action: "saved_query.update", Target: "saved_query", Tag: "analytics", Perm: auth.PermAnalyticsQuery,
		Summary: "Replace a saved query's name, description, connector, SQL and chart"}, s.updateSavedQuery)
	handle(s, api, route{Method: del, Path: "/api/v1/analytics/queries/{id}", ID: "delete-saved-query", Action: "saved_query.delete", Target: "saved_query", Tag: "analytics", Perm: auth.PermAnalyticsQuery, Status: empty,
		Summary: "Delete a saved query"}, s.deleteSavedQuery)
	handle(s, api, route{Method: post, Path: "/api/v1/analytics/queries/{id}/run", ID: "run-saved-query", Action: "saved_query.run", Target: "saved_query", Tag: "analytics", Perm: auth.PermAnalyticsQuery,
		Summary: "Run a saved query (as run-query does)"}, s.runSavedQuery)
	handle(s, api, route{Method: post, Path: "/api/v1/analytics/queries/export", ID: "export-query", Action: "query.export", Target: "connector", Tag: "analytics", Perm: auth.PermAnalyticsQuery,
		Summary:     "Export an ad-hoc query's result as csv, ndjson, xlsx (Excel) or parquet (?format=), streamed, at most the export row cap",
		Description: "Runs as run-query does (read-only, statement timeout) with its own row cap (1,000,000 by default), sent in the header X-Export-Row-Cap; the trailers X-Export-Rows and X-Export-Truncated (true when the cap cut the result) follow the body. A refused statement or a timeout before the first rows is a 422 as for run-query; a failure later cuts the body short. See docs/analytics.md."}, s.exportQuery)
	handle(s, api, route{Method: get, Path: "/api/v1/analytics/queries/{id}/export", ID: "export-saved-query", Action: "saved_query.export", Target: "saved_query", Tag: "analytics", Perm: auth.PermAnalyticsQuery, Audit: true,
		Summary:     "Export a saved query's result as csv, ndjson, xlsx (Excel) or parquet (?format=), as export-query does; the file is named after the query",
		Description: "Headers and trailers as for export-query. See docs/analytics.md."}, s.exportSavedQuery)

	// Saved connectors and connector types (configs are never shown without connectors:read_config; secrets never).
	handle(s, api, route{Method: get, Path: "/api/v1/transform-types", ID: "list-transform-types", Tag: "transformations", Perm: auth.PermPipelinesRead,
		Summary: "Transformation types with the JSON Schema of their config and their number of inputs"}, s.listTransformTypes)
	handle(s, api, route{Method: get, Path: "/api/v1/expression-functions", ID: "list-expression-functions", Tag: "transformations", Perm: auth.PermPipelinesRead,
		Summary: "The functions an expression may call (name, signature, group), as docs/expressions.md lists them"}, s.listExpressionFunctions)
	handle(s, api, route{Method: get, Path: "/api/v1/pipeline-templates", ID: "list-pipeline-templates", Tag: "pipelines", Perm: auth.PermPipelinesRead,
		Summary: "Example pipelines to start from (examples/), each with its description and sample data"}, s.listPipelineTemplates)
	handle(s, api, route{Method: get, Path: "/api/v1/connector-types", ID: "list-connector-types", Tag: "connectors", Perm: auth.PermConnectorsRead,
		Summary: "Connector types with the JSON Schema of their config (secret fields marked)"}, s.listConnectorTypes)
	handle(s, api, route{Method: get, Path: "/api/v1/connectors", ID: "list-connectors", Tag: "connectors", Perm: auth.PermConnectorsRead,
		Summary: "Saved connectors (names and types; no configs)"}, s.listConnectors)
	handle(s, api, route{Method: post, Path: "/api/v1/connectors", ID: "create-connector", Action: "connector.create", Target: "connector", Tag: "connectors", Perm: auth.PermConnectorsWrite, Status: created,
		Summary: "Save a connector (config checked against the type's spec)"}, s.createConnector)
	handle(s, api, route{Method: get, Path: "/api/v1/connectors/{id}", ID: "get-connector", Tag: "connectors", Perm: auth.PermConnectorsReadConfig,
		Summary: "A saved connector with its config (secrets redacted)"}, s.getConnector)
	handle(s, api, route{Method: put, Path: "/api/v1/connectors/{id}", ID: "update-connector", Action: "connector.update", Target: "connector", Tag: "connectors", Perm: auth.PermConnectorsWrite,
		Summary: "Replace a saved connector (a secret sent as \"********\" or left out keeps its stored value)"}, s.updateConnector)
	handle(s, api, route{Method: del, Path: "/api/v1/connectors/{id}", ID: "delete-connector", Action: "connector.delete", Target: "connector", Tag: "connectors", Perm: auth.PermConnectorsWrite, Status: empty,
		Summary: "Delete a saved connector (soft)"}, s.deleteConnector)
	handle(s, api, route{Method: post, Path: "/api/v1/connectors/{id}/check", ID: "check-connector", Action: "connector.check", Target: "connector", Tag: "connectors", Perm: auth.PermConnectorsWrite,
		Summary: "Test a saved connector's connection"}, s.checkConnector)
	handle(s, api, route{Method: post, Path: "/api/v1/connectors/{id}/discover", ID: "discover-connector", Action: "connector.discover", Target: "connector", Tag: "connectors", Perm: auth.PermConnectorsWrite,
		Summary: "List the streams a saved connector can read, with their fields"}, s.discoverConnector)
	handle(s, api, route{Method: post, Path: "/api/v1/connectors/{id}/oauth/start", ID: "start-connector-oauth", Action: "connector.oauth_start", Target: "connector", Tag: "connectors", Perm: auth.PermConnectorsWrite,
		Summary:     "Start \"Connect with Salesforce / HubSpot\": the provider's authorization URL (OAuth2 authorization code with PKCE)",
		Description: "The state is kept in this API node's memory for 10 minutes, single use, bound to the caller; the provider sends the browser back to {PUBLIC_URL or the request's origin}/connectors/oauth/callback."}, s.startConnectorOAuth)
	handle(s, api, route{Method: post, Path: "/api/v1/connectors/oauth/callback", ID: "complete-connector-oauth", Action: "connector.oauth_connect", Target: "connector", Tag: "connectors", Perm: auth.PermConnectorsWrite,
		Summary:     "Complete \"Connect with ...\": exchange the code for a refresh token and save it (sealed) into the connector",
		Description: "400: unknown, expired or used state; 403: the flow was started by another user; 422: the provider refused access; 502: the token endpoint failed (its status and first bytes)."}, s.completeConnectorOAuth)
	handle(s, api, route{Method: post, Path: "/api/v1/connectors/test-request", ID: "test-connector-request", Action: "connector.test_request", Target: "connector", Tag: "connectors", Perm: auth.PermConnectorsWrite,
		Summary: "Run the first request of a read with a configuration being edited (HTTP connectors: the form's request tester), through the outbound guard"}, s.testConnectorRequest)
}
