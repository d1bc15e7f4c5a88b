package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// How the near cache learns that a record changed: Redis's own client-side
// caching protocol in broadcast mode. One connection of its own, the
// subscriber, runs
//
//	CLIENT TRACKING ON REDIRECT <its own id> BCAST PREFIX <prefix>s:
//	SUBSCRIBE __redis__:invalidate
//
// and from then on Redis publishes the name of every session key that any
// client writes, deletes or lets expire, to that connection, once the write
// has run. Broadcast mode needs no tracking state for reads (so every
// replica's reads stay as cheap as before), and covers writes made by Lua
// scripts, which is how this store writes.
//
// go-redis's own client-side cache (ClientSideCacheConfig) was read first
// and set aside: it tracks per connection, so an invalidation of this
// process's own write reaches whichever pooled connection read the key,
// at that connection's next command or drainer tick, and it never
// invalidates on a write of its own (the store writes with EVALSHA); this
// store must never serve a stale read of its own write. Its public API has
// no way to drop an entry by key either.

const (
	invalidateChannel = "__redis__:invalidate"
	// healthInterval is how often the subscriber pings Redis when no
	// invalidation arrives. A connection that died without a word (a
	// partition: writes still succeed, nothing comes back) is given up
	// after silentAfter without any message, the pings' answers included,
	// and made again. Until then MaxStaleness bounds what a lost
	// invalidation can cost.
	healthInterval = time.Second
	silentAfter    = 3 * healthInterval
	// retryBackoff is the pause between two failed attempts to subscribe.
	retryBackoff = 200 * time.Millisecond
)

// tracker owns the subscriber connection and its goroutine.
type tracker struct {
	cache  *nearCache
	sub    *redis.Client // a client of its own, so that its connection is never pooled
	prefix string        // the key prefix it tracks: <store prefix>s:

	// ps is the subscription run receives on; run replaces it after a
	// silence, and close closes the current one to end a blocked receive.
	psMu sync.Mutex
	ps   *redis.PubSub

	stop context.CancelFunc
	done chan struct{}
	log  *slog.Logger

	// refused is set by a connection whose CLIENT ID or CLIENT TRACKING
	// Redis answered with an error: asking again will not help.
	refused atomic.Pointer[string]
	// on is what run last logged: tracking on or not.
	on bool

	mu      sync.Mutex
	waiters map[string]chan error // Sync's marker keys; each is sent one answer
}

// startTracking starts the subscriber for cache on a client of its own made
// from opts (the store's single-node client's), and returns it. It runs
// until close; the cache serves only while it is subscribed.
func startTracking(cache *nearCache, opts *redis.Options, keyPrefix string, log *slog.Logger) *tracker {
	t := &tracker{cache: cache, prefix: keyPrefix, log: log, done: make(chan struct{}), waiters: make(map[string]chan error)}
	o := *opts
	// RESP2: the redirected invalidations arrive as plain pub/sub messages.
	o.Protocol = 2
	o.PoolSize, o.MinIdleConns, o.MaxIdleConns = 1, 0, 1
	o.ClientSideCacheConfig, o.ClientSideCache = nil, nil
	// Blocking reads of pub/sub run on the subscriber's own deadline.
	o.ReadTimeout = max(o.ReadTimeout, 2*healthInterval)
	userOnConnect := opts.OnConnect
	o.OnConnect = func(ctx context.Context, cn *redis.Conn) error {
		if userOnConnect != nil {
			if err := userOnConnect(ctx, cn); err != nil {
				return err
			}
		}
		// Every connection the subscriber makes (the first, and each one
		// after a reconnect) turns tracking on for itself before it
		// subscribes.
		id, err := cn.ClientID(ctx).Result()
		if err == nil {
			err = cn.Do(ctx, "CLIENT", "TRACKING", "ON", "REDIRECT", id, "BCAST", "PREFIX", keyPrefix).Err()
		}
		if err != nil {
			err = fmt.Errorf("near cache: client tracking: %w", err)
			if isRefusal(err) {
				msg := err.Error()
				t.refused.Store(&msg)
			}
		}
		return err
	}
	t.sub = redis.NewClient(&o)
	ctx, stop := context.WithCancel(context.Background())
	t.stop = stop
	go t.run(ctx)
	return t
}

