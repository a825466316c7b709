// Package app is the composition root: it builds every service from a
// validated config.Config (logger, metadata store, auth service, rate
// limiters, API server, and the registries other packages add) and runs them
// until the context is cancelled, then shuts down in two phases: stop
// accepting and drain in-flight requests, then cancel what is left after
// SHUTDOWN_TIMEOUT. Nothing here is global: every object is built by New and
// owned by the App.
package app
