// Package hubspot is the HubSpot source (type "hubspot"): CRM v3 objects (contacts, companies,
// deals, tickets) with their properties, on the shared HTTP kit (httpkit: auth, retries, size
// caps, the outbound guard).
//
// Contract:
//   - Auth is a private app's token, or OAuth2 with a refresh token (granted in the web app with
//     "Connect with HubSpot"; a rotated one is saved back through connector.Env).
//   - Discover lists the objects with one field per property (/crm/v3/properties/{object}) beside
//     id, createdAt, updatedAt and archived.
//   - A full read lists the object (paging.next.after). An incremental read uses the search API,
//     filtered and sorted on the last-modified property; before its 10,000-result window ends it
//     starts a new query anchored on the last modified time read, skipping the records already read
//     at that time. The checkpoint keeps that time and those ids, so the next run reads only changes.
//   - 429 answers wait for the window HubSpot names (X-HubSpot-RateLimit-Interval-Milliseconds);
//     a spent daily quota fails at once; a response saying a window's quota is spent delays the
//     next request.
package hubspot
