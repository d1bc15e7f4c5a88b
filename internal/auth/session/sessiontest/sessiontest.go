// Package sessiontest is the conformance suite for session.Store. Every
// store runs it from its own tests (the memory store, the Redis store
// against miniredis, a real Redis and Redis Cluster, all on a Clock the
// suite moves), so a store that breaks a point of the contract fails where
// it is built, not in production.
//
// The suite exists because session stores get exactly these points wrong:
// the library hexchi ports had its memory store's expiry check inverted
// (valid sessions deleted, expired ones returned), scs's goredisstore turns
// an expiry in the past into a key that never expires, and in every store
// we surveyed a request still in flight during logout or login writes the
// old session back. Each subtest states the rule it checks and, when it
// fails, what the store did instead.
//
// A store's test hands Run a Harness:
//
//	func TestConformance(t *testing.T) {
//		clock := newFakeClock()
//		sessiontest.Run(t, sessiontest.Harness{
//			New: func(*testing.T) session.Store {
//				return memstore.New(memstore.WithClock(clock.Now))
//			},
//			Now:     clock.Now,
//			Advance: func(_ *testing.T, d time.Duration) { clock.Advance(d) },
//		})
//	}
package sessiontest

import (
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// Harness is what the suite needs from the store under test.
//
// Besides the contract in session.Store, the suite relies on these:
//
//   - Every method called with an already cancelled context returns an
//     error for which errors.Is(err, context.Canceled) holds. A store that
//     does its work under a lock or in memory must check ctx.Err() first,
//     or a cancelled request would still change sessions.
//   - Times survive a round trip at millisecond precision at least. The
//     suite builds every time from Now truncated to the millisecond.
//   - Time is the suite's: the store takes every decision about expiry with
//     the clock behind Now (WithClock), and only Advance moves that clock.
//     The suite never sleeps, so a slow or loaded machine cannot make it
//     fail. A store on a real server (Redis) whose own clock collects keys
//     gets a ServerClock, which stands far enough ahead of the server's
//     time that the server never collects a key the store's clock still
//     calls live; that its TTLs match the store's deadlines is for the
//     store's own tests to check.
//
// Subtests run one after another, never in parallel, so an Advance in one
// subtest never moves time under another. They name every handle and group
// randomly, so runs against a shared server do not collide: "empty" in
// New's doc means "holds none of the suite's names", which a shared Redis
// does.
type Harness struct {
	// New returns an empty store for one (sub)test; register cleanup with t.Cleanup.
	New func(t *testing.T) session.Store
	// Now is the store's clock: the suite builds record times from it.
	Now func() time.Time
	// Advance moves the store's clock forward by d (a Clock's Advance).
	Advance func(t *testing.T, d time.Duration)

	// Peer, if set, returns another instance on the same data as st (a
	// second process, for a store that caches): the suite checks that a
	// change made through one is seen through the other. Default: st
	// itself.
	Peer func(t *testing.T, st session.Store) session.Store
	// Settle, if set, returns once every change made so far is visible
	// through st (a caching store has received its invalidations).
	// Default: nothing to wait for.
	Settle func(t *testing.T, st session.Store)
}

// Run runs every conformance test as subtests of t. The subtest names
// (RoundTrip, Expiry, PatchAfterLogout, ...) can be picked with -run.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil || h.Now == nil || h.Advance == nil {
		t.Fatal("sessiontest: the Harness needs New, Now and Advance")
	}
	s := suite{h}
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"RoundTrip", s.roundTrip},
		{"UnknownHandle", s.unknownHandle},
		{"Expiry", s.expiry},
		{"PastExpiryDeletes", s.pastExpiryDeletes},
		{"InsertOnly", s.insertOnly},
		{"UpdateOnly", s.updateOnly},
		{"PatchMerge", s.patchMerge},
		{"ConcurrentPatches", s.concurrentPatches},
		{"PatchAfterLogout", s.patchAfterLogout},
		{"PatchAfterLogin", s.patchAfterLogin},
		{"Touch", s.touch},
		{"TouchDeadline", s.touchDeadline},
		{"GroupIndex", s.groupIndex},
		{"GroupLimit", s.groupLimit},
		{"ContextCancelled", s.contextCancelled},
		{"ConcurrentMix", s.concurrentMix},
		{"ChangesReachPeers", s.changesReachPeers},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

// suite carries the Harness into the subtests, which are its methods.
type suite struct {
	Harness
}
