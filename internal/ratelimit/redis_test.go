package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataaggregator/aggregator/internal/testutil"
)

func TestRedis(t *testing.T) {
	rd := testutil.RedisURL(t)
	opt, err := redis.ParseURL(rd.URL)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	n := 0
	runSuite(t, backend{
		name: "redis",
		newLim: func(t *testing.T, rule Rule) Limiter {
			n++
			lim, err := NewRedis(client, rd.Prefix+"rl"+string(rune('a'+n))+":", rule)
			if err != nil {
				t.Fatal(err)
			}
			return lim
		},
		advance: func(t *testing.T, lim Limiter, key string, window time.Duration) {
			// Redis expires the window on its own clock: wait for the key to go.
			r := lim.(*Redis)
			deadline := time.Now().Add(10 * window)
			for time.Now().Before(deadline) {
				n, err := client.Exists(context.Background(), r.prefix+key).Result()
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Fatalf("window for %q did not expire within %s", key, 10*window)
		},
	})
}

func TestRedisUnreachableIsAnError(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	lim, err := NewRedis(client, "x:", Rule{Limit: 1, Window: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lim.Allow(context.Background(), "k"); err == nil {
		t.Fatal("Allow against an unreachable Redis returned no error")
	}
}

func TestRedisLockout(t *testing.T) {
	rd := testutil.RedisURL(t)
	opt, err := redis.ParseURL(rd.URL)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	ctx := context.Background()
	l, err := NewRedisLockout(client, rd.Prefix+"login:", LockoutPolicy{MaxFailures: 3, Window: time.Minute, Lockout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		wait, err := l.Fail(ctx, "account:bob")
		if err != nil || wait != 0 {
			t.Fatalf("failure %d: wait %s err %v, want not locked", i, wait, err)
		}
	}
	if wait, _ := l.Check(ctx, "account:bob"); wait != 0 {
		t.Fatalf("locked after 2 of 3 failures (%s)", wait)
	}
	wait, err := l.Fail(ctx, "account:bob")
	if err != nil || wait != 10*time.Minute {
		t.Fatalf("3rd failure: wait %s err %v, want the 10m lockout", wait, err)
	}
	wait, err = l.Check(ctx, "account:bob")
	if err != nil || wait <= 9*time.Minute || wait > 10*time.Minute {
		t.Fatalf("check after lock: %s %v, want about 10m", wait, err)
	}
	if wait, _ := l.Fail(ctx, "account:bob"); wait <= 9*time.Minute {
		t.Fatalf("failing while locked reported %s, want the remaining lock", wait)
	}
	if wait, _ := l.Check(ctx, "account:alice"); wait != 0 {
		t.Fatal("another key is locked")
	}
	if err := l.Reset(ctx, "account:bob"); err != nil {
		t.Fatal(err)
	}
	if wait, _ := l.Check(ctx, "account:bob"); wait != 0 {
		t.Fatalf("still locked after Reset (%s)", wait)
	}
}
