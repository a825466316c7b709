// Package ratelimit counts requests per key in fixed windows and says whether
// one more is allowed.
//
// Two backends implement Limiter with the same semantics: Memory (one
// process, the default) and Redis (shared by every API node when REDIS_URL is
// set). A window opens at a key's first hit and lasts Rule.Window; within it at
// most Rule.Limit hits are allowed. Both are safe for concurrent use.
package ratelimit
