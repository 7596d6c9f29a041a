package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// MemoryStore keeps buckets in process memory, bounded by a maximum number
// of entries. It is split into shards, each a map plus an LRU list under
// its own mutex. A bucket whose theoretical arrival time has passed is full
// and equivalent to no bucket: such buckets are dropped from the LRU tail
// whenever a new client arrives, and when the cap is reached the least
// recently used bucket is evicted. Maps that shrank far below their peak
// are rebuilt so their memory is returned.
type MemoryStore struct {
	seed   maphash.Seed
	base   time.Time // monotonic origin of the stored times
	shards []memShard
	mask   uint64
}

type memShard struct {
	mu    sync.Mutex
	m     map[string]*memEntry
	head  *memEntry // most recently used
	tail  *memEntry // least recently used
	free  *memEntry // one spare entry, reused on eviction
	max   int
	peak  int
	evict uint64
	_     [32]byte // keep shards on separate cache lines
}

type memEntry struct {
	key        string
	tat        int64 // theoretical arrival time, ns since base
	prev, next *memEntry
}

// NewMemoryStore makes a store holding at most maxEntries buckets (at
// least 1; DefaultMaxEntries when maxEntries <= 0).
func NewMemoryStore(maxEntries int) *MemoryStore {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	n := 1
	for n < 64 && maxEntries/(n*2) >= 256 {
		n *= 2
	}
	s := &MemoryStore{seed: maphash.MakeSeed(), base: time.Now(), shards: make([]memShard, n), mask: uint64(n - 1)}
	per := maxEntries / n
	for i := range s.shards {
		s.shards[i].max = per
		if i < maxEntries%n {
			s.shards[i].max++
		}
		s.shards[i].m = make(map[string]*memEntry)
	}
	return s
}

// Take implements Store.
func (s *MemoryStore) Take(_ context.Context, key []byte, lim Limit, now time.Time) (Decision, error) {
	return s.take(key, lim, now), nil
}

// Len is the number of buckets held.
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// Evictions is the number of buckets evicted before they refilled (the cap
// was reached).
func (s *MemoryStore) Evictions() uint64 {
	var n uint64
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += sh.evict
		sh.mu.Unlock()
	}
	return n
}

func (s *MemoryStore) take(key []byte, lim Limit, now time.Time) Decision {
	t := int64(now.Sub(s.base))
	T := int64(lim.Interval())
	tau := T * lim.Burst
	sh := &s.shards[maphash.Bytes(s.seed, key)&s.mask]
	sh.mu.Lock()
	e := sh.m[string(key)]
	tat := t
	if e != nil {
		if e.tat > t {
			tat = e.tat
		}
	}
	next := tat + T
	if next-t > tau {
		if e != nil {
			sh.touch(e)
		}
		sh.mu.Unlock()
		return Decision{Allowed: false, Remaining: 0, RetryAfter: time.Duration(next - t - tau), ResetAfter: time.Duration(tat - t)}
	}
	if e == nil {
		e = sh.insert(key, t)
	} else {
		sh.touch(e)
	}
	e.tat = next
	sh.mu.Unlock()
	return Decision{Allowed: true, Remaining: (tau - (next - t)) / T, ResetAfter: time.Duration(next - t)}
}

// insert adds a bucket for key, first dropping refilled buckets from the
// LRU tail and, at the cap, the least recently used one.
func (sh *memShard) insert(key []byte, t int64) *memEntry {
	for i := 0; i < 8 && sh.tail != nil && sh.tail.tat <= t; i++ {
		sh.remove(sh.tail)
	}
	for len(sh.m) >= sh.max && sh.tail != nil {
		sh.evict++
		sh.remove(sh.tail)
	}
	if sh.peak >= 4096 && len(sh.m) < sh.peak/4 {
		// Go maps never shrink: rebuild after a flood has drained.
		m := make(map[string]*memEntry, len(sh.m)*2)
		for k, v := range sh.m {
			m[k] = v
		}
		sh.m = m
		sh.peak = len(m)
	}
	e := sh.free
	if e != nil {
		sh.free = nil
		*e = memEntry{}
	} else {
		e = new(memEntry)
	}
	e.key = string(key)
	sh.m[e.key] = e
	if len(sh.m) > sh.peak {
		sh.peak = len(sh.m)
	}
	sh.pushFront(e)
	return e
}

func (sh *memShard) remove(e *memEntry) {
	delete(sh.m, e.key)
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		sh.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		sh.tail = e.prev
	}
	e.prev, e.next, e.key = nil, nil, ""
	sh.free = e
}

func (sh *memShard) pushFront(e *memEntry) {
	e.prev = nil
	e.next = sh.head
	if sh.head != nil {
		sh.head.prev = e
	}
	sh.head = e
	if sh.tail == nil {
		sh.tail = e
	}
}

func (sh *memShard) touch(e *memEntry) {
	if sh.head == e {
		return
	}
	// unlink
	e.prev.next = e.next
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		sh.tail = e.prev
	}
	sh.pushFront(e)
}
