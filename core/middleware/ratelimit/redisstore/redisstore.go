// Package redisstore is the Redis store of the rate_limit middleware
// ("store": "redis"): buckets live in Redis, so every process pointing at
// the same server and key prefix shares one limit per client.
//
// Importing the package registers the store. Configuration members (in the
// "rate_limit" object, next to per_second and burst):
//
//	{
//	  "store": "redis",
//	  "redis_url": "redis://[:password@]host:port/db", // or rediss:// (TLS); required
//	  "key_prefix": "spikard:ratelimit:",              // default; bucket keys are prefix + "ip:<addr>" or prefix + "global"
//	  "redis_timeout_ms": 250                           // dial/read/write timeout (default 250)
//	}
//
// Each request runs one Lua script (EVALSHA, loaded on first use) that
// applies the same GCRA token bucket as the memory store atomically on the
// server, with the server's clock (TIME), so processes with skewed clocks
// still agree. A bucket is one string key holding the theoretical arrival
// time in microseconds, expiring when the bucket has refilled, so idle
// clients cost no memory. Routes (or apps) that must not share a budget
// need distinct key prefixes. Clients are shared per URL and timeout within
// a process. After a failed call the store backs off for [Backoff]: calls
// fail at once and the middleware's fail_open decides (default: admit).
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spikard/spikard-go/core/middleware/ratelimit"
)

// DefaultKeyPrefix prefixes bucket keys when key_prefix is not set.
const DefaultKeyPrefix = "spikard:ratelimit:"

// DefaultTimeout bounds each Redis command when redis_timeout_ms is not set.
const DefaultTimeout = 250 * time.Millisecond

func init() {
	ratelimit.RegisterStore("redis", func(o ratelimit.StoreOptions) (ratelimit.Store, error) {
		return New(o.URL, o.KeyPrefix, o.Timeout)
	})
}

// script is GCRA: KEYS[1] the bucket, ARGV[1] T (µs per token), ARGV[2]
// burst. Returns {allowed, remaining, retry_after_us, reset_after_us}.
var script = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local T = tonumber(ARGV[1])
local tau = T * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local nxt = tat + T
if nxt - now > tau then
  return {0, 0, nxt - now - tau, tat - now}
end
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1)
return {1, math.floor((tau - (nxt - now)) / T), 0, nxt - now}
`)

// Backoff is how long a store stops calling Redis after a failed call:
// meanwhile Take fails at once (and the middleware applies fail_open)
// instead of every request waiting for timeouts.
const Backoff = time.Second

// ErrBackoff is returned by Take while the store backs off.
var ErrBackoff = errors.New("redisstore: redis unavailable, backing off")

// Store is the Redis store.
type Store struct {
	client    redis.Scripter
	prefix    string
	downUntil atomic.Int64 // unix nanos; 0: up
}

type clientKey struct {
	url     string
	timeout time.Duration
}

var (
	clientsMu sync.Mutex
	clients   = map[clientKey]*redis.Client{}
)

// New makes a store on the server at url (redis:// or rediss://).
func New(url, prefix string, timeout time.Duration) (*Store, error) {
	if url == "" {
		return nil, errors.New("redis_url is required")
	}
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	clientsMu.Lock()
	defer clientsMu.Unlock()
	k := clientKey{url, timeout}
	c := clients[k]
	if c == nil {
		opt, err := redis.ParseURL(url)
		if err != nil {
			return nil, fmt.Errorf("redis_url: %w", err)
		}
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = timeout, timeout, timeout
		// A rate limiter must not stall requests on retries.
		opt.MaxRetries = 1
		opt.DialerRetries = 1
		opt.PoolTimeout = timeout
		c = redis.NewClient(opt)
		clients[k] = c
	}
	return &Store{client: c, prefix: prefix}, nil
}

// NewWithClient makes a store on an existing client (Go API).
func NewWithClient(c redis.Scripter, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	return &Store{client: c, prefix: prefix}
}

// Take implements ratelimit.Store. now is ignored: the server's clock is
// used.
func (s *Store) Take(ctx context.Context, key []byte, lim ratelimit.Limit, _ time.Time) (ratelimit.Decision, error) {
	T := int64(lim.Interval() / time.Microsecond)
	if T < 1 {
		T = 1
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if until := s.downUntil.Load(); until != 0 {
		if time.Now().UnixNano() < until {
			return ratelimit.Decision{}, ErrBackoff
		}
		s.downUntil.Store(0)
	}
	res, err := script.Run(ctx, s.client, []string{s.prefix + string(key)}, T, lim.Burst).Int64Slice()
	if err != nil {
		s.downUntil.Store(time.Now().Add(Backoff).UnixNano())
		return ratelimit.Decision{}, err
	}
	if len(res) != 4 {
		return ratelimit.Decision{}, fmt.Errorf("redisstore: unexpected script reply %v", res)
	}
	return ratelimit.Decision{
		Allowed:    res[0] == 1,
		Remaining:  res[1],
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
		ResetAfter: time.Duration(res[3]) * time.Microsecond,
	}, nil
}
