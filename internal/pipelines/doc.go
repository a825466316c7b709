// Package pipelines is the use case of saved pipelines: save (every save is a new version), get,
// list, delete, plan, validate (shallow, or deep: open the sources and check every destination) and
// preview (within a time and size budget). It owns the rules the HTTP handlers and the CLI share: a
// spec is parsed and planned once per save; a stored spec never carries an inline secret; a file
// path outside the file roots is refused at save time; a schedule's cron, time zone and misfire
// policy are copied into the store for the scheduler (internal/schedules), and its pause flag is
// set apart from the versions (SetSchedulePaused); the spec's triggers.after is resolved by the
// store in the save's transaction, refusing unknown names and cycles as problems at
// triggers.after[i] (triggers.go).
//
// It consumes a small Store interface it declares (internal/store implements it) and the connector
// and transformation registries and connector environment that internal/app builds. Service is safe
// for concurrent use.
package pipelines
