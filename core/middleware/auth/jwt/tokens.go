package jwt

import (
	"hash/maphash"
	"maps"
	"sync"
	"sync/atomic"
)

// A client sends the same bearer token with every request until it
// expires, so verified tokens are remembered (as API gateways do): a token
// seen before is not decoded, verified or parsed again. Only what follows
// from the token's bytes is remembered — that its signature is valid (the
// keys are fixed when the middleware is built) and that its iss, aud and
// required claims passed, which cannot change; exp and nbf are checked
// again on every request against that request's clock. Tokens are
// remembered only once they passed every check, so forged or refused
// tokens cannot fill the cache, and each request gets its own copy of the
// claims, so a handler that changes them changes nothing for the next one.

const (
	tokenShards = 16
	// tokensPerShard bounds the cache (16 × 64 tokens); a full shard is
	// emptied and starts again.
	tokensPerShard = 64
	// maxCachedToken is the longest token remembered (bytes).
	maxCachedToken = 4096
)

type tokenCache struct {
	seed   maphash.Seed
	shards [tokenShards]tokenShard
}

// A shard's map is never changed once published: readers only load a
// pointer (no lock, no shared write, so cores do not fight over a cache
// line on every request); writers copy it (at most tokensPerShard entries).
type tokenShard struct {
	mu sync.Mutex                             // serializes writers
	m  atomic.Pointer[map[uint64]*knownToken] // by maphash of the token
	_  [48]byte                               // keep shards on separate cache lines
}

type knownToken struct {
	token  string
	claims map[string]any // never handed out: requests get copies
	nested []string       // names of the claims that are objects or lists
	times  tokenTimes
}

func newTokenCache() *tokenCache { return &tokenCache{seed: maphash.MakeSeed()} }

// get returns what is remembered of tok, or nil.
func (c *tokenCache) get(tok []byte) *knownToken {
	h := maphash.Bytes(c.seed, tok)
	m := c.shards[h%tokenShards].m.Load()
	if m == nil {
		return nil
	}
	k := (*m)[h]
	if k == nil || k.token != string(tok) {
		return nil
	}
	return k
}

// put remembers a token that passed every check, with a copy of its
// claims.
func (c *tokenCache) put(tok []byte, claims map[string]any, times tokenTimes) {
	if len(tok) > maxCachedToken {
		return
	}
	k := &knownToken{token: string(tok), claims: copyClaims(claims), times: times}
	for name, v := range k.claims {
		switch v.(type) {
		case map[string]any, []any:
			k.nested = append(k.nested, name)
		}
	}
	h := maphash.Bytes(c.seed, tok)
	sh := &c.shards[h%tokenShards]
	sh.mu.Lock()
	next := make(map[uint64]*knownToken, tokensPerShard)
	if old := sh.m.Load(); old != nil && len(*old) < tokensPerShard {
		for h, k := range *old {
			next[h] = k
		}
	} // a full shard starts again
	next[h] = k
	sh.m.Store(&next)
	sh.mu.Unlock()
}

// forget drops tok (it no longer passes its checks: expired).
func (c *tokenCache) forget(tok []byte) {
	h := maphash.Bytes(c.seed, tok)
	sh := &c.shards[h%tokenShards]
	sh.mu.Lock()
	if old := sh.m.Load(); old != nil {
		if k := (*old)[h]; k != nil && k.token == string(tok) {
			next := make(map[uint64]*knownToken, len(*old))
			for h2, k2 := range *old {
				if h2 != h {
					next[h2] = k2
				}
			}
			sh.m.Store(&next)
		}
	}
	sh.mu.Unlock()
}

// copyClaims is the request's own copy of the claims: the map cloned as it
// is (no rehashing), then its objects and lists copied.
func (k *knownToken) copyClaims() map[string]any {
	out := maps.Clone(k.claims)
	for _, name := range k.nested {
		out[name] = copyValue(out[name])
	}
	return out
}

// copyClaims copies the maps and lists of a claims document; strings,
// numbers and booleans are immutable and shared.
func copyClaims(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return copyClaims(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
}