// subscribe makes a new subscription to the invalidation channel and
// makes it current; nil once ctx has ended (close has run, or is running).
func (t *tracker) subscribe(ctx context.Context) *redis.PubSub {
	ps := t.sub.Subscribe(ctx) // no channel yet: no I/O
	t.psMu.Lock()
	if ctx.Err() != nil {
		t.psMu.Unlock()
		_ = ps.Close()
		return nil
	}
	t.ps = ps
	t.psMu.Unlock()
	// The channel is remembered even when this SUBSCRIBE fails (Redis
	// down): go-redis subscribes again on every reconnect, and each
	// confirmation (a *redis.Subscription) is what turns serving on.
	_ = ps.Subscribe(ctx, invalidateChannel)
	return ps
}

// run receives invalidations until ctx ends. Any error (the connection
// lost, Redis restarted) turns serving off at once and makes a new
// subscription; its confirmation turns serving back on, with an empty
// cache. A refusal (an ACL, a Redis without tracking) turns the cache off
// for good.
func (t *tracker) run(ctx context.Context) {
	defer close(t.done)
	ps := t.subscribe(ctx)
	heard := time.Now() // the last message of any kind
	for ps != nil && ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, healthInterval)
		switch {
		case ctx.Err() != nil:
			return
		case isTimeout(err) && time.Since(heard) >= silentAfter:
			// Not even the pings are answered: the connection is dead
			// without knowing it. Make a new one.
			t.lost(ctx, fmt.Errorf("near cache: no answer from Redis for %v", time.Since(heard).Round(time.Second)))
			_ = ps.Close()
			ps, heard = t.subscribe(ctx), time.Now()
			continue
		case isTimeout(err):
			// Quiet: ask Redis whether the connection still works; the
			// answer is a message too.
			if err := ps.Ping(ctx); err != nil {
				t.lost(ctx, err)
			}
			continue
		case isFlushMessage(err):
			// FLUSHALL or FLUSHDB: the message was read whole, so the
			// connection is in step and tracking still on.
			heard = time.Now()
			t.cache.flush()
			continue
		case err != nil:
			reason := t.refused.Load() // CLIENT ID or CLIENT TRACKING, from OnConnect
			if reason == nil && isRefusal(err) {
				// SUBSCRIBE, or PING, refused (an ACL without the
				// channel: Redis 7's default for a new user).
				msg := fmt.Sprintf("near cache: subscribe %s: %v", invalidateChannel, err)
				reason = &msg
			}
			if reason != nil {
				t.refuse(ctx, *reason)
				return
			}
			// Serve nothing, and start over on a new subscription. go-redis
			// would make a new connection by itself only for an error it
			// takes for a broken connection; for any other (a reply it
			// cannot read) it would stay on this one, where no new
			// confirmation would ever come to turn serving back on.
			t.lost(ctx, err)
			_ = ps.Close()
			sleep(ctx, retryBackoff)
			ps, heard = t.subscribe(ctx), time.Now()
			continue
		}
		heard = time.Now()
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == invalidateChannel {
				t.cache.setTracking(true)
				if !t.on {
					t.on = true
					t.log.InfoContext(ctx, "session near cache tracking on")
				}
			}
		case *redis.Message:
			t.invalidated(m)
		}
	}
}

// lost turns serving off after err, and says so once per outage.
func (t *tracker) lost(ctx context.Context, err error) {
	t.cache.setTracking(false)
	t.release(errNotTracking)
	if t.on {
		t.on = false
		t.log.WarnContext(ctx, "session near cache tracking lost; sessions are read from Redis until it is back", "err", err)
	}
}

