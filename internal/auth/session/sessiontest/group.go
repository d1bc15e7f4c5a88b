package sessiontest

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// groupIndex: the index behind "my sessions" and "log out everywhere".
func (s suite) groupIndex(t *testing.T) {
	t.Run("lists live members oldest first", s.groupLists)
	t.Run("Delete removes the member", func(t *testing.T) {
		st := s.New(t)
		group, handles := s.groupOf(t, st, 2)
		if err := st.Delete(t.Context(), session.Ref{Handle: handles[0], Group: group}); err != nil {
			t.Fatalf("Delete = %v, want nil", err)
		}
		wantListed(t, st, group, handles[1:], "after Delete of the oldest member")
	})
	t.Run("expired member is not listed", func(t *testing.T) {
		st := s.New(t)
		group, handles := s.groupOf(t, st, 2)
		doomed := newHandle()
		rec := s.record(group)
		rec.ExpireAt = s.now().Add(shortTTL)
		mustCreate(t, st, doomed, rec)
		wantListed(t, st, group, []string{handles[0], handles[1], doomed}, "before the member expires")
		s.Advance(t, crossTTL)
		wantListed(t, st, group, handles, "after a member's ExpireAt")
	})
	t.Run("DeleteGroup except one", func(t *testing.T) {
		st := s.New(t)
		group, handles := s.groupOf(t, st, 3)
		other, others := s.groupOf(t, st, 1)
		n, err := st.DeleteGroup(t.Context(), group, handles[1])
		if err != nil {
			t.Fatalf("DeleteGroup = %v, want nil", err)
		}
		if n != 2 {
			t.Errorf("DeleteGroup of 3 members except one deleted %d, it says; want 2", n)
		}
		wantNotFound(t, st, handles[0], "DeleteGroup must delete every member but the excepted one")
		wantNotFound(t, st, handles[2], "DeleteGroup must delete every member but the excepted one")
		mustLoad(t, st, handles[1], "DeleteGroup deleted the member it was told to keep")
		wantListed(t, st, group, handles[1:2], "after DeleteGroup except one")
		mustLoad(t, st, others[0], "DeleteGroup deleted a member of another group")
		wantListed(t, st, other, others, "another group after DeleteGroup")
	})
	t.Run("DeleteGroup all", func(t *testing.T) {
		st := s.New(t)
		group, handles := s.groupOf(t, st, 2)
		n, err := st.DeleteGroup(t.Context(), group, "")
		if err != nil {
			t.Fatalf("DeleteGroup = %v, want nil", err)
		}
		if n != 2 {
			t.Errorf("DeleteGroup of 2 members deleted %d, it says; want 2", n)
		}
		for _, h := range handles {
			wantNotFound(t, st, h, "DeleteGroup with no exception must delete every member")
		}
		wantListed(t, st, group, nil, "after DeleteGroup")
	})
	t.Run("DeleteGroup counts live records only", func(t *testing.T) {
		st := s.New(t)
		group, _ := s.groupOf(t, st, 1)
		rec := s.record(group)
		rec.ExpireAt = s.now().Add(shortTTL)
		mustCreate(t, st, newHandle(), rec)
		s.Advance(t, crossTTL)
		n, err := st.DeleteGroup(t.Context(), group, "")
		if err != nil {
			t.Fatalf("DeleteGroup = %v, want nil", err)
		}
		if n != 1 {
			t.Errorf("DeleteGroup of 1 live and 1 expired member deleted %d, it says; want 1", n)
		}
	})
	t.Run("unknown group is empty", func(t *testing.T) {
		st := s.New(t)
		wantListed(t, st, newGroup(), nil, "a group never used")
		n, err := st.DeleteGroup(t.Context(), newGroup(), "")
		if err != nil || n != 0 {
			t.Errorf("DeleteGroup of a group never used = %d, %v; want 0, nil", n, err)
		}
	})
	t.Run("no group, no index", func(t *testing.T) {
		st := s.New(t)
		mustCreate(t, st, newHandle(), s.record(""))
		wantListed(t, st, "", nil, `Create with Group "" must add to no index`)
	})
}

