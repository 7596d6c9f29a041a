// Package ratelimit is the "rate_limit" middleware: a token bucket per
// client IP (or one for every client) in front of the route, answering 429
// problem documents when the bucket is empty.
//
// # Configuration
//
// The value of the "rate_limit" key of a "middleware" object (app-wide or
// per route). Unknown members are a build error.
//
//	{
//	  "per_second": 5,        // refill rate, tokens per second (> 0, may be fractional; required)
//	  "burst": 5,             // bucket capacity: requests allowed at once (>= 1; required)
//	  "ip_based": true,       // one bucket per client IP (default); false: one bucket for all
//	  "trusted_proxies": ["10.0.0.0/8", "127.0.0.1"], // peers whose forwarding header is believed
//	  "forwarded_header": "X-Forwarded-For",          // that header (default X-Forwarded-For)
//	  "headers": true,        // RateLimit-* / X-RateLimit-* headers on allowed answers (default true)
//	  "fail_open": true,      // store failure: let the request through (default) or answer 503
//	  "store": "memory",      // "memory" (default) or "redis" (package ratelimit/redisstore)
//	  "max_entries": 100000,  // memory store: most client buckets kept (default 100000)
//	  "redis_url": "redis://127.0.0.1:6379/0", // redis store: server (required for "redis")
//	  "key_prefix": "spikard:ratelimit:",      // redis store: key prefix (default shown)
//	  "redis_timeout_ms": 250,                  // redis store: per-command timeout (default 250)
//	  "enabled": true,        // false: no middleware
//	  "warmup_requests": 3, "warmup_expect_status": 200, "sleep_ms_between": 0
//	                          // test-runner directives of the conformance corpus: accepted, ignored
//	}
//
// # Algorithm
//
// The bucket holds at most burst tokens and gains per_second tokens per
// second; each request takes one token or is refused. It is implemented as
// GCRA (the generic cell rate algorithm), which admits exactly the same
// requests as that token bucket while storing a single timestamp per
// client: the "theoretical arrival time" tat. A request at time now is
// admitted when max(tat, now) + T - now <= burst*T, with T = 1s/per_second;
// a client whose tat has passed has a full bucket and can be forgotten.
//
// # Client identity
//
// With ip_based (the default) the bucket key is the TCP peer's address. The
// forwarding header is only read when the peer is one of trusted_proxies:
// its comma-separated hops (several header lines are joined in order) are
// walked from the right, skipping trusted addresses, and the first
// untrusted hop is the client. If every hop is trusted the leftmost one is
// used; an unparsable hop stops the walk at the last trusted address seen.
// Without trusted_proxies the header is ignored, so it cannot be spoofed.
//
// # Responses
//
// A refused request gets an RFC 9457 problem document (type
// https://spikard.dev/errors/too-many-requests, title "Too Many Requests",
// status 429, detail "Rate limit exceeded. Try again in N seconds.") with
// Retry-After (seconds until a token is available, at least 1). Refused and
// (unless "headers" is false) admitted answers carry the IETF draft
// headers RateLimit-Limit (burst), RateLimit-Remaining (tokens left),
// RateLimit-Reset (seconds until the bucket is full) and RateLimit-Policy
// ("<burst>;w=<seconds to refill>"), and the widespread X-RateLimit-Limit,
// X-RateLimit-Remaining and X-RateLimit-Reset (Unix time the bucket is
// full).
//
// # Stores
//
// Buckets live in a [Store]. The default [MemoryStore] is per middleware
// instance (each route's limit is separate) and bounded: sharded maps with
// an LRU list each, buckets that have refilled dropped on the way, the
// least recently used one evicted at max_entries. Stores registered with
// [RegisterStore] are chosen by "store"; package ratelimit/redisstore adds
// "redis", which shares buckets between processes.
package ratelimit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/spikard/spikard-go/core/middleware"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/valyala/fasthttp"
)

// Key is the middleware's configuration key.
const Key = "rate_limit"

// Order places the middleware in the chain: before authentication, so that
// unauthenticated floods are limited too.
const Order = 30

// MaxPerSecond is the largest accepted refill rate.
const MaxPerSecond = 1e6

func init() { middleware.Register(Key, Order, New) }

