package redisstore

import (
	"container/list"
	"log/slog"
	"sync"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// NearCache configures the store's near cache (WithNearCache): records this
// process has read, kept in its memory and served again without a round
// trip until Redis says they changed. Zero fields take the defaults.
type NearCache struct {
	// MaxEntries bounds how many records the cache holds. Default 10 000.
	MaxEntries int
	// MaxBytes bounds the approximate memory of the records it holds.
	// Default 16 MiB.
	MaxBytes int64
	// MaxStaleness is the hard bound on how long a cached record is served
	// without being read from Redis again, whatever the invalidations say:
	// the backstop for one that is lost (a network partition the
	// subscriber connection has not noticed yet). Default 2 s.
	MaxStaleness time.Duration
	// Logger receives the near cache's state changes: tracking on, lost
	// (the store then reads from Redis until it is back), or refused by
	// Redis for good (an old Redis, or an ACL without one of the commands
	// or the channel the subscriber needs: see the package doc). Default
	// slog.Default().
	Logger *slog.Logger
}

const (
	defaultNearEntries   = 10_000
	defaultNearBytes     = 16 << 20
	defaultNearStaleness = 2 * time.Second
	// entryOverhead is what an entry costs besides its keys and values:
	// the struct, the list element, the map slot, the times.
	entryOverhead = 256
)

// NearCacheStats are the near cache's counters, for metrics.
type NearCacheStats struct {
	Hits, Misses uint64 // loads served from memory, and loads that went to Redis
	// Invalidations counts the records (or loads in flight) dropped
	// because Redis said they changed: other processes' writes, and the
	// echo of this process's own, which arrives a moment after the write
	// and is counted when it finds an entry (one a load made after the
	// write). The drop a write makes itself, before it returns, is not.
	Invalidations     uint64
	Flushes           uint64 // times the whole cache was dropped (tracking lost or restarted)
	Entries           int
	Bytes             int64
	Tracking          bool   // invalidations flow: the cache may serve
	DisabledBecause   string // why the cache is off for good: the client, Redis refused tracking, or the store is closed
	MaxEntries        int
	MaxBytes          int64
	MaxStalenessNanos int64
}

// nearCache is the cache itself, without I/O: an LRU of records by Redis
// key, with the rules that keep it coherent.
//
//   - A load that misses reserves the key (a pending entry with a token)
//     before it asks Redis, and fills it only if the entry is still its own
//     when the answer comes: an invalidation, local or from Redis, that
//     lands in between removes the reservation, so a fetch that raced a
//     write never stores what the write replaced.
//   - It serves nothing while tracking is off (the subscriber connection is
//     down or not yet subscribed), and a flush (tracking lost, or back
//     after a gap in which invalidations may have been missed) drops every
//     entry and every reservation: the epoch in each token goes stale.
//   - An entry is served for at most maxStale after it was read.
//   - Once disabled (Redis refused tracking, the store closed) it stays
//     off: a late subscription confirmation cannot turn it back on.
//   - A record bigger than maxBytes on its own is not kept, so that
//     maxBytes bounds the memory whatever the records.
type nearCache struct {
	maxEntries int
	maxBytes   int64
	maxStale   time.Duration
	now        func() time.Time

	mu       sync.Mutex
	entries  map[string]*list.Element // of *nearEntry, by Redis key
	lru      *list.List               // front: most recently used
	bytes    int64
	epoch    uint64 // bumped by every flush
	nextTok  uint64
	tracking bool
	stats    NearCacheStats
}

type nearEntry struct {
	key       string
	token     uint64          // of the reservation while pending
	epoch     uint64          // when it was reserved
	rec       *session.Record // nil while pending
	fetchedAt time.Time
	size      int64
}

func newNearCache(cfg NearCache, now func() time.Time) *nearCache {
	c := &nearCache{
		maxEntries: cfg.MaxEntries,
		maxBytes:   cfg.MaxBytes,
		maxStale:   cfg.MaxStaleness,
		now:        now,
		entries:    make(map[string]*list.Element),
		lru:        list.New(),
	}
	if c.maxEntries <= 0 {
		c.maxEntries = defaultNearEntries
	}
	if c.maxBytes <= 0 {
		c.maxBytes = defaultNearBytes
	}
	if c.maxStale <= 0 {
		c.maxStale = defaultNearStaleness
	}
	return c
}

// get returns a copy of the record cached under key, if the cache may
// serve it.
func (c *nearCache) get(key string) (*session.Record, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok || !c.tracking {
		c.stats.Misses++
		return nil, false
	}
	e := el.Value.(*nearEntry)
	if e.rec == nil || c.now().Sub(e.fetchedAt) >= c.maxStale {
		c.stats.Misses++
		return nil, false
	}
	c.lru.MoveToFront(el)
	c.stats.Hits++
	return cloneRecord(e.rec), true
}

// reserve marks key as being fetched and returns the token that fill needs;
// 0 when the cache may not be filled now (tracking is off).
func (c *nearCache) reserve(key string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.tracking {
		return 0
	}
	c.removeLocked(key)
	c.nextTok++
	e := &nearEntry{key: key, token: c.nextTok, epoch: c.epoch, size: entryOverhead + int64(len(key))}
	c.entries[key] = c.lru.PushFront(e)
	c.bytes += e.size
	c.evictLocked()
	return e.token
}

// fill stores rec under key if the reservation token is still there: no
// invalidation or flush came since reserve. It reports whether it stored
// rec.
func (c *nearCache) fill(key string, token uint64, rec *session.Record, fetchedAt time.Time) bool {
	if token == 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return false
	}
	e := el.Value.(*nearEntry)
	if e.token != token || e.epoch != c.epoch || e.rec != nil || !c.tracking {
		return false
	}
	size := recordSize(key, rec)
	if size > c.maxBytes {
		// Kept, it would push out every other entry and still hold more
		// than the bound: read it from Redis every time instead.
		c.removeLocked(key)
		return false
	}
	c.bytes += size - e.size
	e.rec, e.size, e.fetchedAt = cloneRecord(rec), size, fetchedAt
	c.evictLocked()
	return true
}

