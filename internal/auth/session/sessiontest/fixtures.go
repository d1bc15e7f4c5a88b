package sessiontest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// Expiry distances for the subtests that cross an expiry, on the suite's
// clock: no test sleeps through them. They are short because miniredis and
// the memory store expire keys as the clock moves, and the 100 ms between
// shortTTL and crossTTL keeps "just before" and "just after" apart at
// millisecond precision.
const (
	// shortTTL is how far ahead of now a record that must die expires.
	shortTTL = 200 * time.Millisecond
	// crossTTL is how long a subtest then advances the clock.
	crossTTL = 300 * time.Millisecond
	// settle is the advance after a deletion, to show it does not undo
	// itself (a record with "no TTL" would still be there).
	settle = 50 * time.Millisecond
)

// newHandle returns a handle shaped like the Manager's: base64url without
// padding of the SHA-256 of 32 random bytes, 43 characters. Realistic
// handles catch stores that mangle '-' or '_', or cut keys short.
func newHandle() string {
	id := make([]byte, 32)
	// crypto/rand.Read never returns an error (it crashes the program
	// instead when the system has no randomness), see its documentation.
	_, _ = rand.Read(id)
	sum := sha256.Sum256(id)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// newGroup returns a group name that no other run uses, so runs against a
// shared server never see each other's index entries.
func newGroup() string {
	return "sessiontest-" + rand.Text()
}

// now is the store's clock truncated to the millisecond, the precision the
// Harness promises to keep, so that every time the suite stores round-trips
// exactly.
func (s suite) now() time.Time {
	return s.Now().Truncate(time.Millisecond)
}

// record returns a live record in group: created a minute ago and last
// seen then, dead in an hour, collectable in half an hour.
func (s suite) record(group string) *session.Record {
	now := s.now()
	return &session.Record{
		Created:     now.Add(-time.Minute),
		Expires:     now.Add(time.Hour),
		LastSeen:    now.Add(-time.Minute),
		ExpireAt:    now.Add(30 * time.Minute),
		AuthTime:    now.Add(-2 * time.Minute),
		Persistence: session.PersistUntilExpiry,
		Group:       group,
		UserAgent:   "Mozilla/5.0 (X11; Linux x86_64) sessiontest",
		Values: map[string][]byte{
			"user":  []byte(`{"id":42,"name":"demo"}`),
			"theme": []byte(`"dark"`),
		},
	}
}

// richValues are values that a store with an encoding of its own tends to
// break: unicode, quotes and escapes, an empty object, JSON null, and one
// value of 8 KiB.
func richValues() map[string][]byte {
	return map[string][]byte{
		"user":       []byte(`{"id":42,"name":"Zoë \"the admin\" O'Brien 🦊","tags":["a\\b","\u00e9"]}`),
		"empty":      []byte(`{}`),
		"null":       []byte(`null`),
		"list":       []byte(`[1,2.5,true,"x"]`),
		"ключ":       []byte(`"значение"`),
		"with space": []byte(`0`),
		"large":      []byte(`"` + strings.Repeat("0123456789abcdef", 512) + `"`),
	}
}

// metaLikeNames are value names that a store keeping metadata and values
// in one hash or document might use for its own fields. A store must keep
// the two apart: an app field called "e" must never become the deadline.
var metaLikeNames = []string{
	"c", "e", "s", "x", "g", "u", "ua", "l",
	"created", "expires", "lastSeen", "last_seen", "expireAt", "expire_at",
	"group", "userAgent", "user_agent", "values",
	"_c", "_e", "_x", "_created", "_expires", "$meta", ":meta", "v:", "v:user",
}

// cloneRecord returns a deep copy of r, so a test can derive the record it
// expects without sharing Values with the one it stored.
func cloneRecord(r *session.Record) *session.Record {
	c := *r
	c.Values = make(map[string][]byte, len(r.Values))
	for k, v := range r.Values {
		c.Values[k] = bytes.Clone(v)
	}
	return &c
}