// Limit is a token bucket: Burst tokens at most, refilled at Rate per
// second.
type Limit struct {
	Rate  float64
	Burst int64
}

// Interval is the time one token takes to come back (GCRA's T).
func (l Limit) Interval() time.Duration {
	return time.Duration(math.Max(1, math.Round(float64(time.Second)/l.Rate)))
}

// Decision is a store's answer for one request.
type Decision struct {
	Allowed bool
	// Remaining is the number of tokens left after this request.
	Remaining int64
	// RetryAfter is the wait until a token is available (refused requests).
	RetryAfter time.Duration
	// ResetAfter is the wait until the bucket is full again.
	ResetAfter time.Duration
}

// Store keeps buckets. Take takes one token from key's bucket. key is only
// valid during the call. now is the request's time; stores that share
// buckets between machines may use their own clock instead.
type Store interface {
	Take(ctx context.Context, key []byte, lim Limit, now time.Time) (Decision, error)
}

// StoreOptions are the store settings of a configuration.
type StoreOptions struct {
	MaxEntries int
	URL        string
	KeyPrefix  string
	Timeout    time.Duration
}

// StoreFactory builds a store for one middleware instance.
type StoreFactory func(StoreOptions) (Store, error)

var (
	storesMu sync.RWMutex
	stores   = map[string]StoreFactory{
		"memory": func(o StoreOptions) (Store, error) { return NewMemoryStore(o.MaxEntries), nil },
	}
)

// RegisterStore makes a store kind available to the "store" option.
func RegisterStore(name string, f StoreFactory) {
	storesMu.Lock()
	defer storesMu.Unlock()
	if _, dup := stores[name]; dup {
		panic("ratelimit: store " + name + " registered twice")
	}
	stores[name] = f
}

type config struct {
	Enabled         *bool    `json:"enabled"`
	PerSecond       *float64 `json:"per_second"`
	Burst           *float64 `json:"burst"`
	IPBased         *bool    `json:"ip_based"`
	TrustedProxies  []string `json:"trusted_proxies"`
	ForwardedHeader string   `json:"forwarded_header"`
	Headers         *bool    `json:"headers"`
	FailOpen        *bool    `json:"fail_open"`
	Store           string   `json:"store"`
	MaxEntries      int      `json:"max_entries"`
	RedisURL        string   `json:"redis_url"`
	KeyPrefix       string   `json:"key_prefix"`
	RedisTimeoutMS  int      `json:"redis_timeout_ms"`

	// Directives of the conformance corpus's test runner.
	WarmupRequests     json.RawMessage `json:"warmup_requests"`
	WarmupExpectStatus json.RawMessage `json:"warmup_expect_status"`
	SleepMSBetween     json.RawMessage `json:"sleep_ms_between"`
}

// DefaultMaxEntries bounds the memory store when max_entries is not set.
const DefaultMaxEntries = 100_000

// Limiter is a built rate_limit middleware.
type Limiter struct {
	lim       Limit
	store     Store
	mem       *MemoryStore // store, when it is the memory store (devirtualized hot path)
	ipBased   bool
	trusted   []netip.Prefix
	fwdHeader string
	headers   bool
	failOpen  bool

	limitStr  []byte // burst, rendered once
	policyStr []byte
}

// New builds the middleware from its configuration (the registry's factory).
func New(raw json.RawMessage) (middleware.Middleware, error) {
	l, err := Build(raw)
	if err != nil || l == nil {
		return nil, err
	}
	return l.Wrap, nil
}

