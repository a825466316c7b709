// Package httpkit is what connectors that speak to HTTP APIs share (the generic REST connector,
// and the SaaS connectors built on it): the configuration of authentication, pagination and
// resilience, declared once on a configspec.Builder; a Client that sends requests through the one
// guarded client of connector.Env with authentication (none, basic, bearer, API key, OAuth2 client
// credentials or refresh token through golang.org/x/oauth2, a rotated refresh token saved back
// through Env.PersistCredentials), a request rate, retries (429 and 503 honour Retry-After; other
// 5xx and network errors back off exponentially with jitter), connect and read timeouts and a
// response size cap; pagination strategies that refuse a loop; and the extraction of records from a
// JSON body at a dotted path.
//
// Every error names the method and the URL without secrets (user info, the API key and query
// parameters that look like credentials are replaced), the status and the first bytes of the body,
// with configured secret values scrubbed.
//
// A Client is safe for concurrent use; a Pager belongs to one read.
package httpkit
