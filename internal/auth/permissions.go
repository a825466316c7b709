package auth

import "slices"

// Permission names one thing a caller may do. Every API route declares exactly
// one permission (or none, for the few public routes such as login), and the
// table below is the only place that says which role holds which permission.
type Permission string

// The permissions. Names are "<resource>:<verb>"; "self" permissions cover a
// user's own data only (the handler scopes every query to the caller).
const (
	// Own account: /auth/me, password change.
	PermProfileSelf Permission = "profile:self"
	// Own API tokens: create, list, revoke.
	PermTokensSelf Permission = "tokens:self"
	// Own preferences (theme, language, timezone).
	PermPreferencesSelf Permission = "preferences:self"
	// Own dashboard layouts.
	PermLayoutsSelf Permission = "layouts:self"

	PermUsersRead  Permission = "users:read"
	PermUsersWrite Permission = "users:write"
	// PermUsersAdmin allows creating, changing or deleting admin users and
	// granting the admin role. Only admin holds it; handlers check it on top of
	// users:write.
	PermUsersAdmin Permission = "users:admin"

	PermAuditRead     Permission = "audit:read"
	PermSettingsRead  Permission = "settings:read"
	PermSettingsWrite Permission = "settings:write"
	PermCleanup       Permission = "cleanup"
	// PermSystemLogsRead allows reading the server's own log records (GET /api/v1/system/logs and
	// the request traces). Only admin holds it: the records name users, addresses and internals.
	PermSystemLogsRead Permission = "system_logs:read"

	PermPipelinesRead   Permission = "pipelines:read"
	PermPipelinesWrite  Permission = "pipelines:write"
	PermPipelinesRun    Permission = "pipelines:run"
	PermPipelinesCancel Permission = "pipelines:cancel"
	PermRunsRead        Permission = "runs:read"
	// PermRunsControl allows pausing, resuming, restarting and stopping a deployed streaming run.
	PermRunsControl Permission = "runs:control"
	// PermRunsReplay allows replaying a run's dead letters (possibly edited) as a new run.
	PermRunsReplay Permission = "runs:replay"
	// PermRunsReview allows approving or rejecting the schema changes a run awaits
	// (write.schema_changes: review).
	PermRunsReview Permission = "runs:review"
	// PermWorkersRead allows listing the worker processes of the run queue (GET /api/v1/workers):
	// whoever runs or designs pipelines needs to see whether workers are there to run them.
	PermWorkersRead Permission = "workers:read"

	PermConnectorsRead Permission = "connectors:read"
	// PermConnectorsReadConfig allows seeing a connector's configuration
	// (secrets are redacted regardless). Viewers never hold it.
	PermConnectorsReadConfig Permission = "connectors:read_config"
	PermConnectorsWrite      Permission = "connectors:write"

	PermTransformationsRead  Permission = "transformations:read"
	PermTransformationsWrite Permission = "transformations:write"
	PermMappingsRead         Permission = "mappings:read"
	PermMappingsWrite        Permission = "mappings:write"

	PermFilesRead  Permission = "files:read"
	PermFilesWrite Permission = "files:write"

	PermMonitoringRead Permission = "monitoring:read"
	// PermAlertsRead allows seeing alerts, their history and deliveries, alert rules and channels
	// (channel secrets are never shown).
	PermAlertsRead Permission = "alerts:read"
	// PermAlertsAck allows acknowledging and silencing alerts: whoever is on call.
	PermAlertsAck Permission = "alerts:ack"
	// PermAlertsWrite allows creating, changing and deleting alert rules and channels, and sending
	// a channel's test notification.
	PermAlertsWrite    Permission = "alerts:write"
	PermDashboardsRead Permission = "dashboards:read"
	PermReportsRead    Permission = "reports:read"
	PermAnalyticsRead  Permission = "analytics:read"
	// PermAnalyticsQuery allows running read-only SQL queries on saved database connectors (without
	// seeing their configs), saving, changing and deleting the shared saved queries, and exporting
	// results (docs/analytics.md). Viewers and executors do not hold it: a saved query's SQL names
	// tables and columns of databases they cannot see, and results are data.
	PermAnalyticsQuery Permission = "analytics:query"
)