// Build parses a configuration into a Limiter (nil when disabled).
func Build(raw json.RawMessage) (*Limiter, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errors.New("configuration must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c config
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	if c.Enabled != nil && !*c.Enabled {
		return nil, nil
	}
	if c.PerSecond == nil || !(*c.PerSecond > 0) || *c.PerSecond > MaxPerSecond {
		return nil, fmt.Errorf("per_second must be a number in (0, %g]", float64(MaxPerSecond))
	}
	if c.Burst == nil || *c.Burst < 1 || *c.Burst != math.Trunc(*c.Burst) || *c.Burst > 1e9 {
		return nil, errors.New("burst must be an integer >= 1")
	}
	if c.MaxEntries < 0 || c.RedisTimeoutMS < 0 {
		return nil, errors.New("max_entries and redis_timeout_ms must not be negative")
	}
	l := &Limiter{
		lim:       Limit{Rate: *c.PerSecond, Burst: int64(*c.Burst)},
		ipBased:   c.IPBased == nil || *c.IPBased,
		fwdHeader: c.ForwardedHeader,
		headers:   c.Headers == nil || *c.Headers,
		failOpen:  c.FailOpen == nil || *c.FailOpen,
	}
	if l.fwdHeader == "" {
		l.fwdHeader = fasthttp.HeaderXForwardedFor
	}
	for _, s := range c.TrustedProxies {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies: %w", err)
		}
		l.trusted = append(l.trusted, p)
	}
	if len(l.trusted) > 0 && !l.ipBased {
		return nil, errors.New("trusted_proxies needs ip_based")
	}
	kind := c.Store
	if kind == "" {
		kind = "memory"
	}
	storesMu.RLock()
	f := stores[kind]
	storesMu.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("unknown store %q (the redis store is in package ratelimit/redisstore)", kind)
	}
	if kind == "memory" && (c.RedisURL != "" || c.KeyPrefix != "" || c.RedisTimeoutMS != 0) {
		return nil, fmt.Errorf("redis_url, key_prefix and redis_timeout_ms need \"store\": \"redis\"")
	}
	opts := StoreOptions{MaxEntries: c.MaxEntries, URL: c.RedisURL, KeyPrefix: c.KeyPrefix,
		Timeout: time.Duration(c.RedisTimeoutMS) * time.Millisecond}
	if opts.MaxEntries == 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	st, err := f(opts)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", kind, err)
	}
	l.store = st
	l.mem, _ = st.(*MemoryStore)
	l.limitStr = strconv.AppendInt(nil, l.lim.Burst, 10)
	window := int64(math.Ceil(float64(l.lim.Burst) / l.lim.Rate))
	l.policyStr = fmt.Appendf(nil, "%d;w=%d", l.lim.Burst, window)
	return l, nil
}

// NewWithStore builds a Limiter for lim on an explicit store (Go API).
func NewWithStore(lim Limit, st Store, ipBased bool) *Limiter {
	l := &Limiter{lim: lim, store: st, ipBased: ipBased, headers: true, failOpen: true,
		fwdHeader: fasthttp.HeaderXForwardedFor}
	l.mem, _ = st.(*MemoryStore)
	l.limitStr = strconv.AppendInt(nil, lim.Burst, 10)
	l.policyStr = fmt.Appendf(nil, "%d;w=%d", lim.Burst, int64(math.Ceil(float64(lim.Burst)/lim.Rate)))
	return l
}

func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an address nor a CIDR prefix", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Store returns the limiter's store.
func (l *Limiter) Store() Store { return l.store }

// Wrap is the middleware.
func (l *Limiter) Wrap(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		now := time.Now()
		var (
			d   Decision
			err error
		)
		if l.mem != nil {
			d = l.takeMemory(ctx, now)
		} else {
			d, err = l.takeStore(ctx, now)
		}
		if err != nil {
			if l.failOpen {
				next(ctx)
				return
			}
			writeProblem(ctx, problem.New(503, "service-unavailable", "Service Unavailable",
				"Rate limiter unavailable"))
			return
		}
		if !d.Allowed {
			l.refuse(ctx, d, now)
			return
		}
		next(ctx)
		if l.headers {
			l.setHeaders(ctx, d, now)
		}
	}
}

// takeMemory and takeStore are separate so that the key buffer stays on
// the stack for the memory store (an interface call makes it escape).
func (l *Limiter) takeMemory(ctx *fasthttp.RequestCtx, now time.Time) Decision {
	var buf [64]byte
	return l.mem.take(l.appendKey(buf[:0], ctx), l.lim, now)
}

func (l *Limiter) takeStore(ctx *fasthttp.RequestCtx, now time.Time) (Decision, error) {
	var buf [64]byte
	return l.store.Take(ctx, l.appendKey(buf[:0], ctx), l.lim, now)
}

