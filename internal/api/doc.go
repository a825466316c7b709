// Package api is the HTTP interface: every route of /api/v1 (registered in one
// function, routes in routes.go), the middleware chain (request id, recover,
// access log, metrics, security headers, CORS, rate limits, authentication,
// RBAC and audit), the OpenAPI 3.1 document, the interactive docs, /healthz,
// /readyz and /metrics.
//
// Contract:
//   - Every route declares one auth.Permission (or none, for the few public
//     routes); RBAC checks it against the auth role table before the handler runs.
//   - Handlers return errors; one funnel (errors.go) turns every error into an
//     RFC 9457 problem+json response. Internal errors are logged with the
//     request id and never shown to the client.
//   - Request bodies decode strictly: unknown fields, wrong types, malformed
//     JSON and oversized bodies are 4xx problems, never 500.
//   - Every state-changing request and every login attempt appends one audit
//     entry (see audit.go).
//
// The package knows nothing of SQL: it talks to the store and the auth
// service through their exported APIs.
package api