// refuse turns the cache off for good, because Redis refused one of the
// commands tracking needs, and says so once: asking again will not help.
// It logs first, so that whoever sees DisabledBecause finds the log line.
func (t *tracker) refuse(ctx context.Context, reason string) {
	t.log.ErrorContext(ctx, "session near cache off: Redis refused client tracking; sessions are read from Redis", "err", reason)
	t.cache.disable(reason)
	t.release(errNotTracking)
}

// errNotTracking is Sync's answer when the invalidations it waits for do
// not flow: they may never arrive.
var errNotTracking = errors.New("the near cache is not tracking")

// release answers every waiting Sync with err.
func (t *tracker) release(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, w := range t.waiters {
		w <- err
		delete(t.waiters, k)
	}
}

// isFlushMessage reports whether err is go-redis refusing the message that
// Redis sends on FLUSHALL and FLUSHDB: in RESP2, an invalidation whose
// payload is null, which go-redis's pub/sub reader does not take. Should a
// later go-redis word it otherwise, run's general error branch still
// recovers, at the cost of a new subscription.
func isFlushMessage(err error) bool {
	return err != nil && strings.HasSuffix(err.Error(), "unsupported pubsub message payload: <nil>")
}

// isRefusal reports whether err is Redis refusing the tracking commands
// for good (a Redis that does not know them, an ACL that forbids them)
// rather than a passing state (LOADING, too many clients, a lost
// connection).
func isRefusal(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	msg := rerr.Error()
	return strings.HasPrefix(msg, "NOPERM") || strings.Contains(strings.ToLower(msg), "unknown")
}

// invalidated applies one invalidation message: a list of keys, or none
// at all for FLUSHALL / FLUSHDB.
func (t *tracker) invalidated(m *redis.Message) {
	keys := m.PayloadSlice
	if len(keys) == 0 && m.Payload != "" {
		keys = []string{m.Payload}
	}
	if len(keys) == 0 {
		t.cache.flush()
		return
	}
	t.cache.invalidate(keys...)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if w, ok := t.waiters[k]; ok {
			w <- nil
			delete(t.waiters, k)
		}
	}
}

// sync writes a marker key under the tracked prefix through client and
// waits until its invalidation arrives. Redis sends invalidations in the
// order the writes ran, so every write that ran before sync's has then
// reached the cache. It fails at once, and not at ctx's end, when tracking
// is off or goes off while it waits.
func (t *tracker) sync(ctx context.Context, client redis.UniversalClient) error {
	key := t.prefix + "~sync~" + rand.Text()
	// One answer, sent under t.mu, from invalidated or release; buffered
	// so that neither waits for this function.
	wait := make(chan error, 1)
	t.mu.Lock()
	t.waiters[key] = wait
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.waiters, key)
		t.mu.Unlock()
	}()
	// Checked after the waiter is in: lost turns tracking off before it
	// releases the waiters, so either this sees it off or lost sees the
	// waiter.
	if !t.cache.serving() {
		return fmt.Errorf("near cache sync: %w", errNotTracking)
	}
	if err := client.Set(ctx, key, "1", 10*time.Second).Err(); err != nil {
		return fmt.Errorf("near cache sync: %w", err)
	}
	// On failure the marker is left to its TTL.
	select {
	case err := <-wait:
		if err != nil {
			return fmt.Errorf("near cache sync: %w", err)
		}
	case <-ctx.Done():
		return fmt.Errorf("near cache sync: %w", ctx.Err())
	}
	if err := client.Del(context.WithoutCancel(ctx), key).Err(); err != nil {
		return fmt.Errorf("near cache sync: delete the marker: %w", err)
	}
	return nil
}

// close stops the subscriber and waits for its goroutine. Call it once.
func (t *tracker) close() error {
	t.stop()
	t.release(errNotTracking)
	t.psMu.Lock()
	ps := t.ps
	t.psMu.Unlock()
	var err error
	if ps != nil {
		// Closed already if run replaced it just now.
		if err = ps.Close(); errors.Is(err, redis.ErrClosed) {
			err = nil
		}
	}
	<-t.done
	return errors.Join(err, t.sub.Close())
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
