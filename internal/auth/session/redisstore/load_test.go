package redisstore

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// show formats a record for a failure message, with its Values as text.
func show(r *session.Record) string {
	if r == nil {
		return "<nil>"
	}
	vals := make([]string, 0, len(r.Values))
	for k, v := range r.Values {
		vals = append(vals, k+"="+string(v))
	}
	slices.Sort(vals)
	return fmt.Sprintf("{Created:%s Expires:%s LastSeen:%s ExpireAt:%s Group:%q UserAgent:%q Values:%q}",
		r.Created.Format(time.StampMilli), r.Expires.Format(time.StampMilli),
		r.LastSeen.Format(time.StampMilli), r.ExpireAt.Format(time.StampMilli),
		r.Group, r.UserAgent, vals)
}

// equalRecords reports whether two records hold the same session.
func equalRecords(a, b *session.Record) bool {
	return a.Created.Equal(b.Created) && a.Expires.Equal(b.Expires) &&
		a.LastSeen.Equal(b.LastSeen) && a.ExpireAt.Equal(b.ExpireAt) &&
		a.Group == b.Group && a.UserAgent == b.UserAgent &&
		maps.EqualFunc(a.Values, b.Values, func(x, y []byte) bool { return string(x) == string(y) })
}

func TestLoad(t *testing.T) {
	e := newEnv(t)
	rec := liveRecord(e.Now(), "g1")
	h := e.mustCreate(t, rec)

	got, err := e.store.Load(t.Context(), h, session.Touch{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !equalRecords(got, rec) {
		t.Errorf("Load =\n%s\nwant\n%s", show(got), show(rec))
	}

	if _, err := e.store.Load(t.Context(), newHandle(), session.Touch{}); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Load of an unknown handle: err = %v, want ErrNotFound", err)
	}
}

// TestExpiryByStoreClock: a record past its ExpireAt by the store's clock
// is gone for Load and Patch even if Redis, whose clock may lag, still
// holds it; and a Patch must not write into it.
func TestExpiryByStoreClock(t *testing.T) {
	e := newEnv(t)
	h := newHandle()
	key := e.store.sessionKey(h)
	now := e.Now()
	e.m.HSet(key, "c", ms(now.Add(-time.Hour)), "e", ms(now.Add(time.Hour)), "s", ms(now.Add(-time.Hour)), "x", ms(now))
	e.m.SetTTL(key, time.Hour)
	before := hash(t, e, key)

	for _, touch := range []session.Touch{{}, {Now: now, Idle: 2 * time.Hour}} {
		if _, err := e.store.Load(t.Context(), h, touch); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Load(touch.Idle=%v): err = %v, want ErrNotFound", touch.Idle, err)
		}
	}
	p := &session.Patch{Set: map[string][]byte{"a": []byte(`1`)}, LastSeen: now, ExpireAt: now.Add(time.Hour)}
	if err := e.store.Patch(t.Context(), h, p); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Patch: err = %v, want ErrNotFound", err)
	}
	if after := hash(t, e, key); !maps.Equal(after, before) {
		t.Errorf("the expired record was written: %q, was %q", after, before)
	}
}

// TestLoadTouch checks the touch rule of session.Store.Load at its
// boundaries. The stored session was last seen a minute before the load.
func TestLoadTouch(t *testing.T) {
	tests := []struct {
		name        string
		expires     time.Duration // Expires - now
		idle, every time.Duration
		// wantExpireAt is ExpireAt - now after a touch; 0 means no touch.
		wantExpireAt time.Duration
		// zeroCreated stores the zero time as Created, a negative number
		// of milliseconds, which the script must read like any other.
		zeroCreated bool
	}{
		{"Due", time.Hour, 20 * time.Minute, 30 * time.Second, 20 * time.Minute, false},
		{"DueExactlyEvery", time.Hour, 20 * time.Minute, time.Minute, 20 * time.Minute, false},
		{"DueCappedByExpires", time.Hour, 2 * time.Hour, 0, time.Hour, false},
		{"DueWithZeroCreated", time.Hour, 20 * time.Minute, 0, 20 * time.Minute, true},
		{"NotDueYet", time.Hour, 20 * time.Minute, 2 * time.Minute, 0, false},
		{"IdleDeadlineReached", time.Hour, time.Minute, 0, 0, false},
		{"AbsoluteDeadlineReached", 0, time.Hour, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			now := e.Now()
			rec := liveRecord(now, "")
			rec.Expires = now.Add(tc.expires)
			if tc.zeroCreated {
				rec.Created = time.Time{}
			}
			h := e.mustCreate(t, rec)

			got, err := e.store.Load(t.Context(), h, session.Touch{Now: now, Idle: tc.idle, Every: tc.every})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := *rec
			if tc.wantExpireAt != 0 {
				want.LastSeen = now
				want.ExpireAt = now.Add(tc.wantExpireAt)
			}
			if !equalRecords(got, &want) {
				t.Errorf("Load =\n%s\nwant\n%s", show(got), show(&want))
			}
			// What Redis holds matches what Load returned.
			stored := hash(t, e, e.store.sessionKey(h))
			if stored["s"] != ms(want.LastSeen) || stored["x"] != ms(want.ExpireAt) {
				t.Errorf("stored s, x = %s, %s; want %s, %s", stored["s"], stored["x"], ms(want.LastSeen), ms(want.ExpireAt))
			}
			if ttl := e.m.TTL(e.store.sessionKey(h)); ttl != want.ExpireAt.Sub(now) {
				t.Errorf("PTTL = %v, want %v", ttl, want.ExpireAt.Sub(now))
			}
		})
	}
}

