package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// hitScript increments the key's counter, starts its window on the first hit
// and returns the count and the milliseconds left in the window. Doing it in
// one script keeps INCR and PEXPIRE atomic, so a crash between them cannot
// leave a counter without expiry.
var hitScript = redis.NewScript(`
local c = redis.call('INCR', KEYS[1])
if c == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {c, ttl}
`)

// Redis is a Limiter whose counters live in Redis, shared by every process
// that uses the same prefix.
type Redis struct {
	client redis.Cmdable
	prefix string
	rule   Rule
}

// NewRedis returns a Redis-backed limiter. prefix namespaces its keys (for
// example "aggregator:rl:ip:").
func NewRedis(client redis.Cmdable, prefix string, rule Rule) (*Redis, error) {
	if err := rule.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		return nil, fmt.Errorf("rate limit: redis client is nil")
	}
	return &Redis{client: client, prefix: prefix, rule: rule}, nil
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string) (Decision, error) {
	res, err := hitScript.Run(ctx, r.client, []string{r.prefix + key}, r.rule.Window.Milliseconds()).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit: redis: %w", err)
	}
	if len(res) != 2 {
		return Decision{}, fmt.Errorf("rate limit: redis: unexpected reply %v", res)
	}
	return decide(r.rule, int(res[0]), time.Duration(res[1])*time.Millisecond), nil
}