// groupLists: ListGroup returns exactly the group's members, oldest first,
// with what "my sessions" shows of each.
func (s suite) groupLists(t *testing.T) {
	st := s.New(t)
	group, handles := s.groupOf(t, st, 2)
	other, others := s.groupOf(t, st, 1)
	members, err := st.ListGroup(t.Context(), group)
	if err != nil {
		t.Fatalf("ListGroup = %v, want the members", err)
	}
	if len(members) != len(handles) {
		t.Fatalf("ListGroup lists %d members, want %d", len(members), len(handles))
	}
	for i, m := range members {
		want := mustLoad(t, st, handles[i], "a member")
		switch {
		case m.Handle != handles[i]:
			t.Errorf("member %d is %s, want %s (oldest Created first)", i, session.ShortHandle(m.Handle), session.ShortHandle(handles[i]))
		case !sameMilli(m.Created, want.Created) || !sameMilli(m.Expires, want.Expires) || !sameMilli(m.LastSeen, want.LastSeen):
			t.Errorf("member %s has Created %s, Expires %s, LastSeen %s; want %s, %s, %s", session.ShortHandle(m.Handle),
				stamp(m.Created), stamp(m.Expires), stamp(m.LastSeen),
				stamp(want.Created), stamp(want.Expires), stamp(want.LastSeen))
		case m.UserAgent != want.UserAgent:
			t.Errorf("member %s has UserAgent %q, want %q", session.ShortHandle(m.Handle), m.UserAgent, want.UserAgent)
		}
	}
	wantListed(t, st, other, others, "another group")
}

// groupOf creates n live records in a new group of st and returns the
// group and their handles, oldest Created first. It stores them newest
// first, so that a store listing them in insertion order fails.
func (s suite) groupOf(t *testing.T, st session.Store, n int) (string, []string) {
	t.Helper()
	group := newGroup()
	handles := make([]string, n)
	for i := range handles {
		handles[i] = newHandle()
	}
	for i, handle := range slices.Backward(handles) {
		rec := s.record(group)
		age := time.Duration(n-i) * time.Minute
		rec.Created, rec.LastSeen = rec.Created.Add(-age), rec.LastSeen.Add(-age/2)
		rec.Expires = rec.Expires.Add(time.Duration(i) * time.Second)
		rec.UserAgent += " #" + strconv.Itoa(i)
		mustCreate(t, st, handle, rec)
	}
	return group, handles
}

