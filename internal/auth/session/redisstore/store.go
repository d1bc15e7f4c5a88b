package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/auth/session"
)

// DefaultKeyPrefix is the key prefix of a store made without WithKeyPrefix.
// It matches the default of core.redis.keyPrefix.
const DefaultKeyPrefix = "hexchi:"

// Store is a session.Store on Redis. It is safe for concurrent use. Without
// a near cache it holds no state besides its configuration, and the client
// is a pool; with one (WithNearCache) it holds the cache, a connection and
// a goroutine of its own, which Close ends.
type Store struct {
	client redis.UniversalClient
	// cluster is set for a *redis.ClusterClient, whose pipelines run in
	// parallel on several nodes: where the order of two writes matters, the
	// store then sends them one after the other.
	cluster bool
	prefix  string
	now     func() time.Time

	// near is the near cache (WithNearCache), nil when off; tracker feeds
	// it. nearOff says why a near cache that was asked for is off.
	nearCfg *NearCache
	near    *nearCache
	tracker *tracker
	nearOff string

	closeOnce sync.Once
	closeErr  error
}

var _ session.Store = (*Store)(nil)

// An Option changes a default of New.
type Option func(*Store)

// WithKeyPrefix sets the prefix of every key the store uses (default
// DefaultKeyPrefix). Give each app, or each environment sharing a Redis, its
// own prefix; an ACL such as "~hexchi:*" can then confine the app to it. An
// empty prefix is allowed and means none. Keep hash tags ("{...}") out of it
// on Redis Cluster: they would put every key in one slot.
func WithKeyPrefix(prefix string) Option {
	return func(s *Store) { s.prefix = prefix }
}

// WithClock sets the store's clock (default time.Now), which decides when
// an ExpireAt is in the past. Give it the Manager's clock. Redis's own clock
// only collects keys at their PEXPIREAT; every decision the contract
// describes is taken with this one, so a skew between the app servers and
// Redis shifts garbage collection by the skew but never keeps a dead
// session alive. A nil now keeps the default.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// WithNearCache turns the near cache on (see NearCache, and the package
// doc): a record this process has read is served from its memory, with no
// round trip, until Redis says that it changed or cfg.MaxStaleness passes.
// It needs a single-node client (a *redis.Client made by redis.NewClient):
// on Redis Cluster or behind Sentinel the store runs uncached, and
// NearCacheStats().DisabledBecause says why. A store with a near cache
// owns a connection and a goroutine of its own: Close ends them.
func WithNearCache(cfg NearCache) Option {
	return func(s *Store) { s.nearCfg = &cfg }
}

// New returns a store that keeps its sessions in client: a *redis.Client, a
// Sentinel failover client or a *redis.ClusterClient. Pass go-redis's own
// client, not a type that wraps it, so that the store sees a Cluster for
// what it is. The client should have ContextTimeoutEnabled set, or go-redis
// ignores ctx deadlines and only its socket timeouts apply. The store never
// closes the client.
func New(client redis.UniversalClient, opts ...Option) *Store {
	_, cluster := client.(*redis.ClusterClient)
	s := &Store{client: client, cluster: cluster, prefix: DefaultKeyPrefix, now: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	if s.nearCfg != nil {
		single, ok := client.(*redis.Client)
		switch {
		case cluster:
			s.nearOff = "Redis Cluster: a key's invalidations come from the node that owns it, and the store tracks one node"
		case !ok:
			s.nearOff = fmt.Sprintf("a %T is not a single-node *redis.Client", client)
		case single.Options().Addr == "FailoverClient":
			s.nearOff = "Sentinel: the subscriber would not follow a failover"
		default:
			s.near = newNearCache(*s.nearCfg, s.now)
			log := s.nearCfg.Logger
			if log == nil {
				log = slog.Default()
			}
			s.tracker = startTracking(s.near, single.Options(), s.sessionKey(""), log)
		}
	}
	return s
}

// Close ends the near cache's subscriber connection and goroutine; a store
// without a near cache has nothing to close. The store still works once
// closed, uncached: with no invalidations arriving, the cache would serve
// stale records, so Close turns it off first (DisabledBecause "store
// closed"). The client stays open: it is the caller's. Close is
// idempotent: a second call returns what the first did.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.near != nil {
			s.near.disable("store closed")
		}
		if s.tracker != nil {
			if err := s.tracker.close(); err != nil {
				s.closeErr = fmt.Errorf("close the near cache's subscriber: %w", err)
			}
		}
	})
	return s.closeErr
}

// NearCacheStats returns the near cache's counters; zero, and
// DisabledBecause, when it is off.
func (s *Store) NearCacheStats() NearCacheStats {
	if s.near == nil {
		return NearCacheStats{DisabledBecause: s.nearOff}
	}
	return s.near.snapshot()
}

// Sync waits until every write to Redis that ran before it, from any
// process, has reached this store's near cache. Tests use it to read
// "after the invalidation" without sleeping. Without a near cache (none
// asked for, or none on this client) it returns nil at once; with one
// that is not tracking (not yet, lost, refused, closed) it fails at once,
// and it fails as soon as tracking is lost while it waits: the
// invalidation it waits for may never come. Give ctx a deadline.
func (s *Store) Sync(ctx context.Context) error {
	if s.tracker == nil {
		return nil
	}
	return s.tracker.sync(ctx, s.client)
}

// forget drops handles' records from the near cache: this process wrote
// them, and must never read back what it replaced. Redis's invalidation
// follows, for the other processes.
func (s *Store) forget(handles ...string) {
	if s.near == nil {
		return
	}
	keys := make([]string, len(handles))
	for i, h := range handles {
		keys[i] = s.sessionKey(h)
	}
	s.near.drop(keys...)
}

// sessionKey is the key of the hash that holds the session handle.
func (s *Store) sessionKey(handle string) string {
	return s.prefix + "s:" + handle
}

// groupKey is the key of the sorted set that indexes group. The group is a user id
// in most apps; its digest keeps personal data out of key names (which show
// up in SCAN, MONITOR and slow logs) and bounds the key length.
func (s *Store) groupKey(group string) string {
	sum := sha256.Sum256([]byte(group))
	return s.prefix + "g:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// removeFromGroup queues the removal of handles from group's index on pipe,
// with the script that migrates an old plain-set index first (EVAL, as in
// Create's pipeline; see there).
func (s *Store) removeFromGroup(ctx context.Context, pipe redis.Pipeliner, group string, handles ...string) {
	args := make([]any, len(handles))
	for i, h := range handles {
		args[i] = h
	}
	pipe.Eval(ctx, groupRemoveSrc, []string{s.groupKey(group)}, args...)
}

// Delete removes a session and its index entry in one round trip. DEL and
// the index removal are separate commands in a pipeline, never one
// multi-key command: the two keys may live on different Cluster nodes.
func (s *Store) Delete(ctx context.Context, ref session.Ref) error {
	defer s.forget(ref.Handle)
	pipe := s.client.Pipeline()
	pipe.Del(ctx, s.sessionKey(ref.Handle))
	if ref.Group != "" {
		s.removeFromGroup(ctx, pipe, ref.Group, ref.Handle)
	}
	// Exec returns the first error of any command, not only of the
	// connection, so a refused DEL (ACL, OOM) is never taken for success.
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redis delete %s: %w", session.ShortHandle(ref.Handle), err)
	}
	return nil
}
