package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/sessiontest"
)

// t0 is where every test clock starts: a fixed instant, so failures are
// reproducible, with a millisecond part to catch truncation bugs.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

// attach sets m to the clock's time and moves it along with the clock until
// the test ends.
func attach(t testing.TB, c *sessiontest.Clock, m *miniredis.Miniredis) {
	m.SetTime(c.Now())
	t.Cleanup(c.OnAdvance(func(now time.Time, d time.Duration) {
		m.SetTime(now)
		m.FastForward(d)
	}))
}

// env is a store on its own miniredis, on a clock shared with it.
type env struct {
	*sessiontest.Clock
	m      *miniredis.Miniredis
	client *redis.Client
	store  *Store
	rt     *roundTrips
}

// newEnv starts miniredis and returns a store on it, both on a new clock
// at t0.
func newEnv(t testing.TB, opts ...Option) *env {
	t.Helper()
	return newEnvOn(t, sessiontest.NewClock(t0), opts...)
}

// newEnvOn is newEnv on a given clock.
func newEnvOn(t testing.TB, c *sessiontest.Clock, opts ...Option) *env {
	t.Helper()
	e := &env{Clock: c, m: miniredis.RunT(t), rt: &roundTrips{}}
	attach(t, c, e.m)
	client := redis.NewClient(&redis.Options{
		Addr:                  e.m.Addr(),
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { _ = client.Close() })
	// Connect before counting: the handshake (HELLO, CLIENT SETINFO) is
	// not part of any operation's cost.
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("ping miniredis: %v", err)
	}
	client.AddHook(e.rt)
	t.Cleanup(func() {
		e.rt.mu.Lock()
		defer e.rt.mu.Unlock()
		if len(e.rt.crossKey) > 0 {
			t.Errorf("commands that name several keys (CROSSSLOT on Cluster): %q", e.rt.crossKey)
		}
	})
	e.client = client
	e.store = New(client, append([]Option{WithClock(c.Now)}, opts...)...)
	return e
}

// roundTrips is a go-redis hook that counts round trips: one per command
// sent on its own and one per pipeline, whatever its length. It records
// what each was, so a failing assertion shows the commands. It also
// records every command that names more than one key, which Redis Cluster
// would refuse unless the keys share a slot; newEnv fails the test if
// there was any.
type roundTrips struct {
	mu       sync.Mutex
	calls    []string
	crossKey []string
}

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.add(cmd.Name())
		r.checkKeys(cmd)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name()
			r.checkKeys(c)
		}
		r.add("pipeline[" + strings.Join(names, " ") + "]")
		return next(ctx, cmds)
	}
}

func (r *roundTrips) add(call string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call)
}

// variadicKey are the commands that take any number of keys. The store
// may send them with one key only.
var variadicKey = map[string]bool{
	"del": true, "unlink": true, "exists": true, "touch": true,
	"mget": true, "sunion": true, "sinter": true, "sdiff": true,
}

// checkKeys records cmd if it names more than one key.
func (r *roundTrips) checkKeys(cmd redis.Cmder) {
	args := cmd.Args()
	multi := false
	switch name := cmd.Name(); {
	case name == "eval" || name == "evalsha":
		multi = len(args) < 3 || fmt.Sprint(args[2]) != "1"
	case variadicKey[name]:
		multi = len(args) != 2
	}
	if multi {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.crossKey = append(r.crossKey, cmd.Name())
	}
}

// take returns the round trips since the last take and starts over.
func (r *roundTrips) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	calls := r.calls
	r.calls = nil
	return calls
}

// newHandle returns a handle shaped like the Manager's.
func newHandle() string {
	sum := sha256.Sum256([]byte(rand.Text()))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// liveRecord is a record of group created a minute before now, dead in an
// hour, collectable in half an hour.
func liveRecord(now time.Time, group string) *session.Record {
	return &session.Record{
		Created:   now.Add(-time.Minute),
		Expires:   now.Add(time.Hour),
		LastSeen:  now.Add(-time.Minute),
		ExpireAt:  now.Add(30 * time.Minute),
		Group:     group,
		UserAgent: "Mozilla/5.0 (test)",
		Values: map[string][]byte{
			"user": []byte(`{"id":42}`),
			"e":    []byte(`"an app field named like a meta field"`),
		},
	}
}

// mustCreate stores rec under a new handle and returns the handle.
func (e *env) mustCreate(t testing.TB, rec *session.Record) string {
	t.Helper()
	h := newHandle()
	if _, err := e.store.Create(t.Context(), h, rec, session.CreateOptions{}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	return h
}

// createErr is the error of a Create, for tests that check only that.
func createErr(_ []string, err error) error { return err }