func TestPatch(t *testing.T) {
	tests := []struct {
		name  string
		patch func(now time.Time) *session.Patch
		// want applies the patch to the stored record; nil means deleted.
		want func(now time.Time, rec *session.Record) *session.Record
	}{
		{
			name: "SetAndDelete",
			patch: func(time.Time) *session.Patch {
				return &session.Patch{Set: map[string][]byte{"theme": []byte(`"dark"`), "e": []byte(`1`)}, Del: []string{"user", "absent"}}
			},
			want: func(_ time.Time, rec *session.Record) *session.Record {
				rec.Values = map[string][]byte{"theme": []byte(`"dark"`), "e": []byte(`1`)}
				return rec
			},
		},
		{
			name:  "Empty",
			patch: func(time.Time) *session.Patch { return &session.Patch{} },
			want:  func(_ time.Time, rec *session.Record) *session.Record { return rec },
		},
		{
			name: "LastSeenAndExpireAt",
			patch: func(now time.Time) *session.Patch {
				return &session.Patch{LastSeen: now, ExpireAt: now.Add(45 * time.Minute)}
			},
			want: func(now time.Time, rec *session.Record) *session.Record {
				rec.LastSeen, rec.ExpireAt = now, now.Add(45*time.Minute)
				return rec
			},
		},
		{
			name: "ExpireAtNowDeletes",
			patch: func(now time.Time) *session.Patch {
				return &session.Patch{Set: map[string][]byte{"a": []byte(`1`)}, ExpireAt: now}
			},
			want: func(time.Time, *session.Record) *session.Record { return nil },
		},
		{
			name:  "ExpireAtInThePastDeletes",
			patch: func(now time.Time) *session.Patch { return &session.Patch{ExpireAt: now.Add(-time.Hour)} },
			want:  func(time.Time, *session.Record) *session.Record { return nil },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			now := e.Now()
			rec := liveRecord(now, "")
			h := e.mustCreate(t, rec)

			if err := e.store.Patch(t.Context(), h, tc.patch(now)); err != nil {
				t.Fatalf("Patch: %v", err)
			}
			want := tc.want(now, liveRecord(now, ""))
			key := e.store.sessionKey(h)
			if want == nil {
				if e.m.Exists(key) {
					t.Fatalf("key %s still exists with TTL %v, want it deleted", key, e.m.TTL(key))
				}
				return
			}
			got, err := e.store.Load(t.Context(), h, session.Touch{})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !equalRecords(got, want) {
				t.Errorf("after Patch:\n%s\nwant\n%s", show(got), show(want))
			}
			if ttl := e.m.TTL(key); ttl != want.ExpireAt.Sub(now) {
				t.Errorf("PTTL = %v, want %v", ttl, want.ExpireAt.Sub(now))
			}
		})
	}
}

func TestPatchMissing(t *testing.T) {
	e := newEnv(t)
	err := e.store.Patch(t.Context(), newHandle(), &session.Patch{Set: map[string][]byte{"a": []byte(`1`)}})
	if !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Patch of an unknown handle: err = %v, want ErrNotFound", err)
	}
	if keys := e.m.Keys(); len(keys) != 0 {
		t.Errorf("Patch of an unknown handle created %q", keys)
	}
	if err := e.store.Patch(t.Context(), newHandle(), nil); err == nil {
		t.Error("Patch(nil): err = nil, want an error")
	}
}

// TestMiniredisPastPEXPIREAT records what the tests rely on: miniredis,
// like Redis, deletes a key given a PEXPIREAT in the past. Patch does not
// rely on it (it deletes explicitly), the conformance suite does.
func TestMiniredisPastPEXPIREAT(t *testing.T) {
	e := newEnv(t)
	e.m.HSet("k", "f", "v")
	if err := e.client.PExpireAt(t.Context(), "k", e.Now().Add(-time.Millisecond)).Err(); err != nil {
		t.Fatalf("PEXPIREAT: %v", err)
	}
	if e.m.Exists("k") {
		t.Error("miniredis kept a key whose PEXPIREAT is in the past")
	}
}
