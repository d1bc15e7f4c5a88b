package redisstore

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/auth/session"
)

func TestCreateInvalid(t *testing.T) {
	e := newEnv(t)
	h := newHandle()
	tests := []struct {
		name     string
		handle   string
		rec      *session.Record
		replaces session.Ref
	}{
		{"NilRecord", h, nil, session.Ref{}},
		{"EmptyHandle", "", liveRecord(e.Now(), ""), session.Ref{}},
		{"ReplacesItself", h, liveRecord(e.Now(), ""), session.Ref{Handle: h}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.store.Create(t.Context(), tc.handle, tc.rec, session.CreateOptions{Replaces: tc.replaces}); err == nil {
				t.Fatal("Create: err = nil, want an error")
			}
			if keys := e.m.Keys(); len(keys) != 0 {
				t.Errorf("a refused Create wrote %q", keys)
			}
		})
	}
}

// TestCreateExists covers the path that only a bug can take: the insert
// finds the key taken. The existing record must stay as it is, and the
// index of the new record's group must not gain a handle that belongs to
// another session.
func TestCreateExists(t *testing.T) {
	tests := []struct {
		name          string
		existingGroup string
		newGroup      string
		// wantInNew says whether the handle is in newGroup's set after.
		wantInNew bool
	}{
		{"NoGroup", "", "", false},
		{"OtherGroup", "alice", "mallory", false},
		{"SameGroup", "alice", "alice", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			existing := liveRecord(e.Now(), tc.existingGroup)
			h := e.mustCreate(t, existing)

			_, err := e.store.Create(t.Context(), h, liveRecord(e.Now(), tc.newGroup), session.CreateOptions{})
			if !errors.Is(err, session.ErrExists) {
				t.Fatalf("Create of a taken handle: err = %v, want ErrExists", err)
			}
			got, err := e.store.Load(t.Context(), h, session.Touch{})
			if err != nil || !equalRecords(got, existing) {
				t.Errorf("existing record after the failed Create = %s, %v; want it unchanged", show(got), err)
			}
			if tc.newGroup == "" {
				return
			}
			members, _ := e.m.ZMembers(e.store.groupKey(tc.newGroup))
			if slices.Contains(members, h) != tc.wantInNew {
				t.Errorf("handle in %q's set = %v, want %v", tc.newGroup, !tc.wantInNew, tc.wantInNew)
			}
		})
	}
}

// TestCreateExpired: a record that is dead before it is stored is not
// stored (never "stored without TTL"), but the session it replaces is
// still deleted.
func TestCreateExpired(t *testing.T) {
	tests := []struct {
		name     string
		expireAt time.Duration // ExpireAt - now
	}{
		{"ExpireAtNow", 0},
		{"ExpireAtInThePast", -time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			old := e.mustCreate(t, liveRecord(e.Now(), "g1"))
			rec := liveRecord(e.Now(), "g1")
			rec.ExpireAt = e.Now().Add(tc.expireAt)

			if _, err := e.store.Create(t.Context(), newHandle(), rec, session.CreateOptions{Replaces: session.Ref{Handle: old, Group: "g1"}}); err != nil {
				t.Fatalf("Create: %v", err)
			}
			if keys := e.m.Keys(); len(keys) != 0 {
				t.Errorf("keys = %q, want none: neither the dead record nor the one it replaces", keys)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	tests := []struct {
		name  string
		group string
	}{
		{"WithGroup", "g1"},
		{"WithoutGroup", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			keep := e.mustCreate(t, liveRecord(e.Now(), tc.group))
			h := e.mustCreate(t, liveRecord(e.Now(), tc.group))

			for range 2 { // deleting twice is not an error
				if err := e.store.Delete(t.Context(), session.Ref{Handle: h, Group: tc.group}); err != nil {
					t.Fatalf("Delete: %v", err)
				}
			}
			if _, err := e.store.Load(t.Context(), h, session.Touch{}); !errors.Is(err, session.ErrNotFound) {
				t.Errorf("Load after Delete: err = %v, want ErrNotFound", err)
			}
			if _, err := e.store.Load(t.Context(), keep, session.Touch{}); err != nil {
				t.Errorf("Load of the other session: %v", err)
			}
			if tc.group != "" {
				members, _ := e.m.ZMembers(e.store.groupKey(tc.group))
				if !slices.Equal(members, []string{keep}) {
					t.Errorf("group members = %q, want [%s]", members, keep)
				}
			}
		})
	}
}

// TestCommandErrors: a command that fails inside a pipeline or a script
// (here WRONGTYPE, in production an ACL denial or OOM) fails the
// operation. @hexancore/auth's store reported such failures as success.
func TestCommandErrors(t *testing.T) {
	tests := []struct {
		name string
		op   func(t *testing.T, e *env, h string) error
	}{
		{"Load", func(t *testing.T, e *env, h string) error {
			_, err := e.store.Load(t.Context(), h, session.Touch{})
			return err
		}},
		{"LoadWithTouch", func(t *testing.T, e *env, h string) error {
			_, err := e.store.Load(t.Context(), h, session.Touch{Now: e.Now(), Idle: time.Hour})
			return err
		}},
		{"CreateInBrokenGroup", func(t *testing.T, e *env, _ string) error {
			return createErr(e.store.Create(t.Context(), newHandle(), liveRecord(e.Now(), "broken"), session.CreateOptions{}))
		}},
		{"CreateReplacingInBrokenGroup", func(t *testing.T, e *env, _ string) error {
			return createErr(e.store.Create(t.Context(), newHandle(), liveRecord(e.Now(), ""), session.CreateOptions{Replaces: session.Ref{Handle: newHandle(), Group: "broken"}}))
		}},
		{"Patch", func(t *testing.T, e *env, h string) error {
			return e.store.Patch(t.Context(), h, &session.Patch{Set: map[string][]byte{"a": []byte(`1`)}})
		}},
		{"Delete", func(t *testing.T, e *env, _ string) error {
			return e.store.Delete(t.Context(), session.Ref{Handle: newHandle(), Group: "broken"})
		}},
		{"ListGroup", func(t *testing.T, e *env, _ string) error {
			_, err := e.store.ListGroup(t.Context(), "broken")
			return err
		}},
		{"DeleteGroup", func(t *testing.T, e *env, _ string) error {
			_, err := e.store.DeleteGroup(t.Context(), "broken", "")
			return err
		}},
		{"DeleteGroupWithBrokenMember", func(t *testing.T, e *env, h string) error {
			// A member whose session is gone comes first (the lowest
			// score): its HGET answers redis.Nil, which must not hide the
			// WRONGTYPE behind it.
			if err := e.client.ZAdd(t.Context(), e.store.groupKey("g1"), redis.Z{Score: 1, Member: "-gone"}, redis.Z{Score: 2, Member: h}).Err(); err != nil {
				t.Fatal(err)
			}
			_, err := e.store.DeleteGroup(t.Context(), "g1", "")
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			h := newHandle()
			// A string where the store expects a hash or a set.
			if err := e.m.Set(e.store.sessionKey(h), "not a hash"); err != nil {
				t.Fatal(err)
			}
			if err := e.m.Set(e.store.groupKey("broken"), "not a set"); err != nil {
				t.Fatal(err)
			}
			err := tc.op(t, e, h)
			if err == nil {
				t.Fatal("err = nil, want the WRONGTYPE error")
			}
			if !strings.Contains(err.Error(), "WRONGTYPE") {
				t.Errorf("err = %v, want it to carry WRONGTYPE", err)
			}
			if strings.Contains(err.Error(), h) {
				t.Errorf("err = %v carries the whole handle", err)
			}
		})
	}
}