// groupLimit: a Create with a GroupLimit ends the group's members with the
// earliest deadlines, never the new one, until the group is within the
// limit. This is the cap on sessions per user: without it, a user who logs
// in from a script fills the store and their "my sessions" page.
func (s suite) groupLimit(t *testing.T) {
	// inGroup creates members of a new group whose deadlines lie the given
	// hours ahead, and returns the group and their handles.
	inGroup := func(t *testing.T, st session.Store, hours ...int) (string, []string) {
		t.Helper()
		group, now := newGroup(), s.now()
		handles := make([]string, len(hours))
		for i, h := range hours {
			handles[i] = newHandle()
			rec := s.record(group)
			rec.Expires, rec.ExpireAt = now.Add(time.Duration(h)*time.Hour), now.Add(time.Duration(h)*time.Hour)
			mustCreate(t, st, handles[i], rec)
		}
		return group, handles
	}
	// add creates one more member of group, its deadline hours ahead.
	add := func(t *testing.T, st session.Store, group string, hours, limit int, replaces string) (string, []string) {
		t.Helper()
		handle, rec := newHandle(), s.record(group)
		rec.Expires = s.now().Add(time.Duration(hours) * time.Hour)
		rec.ExpireAt = rec.Expires
		opts := session.CreateOptions{GroupLimit: limit}
		if replaces != "" {
			opts.Replaces = session.Ref{Handle: replaces, Group: group}
		}
		evicted, err := st.Create(t.Context(), handle, rec, opts)
		if err != nil {
			t.Fatalf("Create with GroupLimit %d = %v, want nil", limit, err)
		}
		return handle, evicted
	}

	t.Run("ends the earliest deadlines", func(t *testing.T) {
		st := s.New(t)
		// Stored out of deadline order, so that insertion order is no help.
		group, h := inGroup(t, st, 2, 3, 1)
		other, others := inGroup(t, st, 1)
		newest, evicted := add(t, st, group, 6, 2, "")
		wantSameHandles(t, evicted, []string{h[2], h[0]}, "Create at a limit of 2 over 3 members returned as evicted")
		wantNotFound(t, st, h[2], "the member with the earliest deadline must end at the limit")
		wantNotFound(t, st, h[0], "the member with the second earliest deadline must end at the limit")
		mustLoad(t, st, h[1], "the member with the latest deadline must stay")
		mustLoad(t, st, newest, "the new member must stay")
		wantSameHandles(t, listed(t, st, group), []string{h[1], newest}, "ListGroup after the limit")
		wantSameHandles(t, listed(t, st, other), others, "another group after the limit")
	})
	t.Run("never the new member", func(t *testing.T) {
		// A renewed session keeps its old deadline, which may be the
		// earliest of its group.
		st := s.New(t)
		group, h := inGroup(t, st, 3)
		renewed, evicted := add(t, st, group, 1, 1, "")
		wantSameHandles(t, evicted, h, "Create at a limit of 1 returned as evicted")
		mustLoad(t, st, renewed, "the new member has the earliest deadline, but must never be the one to end")
	})
	t.Run("a member past its deadline does not count", func(t *testing.T) {
		// (One that died of idleness before its Expires may count: see
		// session.Store.Create.)
		st := s.New(t)
		group, h := inGroup(t, st, 2)
		doomed := newHandle()
		rec := s.record(group)
		rec.Expires, rec.ExpireAt = s.now().Add(shortTTL), s.now().Add(shortTTL)
		mustCreate(t, st, doomed, rec)
		s.Advance(t, crossTTL)
		newest, evicted := add(t, st, group, 3, 2, "")
		wantSameHandles(t, evicted, nil, "Create at a limit of 2 over 1 live and 1 expired member returned as evicted")
		wantSameHandles(t, listed(t, st, group), []string{h[0], newest}, "ListGroup (an expired member must not cost a live one its place)")
	})
	t.Run("the replaced member does not count", func(t *testing.T) {
		st := s.New(t)
		group, h := inGroup(t, st, 1, 2)
		renewed, evicted := add(t, st, group, 4, 2, h[1])
		wantSameHandles(t, evicted, nil, "Create at a limit of 2, replacing one of the 2 members, returned as evicted")
		wantNotFound(t, st, h[1], "the replaced member")
		wantSameHandles(t, listed(t, st, group), []string{h[0], renewed}, "ListGroup after a renew at the limit")
	})
	t.Run("no limit", func(t *testing.T) {
		st := s.New(t)
		group, h := inGroup(t, st, 1, 2, 3)
		newest, evicted := add(t, st, group, 4, 0, "")
		wantSameHandles(t, evicted, nil, "Create with GroupLimit 0 returned as evicted")
		wantSameHandles(t, listed(t, st, group), append(h, newest), "ListGroup after a Create with no limit")
	})
}

// wantSameHandles checks that got holds the handles of want, in any order.
func wantSameHandles(t *testing.T, got, want []string, what string) {
	t.Helper()
	g, w := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(g, w) {
		t.Errorf("%s: %s, want %s", what, shorts(g), shorts(w))
	}
}
