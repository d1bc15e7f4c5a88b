package redisstore

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// TestIndexStaysSmall is the hourly-login case: 48 logins an hour apart,
// each living 6 hours, and nobody ever lists the group. The index must hold
// the live sessions only (the old store's set grew to 48, and its listing
// pipelined 48 HMGETs).
func TestIndexStaysSmall(t *testing.T) {
	e := newEnv(t)
	gkey := e.store.groupKey("hourly")
	var live []string
	for range 48 {
		rec := liveRecord(e.Now(), "hourly")
		rec.Expires, rec.ExpireAt = e.Now().Add(6*time.Hour), e.Now().Add(6*time.Hour)
		live = append(live, e.mustCreate(t, rec))
		if len(live) > 6 {
			live = live[1:] // the one from 6 hours ago died at this very moment
		}
		members, err := e.m.ZMembers(gkey)
		if err != nil {
			t.Fatalf("ZRANGE %s: %v", gkey, err)
		}
		if !slices.Equal(sorted(members), sorted(live)) {
			t.Fatalf("index holds %d members %q, want the %d live ones %q", len(members), members, len(live), live)
		}
		e.Advance(time.Hour)
	}
}

// TestEvictionDeletesRecordsAndEntries: past the limit, the evicted
// sessions are gone from Redis, records and index entries, not only from
// the listing.
func TestEvictionDeletesRecordsAndEntries(t *testing.T) {
	e := newEnv(t)
	var hs []string
	for i := range 4 {
		rec := liveRecord(e.Now(), "capped")
		rec.Expires = e.Now().Add(time.Duration(i+1) * time.Hour)
		hs = append(hs, e.mustCreate(t, rec))
	}
	rec := liveRecord(e.Now(), "capped")
	rec.Expires = e.Now().Add(5 * time.Hour)
	h := newHandle()
	evicted, err := e.store.Create(t.Context(), h, rec, session.CreateOptions{GroupLimit: 3})
	if err != nil {
		t.Fatalf("Create past the limit: %v", err)
	}
	if want := hs[:2]; !slices.Equal(sorted(evicted), sorted(want)) {
		t.Errorf("evicted %q, want the two earliest deadlines %q", evicted, want)
	}
	for _, gone := range hs[:2] {
		if e.m.Exists(e.store.sessionKey(gone)) {
			t.Errorf("evicted session %s still has its hash", session.ShortHandle(gone))
		}
	}
	members, _ := e.m.ZMembers(e.store.groupKey("capped"))
	if want := []string{hs[2], hs[3], h}; !slices.Equal(sorted(members), sorted(want)) {
		t.Errorf("index after eviction = %q, want %q", members, want)
	}
}

// TestIndexMigratesFromASet: an index written by the store before it kept
// deadlines is a plain set. Every operation on it still reaches its
// sessions (so "log out everywhere" still ends them after a deploy), and the
// first one turns it into a sorted set, keeping its TTL.
func TestIndexMigratesFromASet(t *testing.T) {
	ops := map[string]func(e *env, members []string) error{
		"ListGroup": func(e *env, members []string) error {
			got, err := e.store.ListGroup(t.Context(), "old")
			if err == nil && len(got) != len(members) {
				t.Errorf("ListGroup of a migrated index lists %d, want %d", len(got), len(members))
			}
			return err
		},
		"DeleteGroup": func(e *env, members []string) error {
			n, err := e.store.DeleteGroup(t.Context(), "old", "")
			if err == nil && n != len(members) {
				t.Errorf("DeleteGroup of a migrated index ended %d, want %d", n, len(members))
			}
			return err
		},
		"Create": func(e *env, members []string) error {
			_, err := e.store.Create(t.Context(), newHandle(), liveRecord(e.Now(), "old"), session.CreateOptions{})
			return err
		},
		// A logout (or revoke, or the discard of an expired session) and a
		// login as another user on an old cookie: the first requests after
		// a deploy for anybody logged in before it.
		"Delete": func(e *env, members []string) error {
			err := e.store.Delete(t.Context(), session.Ref{Handle: members[0], Group: "old"})
			if got, _ := e.m.ZMembers(e.store.groupKey("old")); err == nil && !slices.Equal(got, members[1:]) {
				t.Errorf("index after Delete = %q, want %q", got, members[1:])
			}
			return err
		},
		"Create replacing a session of the old index": func(e *env, members []string) error {
			_, err := e.store.Create(t.Context(), newHandle(), liveRecord(e.Now(), "new-user"),
				session.CreateOptions{Replaces: session.Ref{Handle: members[0], Group: "old"}})
			if got, _ := e.m.ZMembers(e.store.groupKey("old")); err == nil && !slices.Equal(got, members[1:]) {
				t.Errorf("old index after the replacing Create = %q, want %q", got, members[1:])
			}
			return err
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			gkey := e.store.groupKey("old")
			var members []string
			for range 2 {
				h := e.mustCreate(t, liveRecord(e.Now(), ""))
				e.m.HSet(e.store.sessionKey(h), "g", "old")
				members = append(members, h)
			}
			if _, err := e.m.SAdd(gkey, members...); err != nil {
				t.Fatal(err)
			}
			e.m.SetTTL(gkey, 2*time.Hour)

			if err := op(e, members); err != nil {
				t.Fatalf("%s on an old index: %v", name, err)
			}
			if typ := e.m.Type(gkey); typ != "zset" && typ != "" {
				t.Errorf("index type after %s = %q, want zset", name, typ)
			}
			if name == "Create" {
				got, _ := e.m.ZMembers(gkey)
				if len(got) != 3 {
					t.Errorf("index after Create = %q, want the 2 old members and the new one", got)
				}
				if ttl := e.m.TTL(gkey); ttl != 2*time.Hour {
					t.Errorf("index TTL after migration = %v, want the old one, 2h", ttl)
				}
			}
		})
	}
}

// TestInsertOverDeadKey: Redis's clock may lag the store's, so a record
// dead by the store's clock can still be in Redis. It must not hold its
// handle; one the store cannot read (no x) always does.
func TestInsertOverDeadKey(t *testing.T) {
	e := newEnv(t)
	dead := e.mustCreate(t, liveRecord(e.Now(), ""))
	e.m.HSet(e.store.sessionKey(dead), "x", ms(e.Now().Add(-time.Second)))
	if _, err := e.store.Create(t.Context(), dead, liveRecord(e.Now(), ""), session.CreateOptions{}); err != nil {
		t.Errorf("Create over a record dead by the store's clock = %v, want nil", err)
	}

	unreadable := e.mustCreate(t, liveRecord(e.Now(), ""))
	e.m.HDel(e.store.sessionKey(unreadable), "x")
	_, err := e.store.Create(t.Context(), unreadable, liveRecord(e.Now(), ""), session.CreateOptions{})
	if !errors.Is(err, session.ErrExists) {
		t.Errorf("Create over a record without x = %v, want ErrExists", err)
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }
