package redisstore

import (
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/auth/session"
)

// TestRoundTrips proves the budget in the package comment: hexchi promises
// these numbers, so a change that adds a round trip fails here. Scripts are
// loaded first, as they are on a Redis that has served a request since its
// start; TestRoundTripsColdScript covers the first call.
func TestRoundTrips(t *testing.T) {
	tests := []struct {
		name string
		// op runs the operation on a store that holds old, a session of
		// group "g1" created by setup.
		op   func(t *testing.T, e *env, old string) error
		want []string
	}{
		{
			name: "Load",
			op: func(t *testing.T, e *env, old string) error {
				_, err := e.store.Load(t.Context(), old, session.Touch{})
				return err
			},
			want: []string{"hgetall"},
		},
		{
			name: "LoadWithDueTouch",
			op: func(t *testing.T, e *env, old string) error {
				rec, err := e.store.Load(t.Context(), old, session.Touch{Now: e.Now(), Idle: time.Hour, Every: time.Second})
				if err == nil && !rec.LastSeen.Equal(e.Now()) {
					t.Errorf("LastSeen = %v, want the touch at %v", rec.LastSeen, e.Now())
				}
				return err
			},
			want: []string{"evalsha"},
		},
		{
			name: "LoadWithTouchNotDue",
			op: func(t *testing.T, e *env, old string) error {
				_, err := e.store.Load(t.Context(), old, session.Touch{Now: e.Now(), Idle: time.Hour, Every: time.Hour})
				return err
			},
			want: []string{"evalsha"},
		},
		{
			name: "CreateWithGroupAndReplaces",
			op: func(t *testing.T, e *env, old string) error {
				return createErr(e.store.Create(t.Context(), newHandle(), liveRecord(e.Now(), "g1"), session.CreateOptions{Replaces: session.Ref{Handle: old, Group: "g1"}}))
			},
			want: []string{"pipeline[eval eval del]"},
		},
		{
			name: "CreateReplacingAnotherGroup",
			op: func(t *testing.T, e *env, old string) error {
				return createErr(e.store.Create(t.Context(), newHandle(), liveRecord(e.Now(), "g2"), session.CreateOptions{Replaces: session.Ref{Handle: old, Group: "g1"}}))
			},
			want: []string{"pipeline[eval eval del eval]"},
		},
		{
			name: "CreateWithinTheGroupLimit",
			op: func(t *testing.T, e *env, _ string) error {
				return createErr(e.store.Create(t.Context(), newHandle(), liveRecord(e.Now(), "g1"), session.CreateOptions{GroupLimit: 2}))
			},
			want: []string{"pipeline[eval eval]"},
		},
		{
			name: "CreatePastTheGroupLimit",
			op: func(t *testing.T, e *env, _ string) error {
				return createErr(e.store.Create(t.Context(), newHandle(), liveRecord(e.Now(), "g1"), session.CreateOptions{GroupLimit: 1}))
			},
			want: []string{"pipeline[eval eval]", "pipeline[del zrem]"},
		},
		{
			name: "Patch",
			op: func(t *testing.T, e *env, old string) error {
				return e.store.Patch(t.Context(), old, &session.Patch{
					Set:      map[string][]byte{"n": []byte(`1`)},
					Del:      []string{"user"},
					LastSeen: e.Now(),
					ExpireAt: e.Now().Add(time.Hour),
				})
			},
			want: []string{"evalsha"},
		},
		{
			name: "Delete",
			op: func(t *testing.T, e *env, old string) error {
				return e.store.Delete(t.Context(), session.Ref{Handle: old, Group: "g1"})
			},
			want: []string{"pipeline[del eval]"},
		},
		{
			name: "ListGroup",
			op: func(t *testing.T, e *env, _ string) error {
				_, err := e.store.ListGroup(t.Context(), "g1")
				return err
			},
			want: []string{"zrange", "pipeline[hmget]"},
		},
		{
			name: "ListGroupThatPrunes",
			op: func(t *testing.T, e *env, old string) error {
				e.m.Del(e.store.sessionKey(old))
				_, err := e.store.ListGroup(t.Context(), "g1")
				return err
			},
			want: []string{"zrange", "pipeline[hmget]", "zrem"},
		},
		{
			name: "DeleteGroup",
			op: func(t *testing.T, e *env, _ string) error {
				_, err := e.store.DeleteGroup(t.Context(), "g1", "")
				return err
			},
			want: []string{"zrange", "pipeline[hget del zrem]"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			for _, s := range []*redis.Script{touchScript, patchScript} {
				if err := s.Load(t.Context(), e.client).Err(); err != nil {
					t.Fatalf("SCRIPT LOAD: %v", err)
				}
			}
			old := e.mustCreate(t, liveRecord(e.Now(), "g1"))
			e.rt.take()

			if err := tc.op(t, e, old); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got := e.rt.take(); !slices.Equal(got, tc.want) {
				t.Errorf("%s: %d round trips %q, want %d %q", tc.name, len(got), got, len(tc.want), tc.want)
			}
		})
	}
}

// TestRoundTripsColdScript shows the one extra round trip of a script's
// first run on a node (EVALSHA answers NOSCRIPT, go-redis sends EVAL), and
// that the next run is back to one.
func TestRoundTripsColdScript(t *testing.T) {
	e := newEnv(t)
	h := e.mustCreate(t, liveRecord(e.Now(), ""))
	patch := &session.Patch{Set: map[string][]byte{"n": []byte(`1`)}}

	e.rt.take()
	if err := e.store.Patch(t.Context(), h, patch); err != nil {
		t.Fatalf("first Patch: %v", err)
	}
	if got, want := e.rt.take(), []string{"evalsha", "eval"}; !slices.Equal(got, want) {
		t.Errorf("first Patch: round trips %q, want %q", got, want)
	}
	if err := e.store.Patch(t.Context(), h, patch); err != nil {
		t.Fatalf("second Patch: %v", err)
	}
	if got, want := e.rt.take(), []string{"evalsha"}; !slices.Equal(got, want) {
		t.Errorf("second Patch: round trips %q, want %q", got, want)
	}
}
