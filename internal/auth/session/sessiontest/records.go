package sessiontest

import (
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// roundTrip: Load returns what Create stored, field for field and byte for
// byte, and the store shares no memory with its callers.
func (s suite) roundTrip(t *testing.T) {
	rich := s.record(newGroup())
	rich.Values = richValues()
	bare := s.record("")
	bare.UserAgent = ""
	bare.Values = nil
	bare.AuthTime, bare.Persistence = time.Time{}, session.PersistDefault
	metaLike := s.record(newGroup())
	metaLike.Values = make(map[string][]byte, len(metaLikeNames))
	for _, name := range metaLikeNames {
		metaLike.Values[name] = []byte(`"an app value"`)
	}
	tests := map[string]*session.Record{
		"every kind of value":                        rich,
		"no group, user agent, values or login time": bare,
		"value names that look like metadata":        metaLike,
	}
	for name, rec := range tests {
		t.Run(name, func(t *testing.T) {
			st := s.New(t)
			handle := newHandle()
			want := cloneRecord(rec)
			mustCreate(t, st, handle, rec)
			wantRecord(t, mustLoad(t, st, handle, "a record just created"), want, "Load after Create")
		})
	}
	t.Run("no shared memory", s.noSharedMemory)
}

// noSharedMemory: the Manager keeps and changes the maps it passes to
// Create and Patch and gets from Load, so a store must copy them (a memory
// store that kept them would change under the Manager's feet).
func (s suite) noSharedMemory(t *testing.T) {
	st := s.New(t)
	handle := newHandle()
	rec := s.record(newGroup())
	want := cloneRecord(rec)
	mustCreate(t, st, handle, rec)
	rec.Values["theme"][0] = 'X'
	rec.Values["added"] = []byte(`1`)
	rec.UserAgent = "changed"
	wantRecord(t, mustLoad(t, st, handle, "after Create"), want,
		"the caller changed the record it passed to Create, and the stored one changed too")

	loaded := mustLoad(t, st, handle, "after Create")
	loaded.Values["theme"][0] = 'X'
	loaded.Values["added"] = []byte(`1`)
	wantRecord(t, mustLoad(t, st, handle, "after Create"), want,
		"the caller changed the record Load returned, and the stored one changed too")

	set := map[string][]byte{"theme": []byte(`"light"`)}
	if err := st.Patch(t.Context(), handle, &session.Patch{Set: set}); err != nil {
		t.Fatalf("Patch of a live record = %v, want nil", err)
	}
	set["theme"][1] = 'X'
	set["added"] = []byte(`1`)
	want.Values["theme"] = []byte(`"light"`)
	wantRecord(t, mustLoad(t, st, handle, "after Patch"), want,
		"the caller changed the Set map it passed to Patch, and the stored record changed too")
}

// unknownHandle: a handle that was never stored is ErrNotFound, not a zero
// record or another error.
func (s suite) unknownHandle(t *testing.T) {
	st := s.New(t)
	rec, err := st.Load(t.Context(), newHandle(), session.Touch{})
	wantErrIs(t, err, session.ErrNotFound, "Load of a handle never stored")
	if rec != nil {
		t.Errorf("Load of a handle never stored returned a record %+v with its error", rec)
	}
}

// insertOnly: Create never overwrites a live record. This is what stops a
// login from landing on a session that exists, and a retried Create from
// clobbering newer data.
func (s suite) insertOnly(t *testing.T) {
	t.Run("over a live record", func(t *testing.T) {
		st := s.New(t)
		handle := newHandle()
		old := s.record(newGroup())
		want := cloneRecord(old)
		mustCreate(t, st, handle, old)
		_, err := st.Create(t.Context(), handle, s.otherRecord(), session.CreateOptions{})
		wantErrIs(t, err, session.ErrExists, "Create over a live record")
		wantRecord(t, mustLoad(t, st, handle, "the existing record"), want, "a refused Create changed the existing record")
	})
	t.Run("over a live record, replacing another", func(t *testing.T) {
		// Whether the replaced record survives a refused Create is left
		// open by the contract (a pipelined store deletes it anyway); the
		// existing record must survive, whatever a store does to move one.
		st := s.New(t)
		group := newGroup()
		existing, replaced := newHandle(), newHandle()
		old := s.record(group)
		want := cloneRecord(old)
		mustCreate(t, st, existing, old)
		mustCreate(t, st, replaced, s.record(group))
		_, err := st.Create(t.Context(), existing, s.otherRecord(), session.CreateOptions{Replaces: session.Ref{Handle: replaced, Group: group}})
		wantErrIs(t, err, session.ErrExists, "Create over a live record, replacing another")
		wantRecord(t, mustLoad(t, st, existing, "the existing record"), want, "a refused Create changed the existing record")
	})
	t.Run("over an expired record", func(t *testing.T) {
		st := s.New(t)
		handle := newHandle()
		old := s.record(newGroup())
		old.ExpireAt = s.now().Add(shortTTL)
		mustCreate(t, st, handle, old)
		s.Advance(t, crossTTL)
		fresh := s.otherRecord()
		want := cloneRecord(fresh)
		if _, err := st.Create(t.Context(), handle, fresh, session.CreateOptions{}); err != nil {
			t.Fatalf("Create over a record past its ExpireAt = %v, want nil: a dead record must not hold its handle", err)
		}
		wantRecord(t, mustLoad(t, st, handle, "the new record"), want, "Create over an expired record")
	})
}

// otherRecord is a live record that differs from record in every field,
// so a test can tell which of the two a store kept.
func (s suite) otherRecord() *session.Record {
	now := s.now()
	return &session.Record{
		Created:     now,
		Expires:     now.Add(2 * time.Hour),
		LastSeen:    now,
		ExpireAt:    now.Add(time.Hour),
		Persistence: session.PersistBrowserSession,
		Group:       newGroup(),
		UserAgent:   "curl/8.5.0",
		Values:      map[string][]byte{"intruder": []byte(`true`)},
	}
}

// updateOnly: Patch never creates a record. This is what stops a request
// in flight from writing back a session that logout deleted, login moved
// or its deadline ended.
func (s suite) updateOnly(t *testing.T) {
	tests := map[string]func(t *testing.T, st session.Store) string{
		"never stored": func(*testing.T, session.Store) string { return newHandle() },
		"deleted": func(t *testing.T, st session.Store) string {
			handle, group := newHandle(), newGroup()
			mustCreate(t, st, handle, s.record(group))
			if err := st.Delete(t.Context(), session.Ref{Handle: handle, Group: group}); err != nil {
				t.Fatalf("Delete of a live record = %v, want nil", err)
			}
			return handle
		},
		"expired": func(t *testing.T, st session.Store) string {
			handle := newHandle()
			rec := s.record(newGroup())
			rec.ExpireAt = s.now().Add(shortTTL)
			mustCreate(t, st, handle, rec)
			s.Advance(t, crossTTL)
			return handle
		},
	}
	for name, setup := range tests {
		t.Run(name, func(t *testing.T) {
			st := s.New(t)
			handle := setup(t, st)
			now := s.now()
			// The empty Patch goes first: if it creates a record, the full
			// one cannot be blamed for it.
			patches := []struct {
				desc  string
				patch *session.Patch
			}{
				{"an empty Patch", &session.Patch{}},
				{"a full Patch", &session.Patch{
					Set:      map[string][]byte{"cart": []byte(`[1,2]`)},
					Del:      []string{"theme"},
					LastSeen: now,
					ExpireAt: now.Add(time.Hour),
				}},
			}
			for _, p := range patches {
				err := st.Patch(t.Context(), handle, p.patch)
				wantErrIs(t, err, session.ErrNotFound, p.desc+" of a record "+name)
				wantNotFound(t, st, handle, p.desc+" of a record "+name+" created one; Patch must be update-only")
			}
		})
	}
}

// patchMerge: Patch changes the fields it names and nothing else.
func (s suite) patchMerge(t *testing.T) {
	now := s.now()
	base := s.record(newGroup())
	base.Values = map[string][]byte{"alpha": []byte(`1`), "beta": []byte(`"two"`), "gamma": []byte(`{"n":3}`)}
	metaLike := make(map[string][]byte, len(metaLikeNames))
	for _, name := range metaLikeNames {
		metaLike[name] = []byte(`"an app value"`)
	}
	tests := map[string]struct {
		patch *session.Patch
		want  func(r *session.Record) // turns a copy of base into the result
	}{
		"set, delete and keep values": {
			patch: &session.Patch{
				Set: map[string][]byte{"alpha": []byte(`10`), "delta": []byte(`"four"`)},
				Del: []string{"beta", "never-there"},
			},
			want: func(r *session.Record) {
				r.Values["alpha"] = []byte(`10`)
				r.Values["delta"] = []byte(`"four"`)
				delete(r.Values, "beta")
			},
		},
		"times only": {
			patch: &session.Patch{LastSeen: now, ExpireAt: now.Add(45 * time.Minute)},
			want: func(r *session.Record) {
				r.LastSeen = now
				r.ExpireAt = now.Add(45 * time.Minute)
			},
		},
		"delete every value": {
			patch: &session.Patch{Del: []string{"alpha", "beta", "gamma"}},
			want:  func(r *session.Record) { clear(r.Values) },
		},
		"empty patch": {
			patch: &session.Patch{},
			want:  func(*session.Record) {},
		},
		"set value names that look like metadata": {
			patch: &session.Patch{Set: metaLike},
			want: func(r *session.Record) {
				for name, v := range metaLike {
					r.Values[name] = v
				}
			},
		},
		"delete value names that look like metadata": {
			patch: &session.Patch{Del: metaLikeNames},
			want:  func(*session.Record) {},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := s.New(t)
			handle := newHandle()
			mustCreate(t, st, handle, cloneRecord(base))
			want := cloneRecord(base)
			tc.want(want)
			if err := st.Patch(t.Context(), handle, tc.patch); err != nil {
				t.Fatalf("Patch of a live record = %v, want nil", err)
			}
			wantRecord(t, mustLoad(t, st, handle, "a patched record"), want, "after Patch")
		})
	}
}