// appendKey appends the bucket key of the request: "ip:<address>" or
// "global".
func (l *Limiter) appendKey(b []byte, ctx *fasthttp.RequestCtx) []byte {
	if !l.ipBased {
		return append(b, "global"...)
	}
	b = append(b, "ip:"...)
	a := l.ClientIP(ctx)
	if !a.IsValid() {
		return append(b, "unknown"...)
	}
	return a.AppendTo(b)
}

// ClientIP is the address the request is limited by: the peer, or the
// client named by a trusted proxy's forwarding header.
func (l *Limiter) ClientIP(ctx *fasthttp.RequestCtx) netip.Addr {
	peer := peerAddr(ctx)
	if len(l.trusted) == 0 || !l.isTrusted(peer) {
		return peer
	}
	vals := ctx.Request.Header.PeekAll(l.fwdHeader)
	client := peer
	for i := len(vals) - 1; i >= 0; i-- {
		v := vals[i]
		for len(v) > 0 {
			j := bytes.LastIndexByte(v, ',')
			hop := bytes.TrimSpace(v[j+1:])
			if j < 0 {
				v = nil
			} else {
				v = v[:j]
			}
			if len(hop) == 0 {
				continue
			}
			a, ok := parseHop(hop)
			if !ok {
				return client
			}
			client = a
			if !l.isTrusted(a) {
				return a
			}
		}
	}
	return client
}

func peerAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	if ta, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		if a, ok := netip.AddrFromSlice(ta.IP); ok {
			return a.Unmap()
		}
	}
	if a, ok := netip.AddrFromSlice(ctx.RemoteIP()); ok {
		return a.Unmap()
	}
	return netip.Addr{}
}

// parseHop parses one forwarding hop: an address, optionally with a port
// or in brackets.
func parseHop(b []byte) (netip.Addr, bool) {
	s := string(b)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

func (l *Limiter) isTrusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range l.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ceilSeconds rounds a duration up to whole seconds.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// Header names in fasthttp's canonical form, set without normalizing.
var (
	hLimit      = []byte("Ratelimit-Limit")
	hRemaining  = []byte("Ratelimit-Remaining")
	hReset      = []byte("Ratelimit-Reset")
	hPolicy     = []byte("Ratelimit-Policy")
	hXLimit     = []byte("X-Ratelimit-Limit")
	hXRemaining = []byte("X-Ratelimit-Remaining")
	hXReset     = []byte("X-Ratelimit-Reset")
)

func (l *Limiter) setHeaders(ctx *fasthttp.RequestCtx, d Decision, now time.Time) {
	h := &ctx.Response.Header
	var buf [24]byte
	reset := ceilSeconds(d.ResetAfter)
	rem := strconv.AppendInt(buf[:0], d.Remaining, 10)
	h.SetCanonical(hLimit, l.limitStr)
	h.SetCanonical(hRemaining, rem)
	h.SetCanonical(hXLimit, l.limitStr)
	h.SetCanonical(hXRemaining, rem)
	h.SetCanonical(hPolicy, l.policyStr)
	h.SetCanonical(hReset, strconv.AppendInt(buf[:0], reset, 10))
	h.SetCanonical(hXReset, strconv.AppendInt(buf[:0], now.Unix()+reset, 10))
}

func (l *Limiter) refuse(ctx *fasthttp.RequestCtx, d Decision, now time.Time) {
	wait := ceilSeconds(d.RetryAfter)
	if wait < 1 {
		wait = 1
	}
	unit := " seconds."
	if wait == 1 {
		unit = " second."
	}
	p := problem.New(fasthttp.StatusTooManyRequests, "too-many-requests", "Too Many Requests",
		"Rate limit exceeded. Try again in "+strconv.FormatInt(wait, 10)+unit)
	writeProblem(ctx, p)
	ctx.Response.Header.Set("Retry-After", strconv.FormatInt(wait, 10))
	l.setHeaders(ctx, d, now)
}

func writeProblem(ctx *fasthttp.RequestCtx, p *problem.Problem) {
	ctx.Response.ResetBody()
	ctx.SetStatusCode(p.Status)
	ctx.SetContentType(problem.ContentType)
	for _, h := range p.Headers {
		ctx.Response.Header.Set(h[0], h[1])
	}
	ctx.SetBody(p.Bytes())
}
