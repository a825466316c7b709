// Package ratelimit counts requests per key in fixed windows and says whether
// one more is allowed, and counts failed attempts to lock a key out.
//
// Two backends implement Limiter with the same semantics: Memory (one
// process, the default) and Redis (shared by every API node when REDIS_URL is
// set). A window opens at a key's first hit and lasts Rule.Window; within it at
// most Rule.Limit hits are allowed. RedisLockout shares login lockouts between
// nodes (it satisfies auth.LoginLimiter). Everything here is safe for
// concurrent use; Redis errors are returned, and callers decide whether to
// fail open.
package ratelimit
