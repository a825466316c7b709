package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// LockoutPolicy: MaxFailures failures within Window lock a key for Lockout.
type LockoutPolicy struct {
	MaxFailures int
	Window      time.Duration
	Lockout     time.Duration
}

// RedisLockout counts failed attempts (logins) per key in Redis and locks a
// key that fails too often, so every API node sees the same lock. Its
// methods match auth.LoginLimiter.
type RedisLockout struct {
	client redis.Cmdable
	prefix string
	policy LockoutPolicy
}

// NewRedisLockout returns a Redis-backed lockout counter; prefix namespaces
// its keys.
func NewRedisLockout(client redis.Cmdable, prefix string, p LockoutPolicy) (*RedisLockout, error) {
	switch {
	case client == nil:
		return nil, fmt.Errorf("lockout: redis client is nil")
	case p.MaxFailures <= 0:
		return nil, fmt.Errorf("lockout: max failures must be > 0, got %d", p.MaxFailures)
	case p.Window < time.Millisecond || p.Lockout < time.Millisecond:
		return nil, fmt.Errorf("lockout: window and lockout must be at least 1ms")
	}
	return &RedisLockout{client: client, prefix: prefix, policy: p}, nil
}

var lockTTLScript = redis.NewScript(`
local t = redis.call('PTTL', KEYS[1])
if t < 0 then return 0 end
return t
`)

// failScript counts a failure; at MaxFailures it sets the lock, clears the
// counter and returns the lock's milliseconds (0 otherwise). A key that is
// already locked keeps its lock and reports the time left.
var failScript = redis.NewScript(`
local locked = redis.call('PTTL', KEYS[2])
if locked > 0 then return locked end
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if c >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return tonumber(ARGV[3])
end
return 0
`)

func (l *RedisLockout) keys(key string) (fails, lock string) {
	return l.prefix + "fails:" + key, l.prefix + "lock:" + key
}

// Check returns how long key stays locked (0: not locked).
func (l *RedisLockout) Check(ctx context.Context, key string) (time.Duration, error) {
	_, lock := l.keys(key)
	ms, err := lockTTLScript.Run(ctx, l.client, []string{lock}).Int64()
	if err != nil {
		return 0, fmt.Errorf("lockout: redis: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Fail records a failure and returns the lock duration when it locked key.
func (l *RedisLockout) Fail(ctx context.Context, key string) (time.Duration, error) {
	fails, lock := l.keys(key)
	ms, err := failScript.Run(ctx, l.client, []string{fails, lock},
		l.policy.Window.Milliseconds(), l.policy.MaxFailures, l.policy.Lockout.Milliseconds()).Int64()
	if err != nil {
		return 0, fmt.Errorf("lockout: redis: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Reset forgets key's failures and lock.
func (l *RedisLockout) Reset(ctx context.Context, key string) error {
	fails, lock := l.keys(key)
	if err := l.client.Del(ctx, fails, lock).Err(); err != nil {
		return fmt.Errorf("lockout: redis: %w", err)
	}
	return nil
}
