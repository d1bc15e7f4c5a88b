package redisstore

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

func TestListGroup(t *testing.T) {
	e := newEnv(t)
	now := e.Now()
	// Created 3, 1 and 2 minutes ago; the two "tie" ones share a Created
	// and come out by handle.
	var want []session.Member
	for _, ago := range []time.Duration{3, 1, 2, 2} {
		rec := liveRecord(now, "g1")
		rec.Created = now.Add(-ago * time.Minute)
		h := e.mustCreate(t, rec)
		want = append(want, session.Member{Handle: h, Created: rec.Created, Expires: rec.Expires, LastSeen: rec.LastSeen, UserAgent: rec.UserAgent})
	}
	slices.SortFunc(want, func(a, b session.Member) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Handle, b.Handle))
	})

	// Three members that must not be listed: one deleted behind the
	// index's back, one past ExpireAt by the store's clock (Redis still
	// holds it), and one corrupt.
	gone := e.mustCreate(t, liveRecord(now, "g1"))
	e.m.Del(e.store.sessionKey(gone))
	stale := e.mustCreate(t, liveRecord(now, "g1"))
	e.m.HSet(e.store.sessionKey(stale), "x", ms(now))
	corrupt := e.mustCreate(t, liveRecord(now, "g1"))
	e.m.HDel(e.store.sessionKey(corrupt), "c")
	// Someone else's group.
	e.mustCreate(t, liveRecord(now, "g2"))

	got, err := e.store.ListGroup(t.Context(), "g1")
	if err != nil {
		t.Fatalf("ListGroup: %v", err)
	}
	if !slices.EqualFunc(got, want, equalMembers) {
		t.Errorf("ListGroup =\n%+v\nwant\n%+v", got, want)
	}

	// The dead entries are pruned; the corrupt one stays for DeleteGroup.
	members, _ := e.m.ZMembers(e.store.groupKey("g1"))
	if slices.Contains(members, gone) || slices.Contains(members, stale) {
		t.Errorf("dead members not pruned: %q", members)
	}
	if !slices.Contains(members, corrupt) {
		t.Errorf("corrupt member pruned from %q; DeleteGroup could no longer reach it", members)
	}

	if got, err := e.store.ListGroup(t.Context(), "nobody"); err != nil || len(got) != 0 {
		t.Errorf("ListGroup of an empty group = %v, %v; want none", got, err)
	}
}

func equalMembers(a, b session.Member) bool {
	return a.Handle == b.Handle && a.Created.Equal(b.Created) && a.Expires.Equal(b.Expires) &&
		a.LastSeen.Equal(b.LastSeen) && a.UserAgent == b.UserAgent
}

func TestDeleteGroup(t *testing.T) {
	tests := []struct {
		name   string
		except bool // keep the first session
		want   int
	}{
		{"All", false, 3},
		{"ExceptCurrent", true, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var hs []string
			for range 3 {
				hs = append(hs, e.mustCreate(t, liveRecord(e.Now(), "g1")))
			}
			gone := e.mustCreate(t, liveRecord(e.Now(), "g1"))
			e.m.Del(e.store.sessionKey(gone)) // not counted
			other := e.mustCreate(t, liveRecord(e.Now(), "g2"))

			except := ""
			if tc.except {
				except = hs[0]
			}
			n, err := e.store.DeleteGroup(t.Context(), "g1", except)
			if err != nil {
				t.Fatalf("DeleteGroup: %v", err)
			}
			if n != tc.want {
				t.Errorf("DeleteGroup = %d, want %d", n, tc.want)
			}
			for _, h := range hs {
				if got, want := e.m.Exists(e.store.sessionKey(h)), h == except; got != want {
					t.Errorf("session %s exists = %v, want %v", session.ShortHandle(h), got, want)
				}
			}
			if !e.m.Exists(e.store.sessionKey(other)) {
				t.Error("DeleteGroup deleted a session of another group")
			}
			var wantMembers []string
			if except != "" {
				wantMembers = []string{except}
			}
			if members, _ := e.m.ZMembers(e.store.groupKey("g1")); !slices.Equal(members, wantMembers) {
				t.Errorf("group members after = %q, want %q", members, wantMembers)
			}

			if n, err := e.store.DeleteGroup(t.Context(), "g1", except); n != 0 || err != nil {
				t.Errorf("second DeleteGroup = %d, %v; want 0, nil", n, err)
			}
		})
	}
}
