package sessiontest

import (
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// changesReachPeers: a change made through one instance of a store is seen
// through another that read the record before, once it has settled. This
// is what a store that caches in each process must keep: a logout on one
// replica ends the session on every replica.
func (s suite) changesReachPeers(t *testing.T) {
	peer := func(t *testing.T, st session.Store) session.Store {
		if s.Peer == nil {
			return st
		}
		return s.Peer(t, st)
	}
	settle := func(t *testing.T, st session.Store) {
		if s.Settle != nil {
			s.Settle(t, st)
		}
	}
	// Each case makes a record through a, reads it through b (which may
	// keep it), changes it through a, and checks what b then reads.
	tests := map[string]func(t *testing.T, a, b session.Store){
		"a patch": func(t *testing.T, a, b session.Store) {
			h, rec := newHandle(), s.record(newGroup())
			mustCreate(t, a, h, rec)
			mustLoad(t, b, h, "the peer's first read")
			if err := a.Patch(t.Context(), h, &session.Patch{Set: map[string][]byte{"cart": []byte(`[9]`)}}); err != nil {
				t.Fatalf("Patch = %v", err)
			}
			settle(t, b)
			if got := mustLoad(t, b, h, "the peer after the patch"); string(got.Values["cart"]) != `[9]` {
				t.Errorf("the peer reads cart %s after the patch, want [9]: a stale record", got.Values["cart"])
			}
		},
		"a delete (logout)": func(t *testing.T, a, b session.Store) {
			h, g := newHandle(), newGroup()
			mustCreate(t, a, h, s.record(g))
			mustLoad(t, b, h, "the peer's first read")
			if err := a.Delete(t.Context(), session.Ref{Handle: h, Group: g}); err != nil {
				t.Fatalf("Delete = %v", err)
			}
			settle(t, b)
			wantNotFound(t, b, h, "the peer still serves a session logged out elsewhere")
		},
		"a group delete (log out everywhere)": func(t *testing.T, a, b session.Store) {
			g := newGroup()
			h1, h2 := newHandle(), newHandle()
			mustCreate(t, a, h1, s.record(g))
			mustCreate(t, a, h2, s.record(g))
			mustLoad(t, b, h1, "the peer's first read")
			mustLoad(t, b, h2, "the peer's first read")
			if _, err := a.DeleteGroup(t.Context(), g, ""); err != nil {
				t.Fatalf("DeleteGroup = %v", err)
			}
			settle(t, b)
			wantNotFound(t, b, h1, "the peer still serves a session its group logged out")
			wantNotFound(t, b, h2, "the peer still serves a session its group logged out")
		},
		"a login replacing the session": func(t *testing.T, a, b session.Store) {
			old, renewed, g := newHandle(), newHandle(), newGroup()
			mustCreate(t, a, old, s.record(g))
			mustLoad(t, b, old, "the peer's first read")
			_, err := a.Create(t.Context(), renewed, s.record(g), session.CreateOptions{Replaces: session.Ref{Handle: old, Group: g}})
			if err != nil {
				t.Fatalf("Create = %v", err)
			}
			settle(t, b)
			wantNotFound(t, b, old, "the peer still serves the id a login replaced (a fixation hole)")
		},
		"a login past the group limit": func(t *testing.T, a, b session.Store) {
			first, second, g := newHandle(), newHandle(), newGroup()
			mustCreate(t, a, first, s.record(g))
			mustLoad(t, b, first, "the peer's first read")
			evicted, err := a.Create(t.Context(), second, s.record(g), session.CreateOptions{GroupLimit: 1})
			if err != nil {
				t.Fatalf("Create = %v", err)
			}
			if len(evicted) != 1 || evicted[0] != first {
				t.Fatalf("Create past the limit evicted %q, want the first session", evicted)
			}
			settle(t, b)
			wantNotFound(t, b, first, "the peer still serves a session the group limit ended")
		},
		"an idle touch": func(t *testing.T, a, b session.Store) {
			h, rec := newHandle(), s.record(newGroup())
			mustCreate(t, a, h, rec)
			mustLoad(t, b, h, "the peer's first read")
			now := s.now()
			if _, err := a.Load(t.Context(), h, session.Touch{Now: now, Idle: time.Hour}); err != nil {
				t.Fatalf("Load with a due touch = %v", err)
			}
			settle(t, b)
			if got := mustLoad(t, b, h, "the peer after the touch"); !sameMilli(got.LastSeen, now) {
				t.Errorf("the peer reads LastSeen %s after a touch at %s", stamp(got.LastSeen), stamp(now))
			}
		},
	}
	for name, check := range tests {
		t.Run(name, func(t *testing.T) {
			a := s.New(t)
			check(t, a, peer(t, a))
		})
	}
}
