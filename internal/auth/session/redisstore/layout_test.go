package redisstore

import (
	"crypto/sha256"
	"encoding/base64"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// groupDigest is the documented group key suffix, computed independently of
// the store.
func groupDigest(group string) string {
	sum := sha256.Sum256([]byte(group))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func TestNewDefaults(t *testing.T) {
	s := New(nil, WithClock(nil))
	if s.prefix != "hexchi:" {
		t.Errorf("default prefix = %q, want %q", s.prefix, "hexchi:")
	}
	if s.now == nil {
		t.Error("WithClock(nil) left the store without a clock")
	}
}

// TestKeyLayout checks that Redis holds exactly what the package comment
// documents, since people inspect it and write tools against it.
func TestKeyLayout(t *testing.T) {
	const group = "user-42@example.com"
	tests := []struct {
		name   string
		opts   []Option
		prefix string
		group  string
		ua     string
	}{
		{"DefaultPrefix", nil, "hexchi:", group, "Mozilla/5.0 (test)"},
		{"CustomPrefix", []Option{WithKeyPrefix("app1:")}, "app1:", group, "curl/8"},
		{"NoPrefix", []Option{WithKeyPrefix("")}, "", group, "curl/8"},
		{"NoGroupNoUserAgent", nil, "hexchi:", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			rec := liveRecord(e.Now(), tc.group)
			rec.UserAgent = tc.ua
			h := e.mustCreate(t, rec)

			skey := tc.prefix + "s:" + h
			gkey := tc.prefix + "g:" + groupDigest(tc.group)
			wantKeys := []string{skey}
			if tc.group != "" {
				wantKeys = append(wantKeys, gkey)
			}
			slices.Sort(wantKeys)
			if got := e.m.Keys(); !slices.Equal(got, wantKeys) {
				t.Fatalf("keys = %q, want %q", got, wantKeys)
			}

			want := map[string]string{
				"c":      ms(rec.Created),
				"e":      ms(rec.Expires),
				"s":      ms(rec.LastSeen),
				"x":      ms(rec.ExpireAt),
				"v:user": `{"id":42}`,
				"v:e":    `"an app field named like a meta field"`,
			}
			if tc.group != "" {
				want["g"] = tc.group
			}
			if tc.ua != "" {
				want["ua"] = tc.ua
			}
			got := hash(t, e, skey)
			if !maps.Equal(got, want) {
				t.Errorf("hash %s = %q, want %q", skey, got, want)
			}
			for f, v := range got {
				if strings.Contains(v, h) {
					t.Errorf("field %s contains the handle", f)
				}
			}
			if ttl := e.m.TTL(skey); ttl != rec.ExpireAt.Sub(e.Now()) {
				t.Errorf("PTTL %s = %v, want ExpireAt - now = %v", skey, ttl, rec.ExpireAt.Sub(e.Now()))
			}

			if tc.group == "" {
				return
			}
			if strings.Contains(gkey, tc.group) {
				t.Errorf("group key %s contains the group name", gkey)
			}
			members, err := e.m.ZMembers(gkey)
			if err != nil || !slices.Equal(members, []string{h}) {
				t.Errorf("ZRANGE %s 0 -1 = %q, %v; want [%s]", gkey, members, err, h)
			}
			if ttl := e.m.TTL(gkey); ttl < rec.Expires.Sub(e.Now()) {
				t.Errorf("group PTTL = %v, want at least Expires - now = %v", ttl, rec.Expires.Sub(e.Now()))
			}
		})
	}
}

// hash returns the fields of a hash in miniredis.
func hash(t *testing.T, e *env, key string) map[string]string {
	t.Helper()
	fields, err := e.m.HKeys(key)
	if err != nil {
		t.Fatalf("HKEYS %s: %v", key, err)
	}
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		m[f] = e.m.HGet(key, f)
	}
	return m
}

// TestGroupTTL checks that the index outlives its longest member: a
// shorter-lived session joining never shortens the set's TTL, a longer one
// extends it, and a touch that moves ExpireAt up to Expires stays covered.
func TestGroupTTL(t *testing.T) {
	e := newEnv(t)
	gkey := e.store.groupKey("g1")
	add := func(expires time.Duration) {
		t.Helper()
		rec := liveRecord(e.Now(), "g1")
		rec.Expires = e.Now().Add(expires)
		rec.ExpireAt = e.Now().Add(expires / 2)
		e.mustCreate(t, rec)
	}
	steps := []struct {
		expires time.Duration
		wantTTL time.Duration
	}{
		{2 * time.Hour, 2 * time.Hour},
		{10 * time.Minute, 2 * time.Hour}, // not shortened
		{3 * time.Hour, 3 * time.Hour},    // extended
	}
	for _, st := range steps {
		add(st.expires)
		if got := e.m.TTL(gkey); got != st.wantTTL {
			t.Errorf("after a member with Expires now+%v: group TTL = %v, want %v", st.expires, got, st.wantTTL)
		}
	}
}

// TestReplaceLayout checks that a Create that replaces a session leaves no
// trace of the old one: its hash and its index entry are gone.
func TestReplaceLayout(t *testing.T) {
	e := newEnv(t)
	old := e.mustCreate(t, liveRecord(e.Now(), "anon-group"))
	h := newHandle()
	if _, err := e.store.Create(t.Context(), h, liveRecord(e.Now(), "user-1"), session.CreateOptions{Replaces: session.Ref{Handle: old, Group: "anon-group"}}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	want := []string{e.store.groupKey("user-1"), e.store.sessionKey(h)}
	slices.Sort(want)
	if got := e.m.Keys(); !slices.Equal(got, want) {
		t.Errorf("keys = %q, want %q (old session and its emptied set gone)", got, want)
	}
}
