package sessiontest

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// concurrentPatches (race 1): requests that change different fields of one
// session at the same time all persist. A store that writes the whole
// record from the copy each request loaded loses all but the last.
func (s suite) concurrentPatches(t *testing.T) {
	t.Run("distinct fields", func(t *testing.T) {
		const writers = 16
		st := s.New(t)
		handle := newHandle()
		rec := s.record(newGroup())
		want := cloneRecord(rec)
		mustCreate(t, st, handle, rec)
		var wg sync.WaitGroup
		for i := range writers {
			name, value := fmt.Sprintf("field%02d", i), []byte(strconv.Itoa(i))
			want.Values[name] = value
			wg.Go(func() {
				p := &session.Patch{Set: map[string][]byte{name: value}}
				if err := st.Patch(t.Context(), handle, p); err != nil {
					t.Errorf("Patch of %s = %v, want nil", name, err)
				}
			})
		}
		wg.Wait()
		wantRecord(t, mustLoad(t, st, handle, "after concurrent Patches"), want,
			"16 concurrent Patches of distinct fields (a missing field is a lost update)")
	})
	t.Run("own counters", func(t *testing.T) {
		const rounds = 100
		st := s.New(t)
		handle := newHandle()
		rec := s.record(newGroup())
		want := cloneRecord(rec)
		mustCreate(t, st, handle, rec)
		var wg sync.WaitGroup
		for _, name := range []string{"left", "right"} {
			want.Values[name] = []byte(strconv.Itoa(rounds))
			wg.Go(func() { s.count(t, st, handle, name, rounds) })
		}
		wg.Wait()
		wantRecord(t, mustLoad(t, st, handle, "after the counters"), want,
			"two writers each counting in their own field (a wrong count is a lost update)")
	})
	t.Run("touches between patches", func(t *testing.T) {
		// A touch that rewrites the record it read puts back values that a
		// Patch replaced meanwhile.
		const rounds = 100
		st := s.New(t)
		handle := newHandle()
		rec := s.record(newGroup())
		want := cloneRecord(rec)
		want.Values["counter"] = []byte(strconv.Itoa(rounds))
		mustCreate(t, st, handle, rec)
		var wg sync.WaitGroup
		wg.Go(func() { s.count(t, st, handle, "counter", rounds) })
		wg.Go(func() {
			for range rounds {
				touch := session.Touch{Now: s.now(), Idle: time.Hour}
				if _, err := st.Load(t.Context(), handle, touch); err != nil {
					t.Errorf("Load with a due touch = %v, want the record", err)
					return
				}
			}
		})
		wg.Wait()
		got := mustLoad(t, st, handle, "after touches and patches")
		want.LastSeen, want.ExpireAt = got.LastSeen, got.ExpireAt // moved by the touches
		wantRecord(t, got, want, "a writer counting while another request touches (a wrong count is a touch that rewrote the values)")
	})
}

// count patches field to 1, 2, ..., rounds, one Patch each.
func (s suite) count(t *testing.T, st session.Store, handle, field string, rounds int) {
	for i := 1; i <= rounds; i++ {
		p := &session.Patch{Set: map[string][]byte{field: []byte(strconv.Itoa(i))}}
		if err := st.Patch(t.Context(), handle, p); err != nil {
			t.Errorf("Patch %d of %s = %v, want nil", i, field, err)
			return
		}
	}
}

// patchAfterLogout (race 2): a request that loaded the session before
// logout deleted it commits afterwards. Its Patch must fail and the
// session must stay gone; scs writes it back.
func (s suite) patchAfterLogout(t *testing.T) {
	st := s.New(t)
	handle, group := newHandle(), newGroup()
	mustCreate(t, st, handle, s.record(group))
	inflight := mustLoad(t, st, handle, "the in-flight request's Load")
	if err := st.Delete(t.Context(), session.Ref{Handle: handle, Group: group}); err != nil {
		t.Fatalf("Delete (logout) = %v, want nil", err)
	}
	p := &session.Patch{Set: map[string][]byte{"cart": []byte(`[7]`)}, LastSeen: s.now(), ExpireAt: inflight.ExpireAt}
	wantErrIs(t, st.Patch(t.Context(), handle, p), session.ErrNotFound, "Patch from a request in flight during logout")
	wantNotFound(t, st, handle, "Patch after Delete (logout) resurrected the record")
	wantListed(t, st, group, nil, "Patch after Delete (logout) put the record back in its group")

	touch := session.Touch{Now: s.now(), Idle: time.Hour}
	_, err := st.Load(t.Context(), handle, touch)
	wantErrIs(t, err, session.ErrNotFound, "Load with a due touch after logout")
	wantNotFound(t, st, handle, "a touch after Delete (logout) resurrected the record")
}