// cancel drops the reservation token made, when the fetch brought nothing
// to keep (no record, a dead one, an error).
func (c *nearCache) cancel(key string, token uint64) {
	if token == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok && el.Value.(*nearEntry).token == token && el.Value.(*nearEntry).rec == nil {
		c.removeLocked(key)
	}
}

// invalidate drops what the cache holds or is fetching for each key,
// because Redis said they changed; drop does the same for this process's
// own writes, which are not counted as invalidations.
func (c *nearCache) invalidate(keys ...string) { c.remove(true, keys) }

func (c *nearCache) drop(keys ...string) { c.remove(false, keys) }

func (c *nearCache) remove(count bool, keys []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		if c.removeLocked(k) && count {
			c.stats.Invalidations++
		}
	}
}

// setTracking turns serving on or off. Either way the cache is flushed:
// turning off, because invalidations no longer arrive; turning on, because
// some may have been lost while the subscription was down. A disabled
// cache stays off.
func (c *nearCache) setTracking(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tracking = on && c.stats.DisabledBecause == ""
	c.flushLocked()
}

// disable turns serving off for good, for reason; the first reason stays.
func (c *nearCache) disable(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tracking = false
	if c.stats.DisabledBecause == "" {
		c.stats.DisabledBecause = reason
	}
	c.flushLocked()
}

// serving reports whether the cache may serve: tracking is on.
func (c *nearCache) serving() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tracking
}

// flush drops everything (FLUSHALL, or a gap in the invalidations).
func (c *nearCache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
}

func (c *nearCache) flushLocked() {
	if len(c.entries) > 0 {
		c.stats.Flushes++
	}
	c.entries = make(map[string]*list.Element)
	c.lru.Init()
	c.bytes = 0
	c.epoch++
}

func (c *nearCache) snapshot() NearCacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries, s.Bytes, s.Tracking = len(c.entries), c.bytes, c.tracking
	s.MaxEntries, s.MaxBytes, s.MaxStalenessNanos = c.maxEntries, c.maxBytes, int64(c.maxStale)
	return s
}

// removeLocked drops key's entry and reports whether there was one.
func (c *nearCache) removeLocked(key string) bool {
	el, ok := c.entries[key]
	if !ok {
		return false
	}
	c.lru.Remove(el)
	delete(c.entries, key)
	c.bytes -= el.Value.(*nearEntry).size
	return true
}

// evictLocked drops the least recently used entries until both bounds
// hold, whatever it takes: an emptied cache holds 0 bytes.
func (c *nearCache) evictLocked() {
	for c.lru.Len() > 0 && (len(c.entries) > c.maxEntries || c.bytes > c.maxBytes) {
		el := c.lru.Back()
		c.removeLocked(el.Value.(*nearEntry).key)
	}
}

// recordSize is an estimate of the memory a cached record takes.
func recordSize(key string, rec *session.Record) int64 {
	n := int64(entryOverhead + len(key) + len(rec.Group) + len(rec.UserAgent))
	for k, v := range rec.Values {
		n += int64(len(k) + len(v) + 48) // the map slot and the slice header
	}
	return n
}

// cloneRecord is a deep copy of rec: the cache and its callers never share
// a map or a byte slice, as the Store contract requires.
func cloneRecord(rec *session.Record) *session.Record {
	c := *rec
	c.Values = make(map[string][]byte, len(rec.Values))
	for k, v := range rec.Values {
		c.Values[k] = append([]byte(nil), v...)
	}
	return &c
}
