package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// TestLoadCorrupt: a hash the store cannot read is reported as session.ErrCorrupt,
// which is also ErrNotFound, with or without a touch, and never panics.
func TestLoadCorrupt(t *testing.T) {
	const secret = "s3cr3t-value"
	tests := []struct {
		name  string
		field string
		value string // "" deletes the field
	}{
		{"MissingExpires", "e", ""},
		{"MissingCreated", "c", ""},
		{"MissingLastSeen", "s", ""},
		{"MissingExpireAt", "x", ""},
		{"CreatedNotANumber", "c", secret},
		{"ExpiresNotAnInteger", "e", "1.5e12"},
		{"LastSeenEmpty", "s", " "},
		{"ExpireAtOverflows", "x", "99999999999999999999999"},
	}
	for _, tc := range tests {
		for _, touch := range []bool{false, true} {
			name := tc.name
			if touch {
				name += "/WithTouch"
			}
			t.Run(name, func(t *testing.T) {
				e := newEnv(t)
				h := e.mustCreate(t, liveRecord(e.Now(), ""))
				key := e.store.sessionKey(h)
				if tc.value == "" {
					e.m.HDel(key, tc.field)
				} else {
					e.m.HSet(key, tc.field, tc.value)
				}
				var tt session.Touch
				if touch {
					tt = session.Touch{Now: e.Now(), Idle: time.Hour}
				}

				_, err := e.store.Load(t.Context(), h, tt)
				if !errors.Is(err, session.ErrCorrupt) || !errors.Is(err, session.ErrNotFound) {
					t.Fatalf("err = %v, want session.ErrCorrupt and ErrNotFound", err)
				}
				msg := err.Error()
				if !strings.Contains(msg, "corrupt") || !strings.Contains(msg, `"`+tc.field+`"`) {
					t.Errorf("err = %q, want it to say the record is corrupt and name field %q", msg, tc.field)
				}
				if strings.Contains(msg, secret) || strings.Contains(msg, h) {
					t.Errorf("err = %q quotes the field's content or the whole handle", msg)
				}
				if !e.m.Exists(key) {
					t.Error("the corrupt record was deleted; it should be left to its TTL")
				}
				if tc.field == "x" {
					err := e.store.Patch(t.Context(), h, &session.Patch{Set: map[string][]byte{"a": []byte(`1`)}})
					if !errors.Is(err, session.ErrNotFound) {
						t.Errorf("Patch of a record without a readable x: err = %v, want ErrNotFound", err)
					}
				}
			})
		}
	}
}

// TestDecodeMalformedReplies covers replies that Redis does not send, so
// the decoders' guards against them cannot panic either.
func TestDecodeMalformedReplies(t *testing.T) {
	if _, err := pairs([]any{"c"}); err == nil {
		t.Error("pairs of an odd-length reply: err = nil")
	}
	if _, err := pairs([]any{"c", int64(1)}); err == nil {
		t.Error("pairs with a non-string value: err = nil")
	}
	if _, err := readMember([]any{"1"}); !errors.Is(err, session.ErrCorrupt) {
		t.Errorf("readMember of a short reply: err = %v, want session.ErrCorrupt", err)
	}
}

// TestContextCancelled: every method given a cancelled context fails with
// an error that wraps context.Canceled, so the Manager can tell a client
// that went away from a Redis that is down. go-redis checks the context
// before it takes a connection; the store wraps with %w.
func TestContextCancelled(t *testing.T) {
	e := newEnv(t)
	h := e.mustCreate(t, liveRecord(e.Now(), "g1"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	ops := []struct {
		name string
		run  func() error
	}{
		{"Load", func() error { _, err := e.store.Load(ctx, h, session.Touch{}); return err }},
		{"LoadWithTouch", func() error {
			_, err := e.store.Load(ctx, h, session.Touch{Now: e.Now(), Idle: time.Hour})
			return err
		}},
		{"Create", func() error {
			return createErr(e.store.Create(ctx, newHandle(), liveRecord(e.Now(), "g1"), session.CreateOptions{Replaces: session.Ref{Handle: h, Group: "g1"}}))
		}},
		{"Patch", func() error { return e.store.Patch(ctx, h, &session.Patch{LastSeen: e.Now()}) }},
		{"Delete", func() error { return e.store.Delete(ctx, session.Ref{Handle: h, Group: "g1"}) }},
		{"ListGroup", func() error { _, err := e.store.ListGroup(ctx, "g1"); return err }},
		{"DeleteGroup", func() error { _, err := e.store.DeleteGroup(ctx, "g1", ""); return err }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			if err := op.run(); !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want one that wraps context.Canceled", err)
			}
		})
	}
	if _, err := e.store.Load(t.Context(), h, session.Touch{}); err != nil {
		t.Errorf("the session was changed by a cancelled call: Load = %v", err)
	}
}

// TestContextDeadline: with ContextTimeoutEnabled, an expired deadline
// yields context.DeadlineExceeded.
func TestContextDeadline(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := e.store.Load(ctx, newHandle(), session.Touch{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Load past the deadline: err = %v, want context.DeadlineExceeded", err)
	}
}