// patchAfterLogin (race 3): a request that loaded the session before login
// moved it to a new handle commits afterwards. Its Patch must fail and the
// old handle must stay gone: a live old handle is a fixation hole.
func (s suite) patchAfterLogin(t *testing.T) {
	tests := map[string]struct{ from, to string }{
		"anonymous session into a group": {from: "", to: newGroup()},
		"within a group":                 {from: "same", to: "same"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			from, to := tc.from, tc.to
			if from == "same" {
				from = newGroup()
				to = from
			}
			st := s.New(t)
			old, renewed := newHandle(), newHandle()
			mustCreate(t, st, old, s.record(from))
			inflight := mustLoad(t, st, old, "the in-flight request's Load")

			rec := s.otherRecord()
			rec.Group = to
			want := cloneRecord(rec)
			if _, err := st.Create(t.Context(), renewed, rec, session.CreateOptions{Replaces: session.Ref{Handle: old, Group: from}}); err != nil {
				t.Fatalf("Create replacing the old handle (login) = %v, want nil", err)
			}
			p := &session.Patch{Set: map[string][]byte{"cart": []byte(`[7]`)}, LastSeen: s.now(), ExpireAt: inflight.ExpireAt}
			wantErrIs(t, st.Patch(t.Context(), old, p), session.ErrNotFound, "Patch of the old handle from a request in flight during login")
			wantNotFound(t, st, old, "the old handle after login (Create with replaces must delete it, and a late Patch must not bring it back)")
			wantRecord(t, mustLoad(t, st, renewed, "the new handle after login"), want, "the new record after login")
			wantListed(t, st, to, []string{renewed}, "the group after login")
		})
	}
}

// concurrentMix runs every method from several goroutines on a few shared
// handles, for the race detector and for answers outside the contract:
// the only errors allowed are ErrNotFound and ErrExists, and a loaded
// record is always the one stored under its handle.
func (s suite) concurrentMix(t *testing.T) {
	const workers, rounds = 8, 60
	st := s.New(t)
	groups := []string{newGroup(), newGroup()}
	handles := make([]string, 6)
	for i := range handles {
		handles[i] = newHandle()
	}
	groupOf := func(i int) string { return groups[i%len(groups)] }
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				i := (w + r) % len(handles)
				if !s.mixedOp(t, st, (w*3+r)%7, handles[i], groupOf(i)) {
					return
				}
			}
		})
	}
	wg.Wait()
	for _, group := range groups {
		for _, handle := range listed(t, st, group) {
			if rec, err := st.Load(t.Context(), handle, session.Touch{}); err == nil && rec.Group != group {
				t.Errorf("ListGroup(%q) lists %s, whose record is in group %q", group, session.ShortHandle(handle), rec.Group)
			}
		}
	}
}

// mixedOp runs operation op of concurrentMix on handle. It reports an
// answer outside the contract and returns false, true otherwise.
func (s suite) mixedOp(t *testing.T, st session.Store, op int, handle, group string) bool {
	ctx := t.Context()
	var (
		call    string
		err     error
		allowed = []error{nil}
	)
	switch op {
	case 0:
		call = "Create"
		rec := s.record(group)
		rec.Values["owner"] = []byte(strconv.Quote(handle))
		_, err = st.Create(ctx, handle, rec, session.CreateOptions{})
		allowed = append(allowed, session.ErrExists)
	case 1, 2:
		call = "Load"
		touch := session.Touch{Now: s.now(), Idle: time.Hour, Every: time.Duration(op-1) * time.Second}
		var rec *session.Record
		rec, err = st.Load(ctx, handle, touch)
		if err == nil && string(rec.Values["owner"]) != strconv.Quote(handle) {
			t.Errorf("Load(%s) returned the record of %s", session.ShortHandle(handle), rec.Values["owner"])
			return false
		}
		allowed = append(allowed, session.ErrNotFound)
	case 3:
		call = "Patch"
		err = st.Patch(ctx, handle, &session.Patch{Set: map[string][]byte{"cart": []byte(`[1]`)}, Del: []string{"theme"}, LastSeen: s.now()})
		allowed = append(allowed, session.ErrNotFound)
	case 4:
		call = "Delete"
		err = st.Delete(ctx, session.Ref{Handle: handle, Group: group})
	case 5:
		call = "DeleteGroup"
		_, err = st.DeleteGroup(ctx, group, handle)
	default:
		call = "ListGroup"
		_, err = st.ListGroup(ctx, group)
	}
	for _, want := range allowed {
		if errors.Is(err, want) {
			return true
		}
	}
	t.Errorf("%s(%s) among concurrent calls = %v, want one of %v", call, session.ShortHandle(handle), err, allowed)
	return false
}
