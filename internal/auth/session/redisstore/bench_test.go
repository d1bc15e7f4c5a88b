package redisstore

import (
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// The benchmarks run against miniredis over loopback TCP, so they measure
// the store's own cost (encoding, decoding, script dispatch) plus a local
// round trip, not Redis's. Compare them with each other and across
// changes, not with a real server.

func BenchmarkLoad(b *testing.B) {
	tests := []struct {
		name  string
		touch func(e *env) session.Touch
	}{
		{"NoTouch", func(*env) session.Touch { return session.Touch{} }},
		// Every is an hour, so the touch is checked but never due.
		{"TouchNotDue", func(e *env) session.Touch {
			return session.Touch{Now: e.Now(), Idle: time.Hour, Every: time.Hour}
		}},
		// Every is zero, so every load writes LastSeen and the TTL.
		{"TouchDue", func(e *env) session.Touch {
			return session.Touch{Now: e.Now(), Idle: time.Hour}
		}},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b)
			h := e.mustCreate(b, liveRecord(e.Now(), "g1"))
			touch := tc.touch(e)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.store.Load(b.Context(), h, touch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPatch(b *testing.B) {
	e := newEnv(b)
	h := e.mustCreate(b, liveRecord(e.Now(), "g1"))
	p := &session.Patch{
		Set:      map[string][]byte{"flash": []byte(`["saved"]`)},
		Del:      []string{"user"},
		LastSeen: e.Now(),
		ExpireAt: e.Now().Add(time.Hour),
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.store.Patch(b.Context(), h, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreate(b *testing.B) {
	e := newEnv(b)
	rec := liveRecord(e.Now(), "g1")
	old := e.mustCreate(b, rec)
	b.ReportAllocs()
	for b.Loop() {
		h := newHandle()
		if _, err := e.store.Create(b.Context(), h, rec, session.CreateOptions{Replaces: session.Ref{Handle: old, Group: "g1"}}); err != nil {
			b.Fatal(err)
		}
		old = h
	}
}
