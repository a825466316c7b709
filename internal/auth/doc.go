// Package auth authenticates callers and holds the authorisation model.
//
//   - roles.go: the six roles; permissions.go: the role -> permission table.
//   - password.go: bcrypt hashing and the password policy.
//   - Service: login (throttled per account and per IP), JWT access tokens
//     (HS256, issuer and audience checked, 15 minutes by default), opaque
//     refresh tokens stored hashed and rotated on every use (reuse of a rotated
//     token revokes its whole family), API tokens ("agg_" prefix, stored
//     hashed, shown once), pipeline webhook tokens ("aggwh_" prefix, one per
//     pipeline, stored hashed the same way, shown once, rotated by creating
//     another; trigger.go), password change and first-start bootstrap.
//
// Errors callers branch on are sentinels (ErrInvalidCredentials,
// ErrInvalidToken, ErrThrottled, ...); none of them carries a secret. The
// service takes its clock as an argument so that tests control time.
package auth
