// Package secretref resolves references to secrets kept in external managers, which a secret
// field of a saved connector may hold instead of a value.
//
// Contract:
//   - A reference is a string that starts with a known scheme: `file:///path` (a mounted file,
//     such as a Kubernetes secret) or `vault://<mount>/<path>#<key>` (HashiCorp Vault KV v2).
//     IsRef says whether a string claims to be one; Parse checks its form. Any other string is a
//     literal value.
//   - A Resolver turns a reference into its value with the providers of its Settings, and caches
//     each value for Settings.CacheTTL. It is safe for concurrent use.
//   - Every error of a resolution is an *Error that names the reference, never a value, and
//     matches (errors.Is) one of ErrNotFound, ErrKeyMissing, ErrUnreachable, ErrPermission,
//     ErrNotConfigured or ErrRefused.
//   - A Service keeps the administrators' Settings in the store (the providers' own secrets
//     sealed with the keyring) and resolves with a Resolver built from the settings in force.
package secretref
