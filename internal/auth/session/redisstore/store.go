package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/auth/session"
)

// DefaultKeyPrefix is the key prefix of a store made without WithKeyPrefix.
// It matches the default of core.redis.keyPrefix.
const DefaultKeyPrefix = "hexchi:"

// Store is a session.Store on Redis. It is safe for concurrent use; it holds
// no state besides its configuration, and the client is a pool.
type Store struct {
	client redis.UniversalClient
	// cluster is set for a *redis.ClusterClient, whose pipelines run in
	// parallel on several nodes: where the order of two writes matters, the
	// store then sends them one after the other.
	cluster bool
	prefix  string
	now     func() time.Time
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
	return s
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
