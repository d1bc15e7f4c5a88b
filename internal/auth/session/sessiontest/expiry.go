package sessiontest

import (
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// expiry: a record is live before its ExpireAt and dead at it. Checking
// both sides catches an inverted check (@hexancore/auth's memory store deleted
// valid sessions and returned expired ones) as well as a missing one.
func (s suite) expiry(t *testing.T) {
	st := s.New(t)
	handle := newHandle()
	rec := s.record(newGroup())
	rec.ExpireAt = s.now().Add(shortTTL)
	mustCreate(t, st, handle, rec)
	mustLoad(t, st, handle, "a record whose ExpireAt is 200ms ahead")
	s.Advance(t, shortTTL-settle)
	mustLoad(t, st, handle, "a record whose ExpireAt is 50ms ahead")
	s.Advance(t, settle)
	wantNotFound(t, st, handle, "a record whose ExpireAt has come is dead, but the store still returns it")
}

// pastExpiryDeletes: an ExpireAt at or before the store's clock means
// "delete", on Create and on Patch. scs's goredisstore turns it into a key
// with no TTL, a session that never expires; a zero ExpireAt is the easiest
// way to get there.
func (s suite) pastExpiryDeletes(t *testing.T) {
	now := s.now()
	creates := map[string]time.Time{
		"a second ago": now.Add(-time.Second),
		"now":          s.Now(),
		"zero":         {},
	}
	for name, at := range creates {
		t.Run("Create with ExpireAt "+name, func(t *testing.T) {
			st := s.New(t)
			handle, group := newHandle(), newGroup()
			rec := s.record(group)
			rec.ExpireAt = at
			if _, err := st.Create(t.Context(), handle, rec, session.CreateOptions{}); err != nil {
				t.Errorf("Create with ExpireAt %s = %v, want nil: a past expiry means delete, which is no error", name, err)
			}
			why := "Create with ExpireAt " + name + " must store nothing, but the record is there"
			wantNotFound(t, st, handle, why)
			wantListed(t, st, group, nil, why)
			s.Advance(t, settle)
			wantNotFound(t, st, handle, why+" after a while")
		})
	}
	patches := map[string]time.Time{
		"a second ago": now.Add(-time.Second),
		"now":          s.Now(),
	}
	for name, at := range patches {
		t.Run("Patch with ExpireAt "+name, func(t *testing.T) {
			st := s.New(t)
			handle, group := newHandle(), newGroup()
			mustCreate(t, st, handle, s.record(group))
			p := &session.Patch{Set: map[string][]byte{"cart": []byte(`[1]`)}, LastSeen: s.now(), ExpireAt: at}
			if err := st.Patch(t.Context(), handle, p); err != nil {
				t.Fatalf("Patch with ExpireAt %s of a live record = %v, want nil", name, err)
			}
			why := "Patch with ExpireAt " + name + " must delete the record, but it is there"
			wantNotFound(t, st, handle, why)
			wantListed(t, st, group, nil, why)
			s.Advance(t, settle)
			wantNotFound(t, st, handle, why+" after a while")
		})
	}
}
