package sessiontest

import (
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// touch: when the idle touch of Load is due, and what a due one writes.
// The touch is what keeps an idle-timeout session alive without rewriting
// its data; getting "due" wrong either writes on every request or lets an
// idle-dead session live again.
func (s suite) touch(t *testing.T) {
	const idle, every = 10 * time.Minute, time.Minute
	// Times are offsets from now; ExpireAt beyond the idle deadline stands
	// for a store that has not caught up with a shortened idle timeout.
	type times struct{ lastSeen, expires, expireAt time.Duration }
	tests := map[string]struct {
		rec   times
		touch session.Touch // Now is set to now
		want  times         // expires is ignored: a touch never changes it
	}{
		"not due: LastSeen younger than Every": {
			rec:   times{-30 * time.Second, time.Hour, 9*time.Minute + 30*time.Second},
			touch: session.Touch{Idle: idle, Every: every},
			want:  times{lastSeen: -30 * time.Second, expireAt: 9*time.Minute + 30*time.Second},
		},
		"due: LastSeen exactly Every old": {
			rec:   times{-every, time.Hour, 9 * time.Minute},
			touch: session.Touch{Idle: idle, Every: every},
			want:  times{lastSeen: 0, expireAt: idle},
		},
		"due: Every zero": {
			rec:   times{-time.Second, time.Hour, idle - time.Second},
			touch: session.Touch{Idle: idle},
			want:  times{lastSeen: 0, expireAt: idle},
		},
		"due: capped at Expires": {
			rec:   times{-5 * time.Minute, 2 * time.Minute, 2 * time.Minute},
			touch: session.Touch{Idle: idle, Every: every},
			want:  times{lastSeen: 0, expireAt: 2 * time.Minute},
		},
		"idle-dead: LastSeen+Idle is now": {
			rec:   times{-idle, time.Hour, time.Hour},
			touch: session.Touch{Idle: idle, Every: every},
			want:  times{lastSeen: -idle, expireAt: time.Hour},
		},
		"idle-dead: LastSeen long ago": {
			rec:   times{-time.Hour, time.Hour, 30 * time.Minute},
			touch: session.Touch{Idle: idle, Every: every},
			want:  times{lastSeen: -time.Hour, expireAt: 30 * time.Minute},
		},
		"no touch: Idle zero": {
			rec:   times{-time.Hour, time.Hour, 30 * time.Minute},
			touch: session.Touch{},
			want:  times{lastSeen: -time.Hour, expireAt: 30 * time.Minute},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := s.New(t)
			handle := newHandle()
			now := s.now()
			rec := s.record(newGroup())
			rec.LastSeen, rec.Expires, rec.ExpireAt = now.Add(tc.rec.lastSeen), now.Add(tc.rec.expires), now.Add(tc.rec.expireAt)
			want := cloneRecord(rec)
			want.LastSeen, want.ExpireAt = now.Add(tc.want.lastSeen), now.Add(tc.want.expireAt)
			mustCreate(t, st, handle, rec)

			touch := tc.touch
			touch.Now = now
			got, err := st.Load(t.Context(), handle, touch)
			if err != nil {
				t.Fatalf("Load with a touch of a live record = %v, want the record", err)
			}
			wantRecord(t, got, want, "the record Load returned with the touch")
			wantRecord(t, mustLoad(t, st, handle, "after the touch"), want, "the stored record after the touch")
		})
	}
	t.Run("missing handle", func(t *testing.T) {
		st := s.New(t)
		handle := newHandle()
		_, err := st.Load(t.Context(), handle, session.Touch{Now: s.now(), Idle: idle})
		wantErrIs(t, err, session.ErrNotFound, "Load with a touch of a handle never stored")
		wantNotFound(t, st, handle, "a touch of a missing handle created a record")
	})
}

// touchDeadline: a due touch moves the store's own deadline, and never
// beyond Expires. Checked by letting time pass, since the returned
// ExpireAt could be right while the store's TTL is not.
func (s suite) touchDeadline(t *testing.T) {
	t.Run("moves to touch.Now+Idle", func(t *testing.T) {
		// Old ExpireAt at now+150ms, new one at now+300ms; the checks fall
		// 75ms inside each.
		const idle, every = 300 * time.Millisecond, 100 * time.Millisecond
		st := s.New(t)
		handle := newHandle()
		now := s.now()
		rec := s.record(newGroup())
		rec.LastSeen, rec.ExpireAt = now.Add(-150*time.Millisecond), now.Add(150*time.Millisecond)
		mustCreate(t, st, handle, rec)
		if _, err := st.Load(t.Context(), handle, session.Touch{Now: now, Idle: idle, Every: every}); err != nil {
			t.Fatalf("Load with a due touch = %v, want the record", err)
		}
		s.Advance(t, 225*time.Millisecond)
		mustLoad(t, st, handle, "a due touch must move the store's deadline to touch.Now+Idle, but the record died at its old ExpireAt")
		s.Advance(t, 150*time.Millisecond)
		wantNotFound(t, st, handle, "the touched record outlived touch.Now+Idle")
	})
	t.Run("never beyond Expires", func(t *testing.T) {
		st := s.New(t)
		handle := newHandle()
		now := s.now()
		rec := s.record(newGroup())
		rec.Expires, rec.ExpireAt = now.Add(shortTTL), now.Add(shortTTL)
		mustCreate(t, st, handle, rec)
		got, err := st.Load(t.Context(), handle, session.Touch{Now: now, Idle: time.Hour, Every: time.Second})
		if err != nil {
			t.Fatalf("Load with a due touch = %v, want the record", err)
		}
		if !sameMilli(got.ExpireAt, rec.Expires) {
			t.Errorf("a touch with Idle 1h set ExpireAt = %s, want Expires %s", stamp(got.ExpireAt), stamp(rec.Expires))
		}
		s.Advance(t, crossTTL)
		wantNotFound(t, st, handle, "a touch with Idle 1h kept the record past its Expires")
	})
}