// AllPermissions returns every permission in a stable order (a new slice on
// each call).
func AllPermissions() []Permission {
	return []Permission{
		PermProfileSelf, PermTokensSelf, PermPreferencesSelf, PermLayoutsSelf,
		PermUsersRead, PermUsersWrite, PermUsersAdmin,
		PermAuditRead, PermSettingsRead, PermSettingsWrite, PermCleanup, PermSystemLogsRead,
		PermPipelinesRead, PermPipelinesWrite, PermPipelinesRun, PermPipelinesCancel, PermRunsRead, PermRunsControl, PermRunsReplay, PermRunsReview, PermWorkersRead,
		PermConnectorsRead, PermConnectorsReadConfig, PermConnectorsWrite,
		PermTransformationsRead, PermTransformationsWrite, PermMappingsRead, PermMappingsWrite,
		PermFilesRead, PermFilesWrite,
		PermMonitoringRead, PermAlertsRead, PermAlertsAck, PermAlertsWrite, PermDashboardsRead, PermReportsRead, PermAnalyticsRead, PermAnalyticsQuery,
	}
}

// selfPermissions are held by every role: each user manages their own account,
// tokens, preferences and layouts.
func selfPermissions() []Permission {
	return []Permission{PermProfileSelf, PermTokensSelf, PermPreferencesSelf, PermLayoutsSelf}
}

// PermissionsOf returns the permissions of role, in the order of
// AllPermissions. An unknown role has none.
//
// The table:
//
//	admin      everything
//	developer  everything except users:admin (cannot create, change or delete
//	           admin users or grant the admin role) and system_logs:read
//	designer   pipelines read/write/run/cancel, runs replay and schema reviews, connectors (with config),
//	           transformations, mappings, files; reads runs, workers, monitoring, dashboards;
//	           reads and acknowledges alerts; reads analytics; runs and saves analytics queries
//	executor   pipelines read/run/cancel; reads runs, workers, monitoring, dashboards;
//	           reads and acknowledges alerts; reads analytics
//	viewer     reads dashboards, pipelines, runs, reports, alerts, analytics and the connector
//	           list (never connector configs)
//	executive  reads analytics, reports and dashboards; runs and saves analytics queries
func PermissionsOf(role Role) []Permission {
	var extra []Permission
	switch role {
	case RoleAdmin:
		return AllPermissions()
	case RoleDeveloper:
		return slices.DeleteFunc(AllPermissions(), func(p Permission) bool { return p == PermUsersAdmin || p == PermSystemLogsRead })
	case RoleDesigner:
		extra = []Permission{
			PermPipelinesRead, PermPipelinesWrite, PermPipelinesRun, PermPipelinesCancel, PermRunsRead, PermRunsControl, PermRunsReplay, PermRunsReview, PermWorkersRead,
			PermConnectorsRead, PermConnectorsReadConfig, PermConnectorsWrite,
			PermTransformationsRead, PermTransformationsWrite, PermMappingsRead, PermMappingsWrite,
			PermFilesRead, PermFilesWrite,
			PermMonitoringRead, PermAlertsRead, PermAlertsAck, PermDashboardsRead, PermAnalyticsRead, PermAnalyticsQuery,
		}
	case RoleExecutor:
		extra = []Permission{
			PermPipelinesRead, PermPipelinesRun, PermPipelinesCancel, PermRunsRead, PermRunsControl, PermWorkersRead,
			PermMonitoringRead, PermAlertsRead, PermAlertsAck, PermDashboardsRead, PermAnalyticsRead,
		}
	case RoleViewer:
		extra = []Permission{
			PermPipelinesRead, PermRunsRead, PermConnectorsRead, PermAlertsRead, PermDashboardsRead, PermReportsRead, PermAnalyticsRead,
		}
	case RoleExecutive:
		extra = []Permission{PermAnalyticsRead, PermReportsRead, PermDashboardsRead, PermAnalyticsQuery}
	default:
		return nil
	}
	held := append(selfPermissions(), extra...)
	out := make([]Permission, 0, len(held))
	for _, p := range AllPermissions() {
		if slices.Contains(held, p) {
			out = append(out, p)
		}
	}
	return out
}

// Can reports whether role holds perm. The empty permission (a public route)
// is held by every valid role.
func Can(role Role, perm Permission) bool {
	if !role.Valid() {
		return false
	}
	if perm == "" {
		return true
	}
	return slices.Contains(PermissionsOf(role), perm)
}

// Valid reports whether p is one of the declared permissions.
func (p Permission) Valid() bool { return slices.Contains(AllPermissions(), p) }

// String returns the permission name.
func (p Permission) String() string { return string(p) }
