package session

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// The vectors of research/hexancore-session.md §4.3, computed by running
// @fastify/cookie v9.3.1's signer under node. The secrets are the 26-byte
// samples of @hexancore/auth: this layer accepts any secret, the 32-byte
// minimum is enforced by New.
var (
	vectorSecrets = [][]byte{[]byte("wDvPacgvKPwzkb4NeQdPAB5Sz6"), []byte("wDvPacgvKPwzkb4NeQdPAB5Sz5")}
	vectorValue   = "V1StGXR8_Z5jdHi6B3myT"
	vectorSigned  = "V1StGXR8_Z5jdHi6B3myT.B1d4CdQDQxPqYyH82oRd3DJHe0a0+MAt/gpr1XSXKRY"
	vectorRotated = "V1StGXR8_Z5jdHi6B3myT.RlBOChEjtLyOVQjjHqflSbVZN5uO1tUq1ghq/3GMT0A"
	vectorCookie  = "V1StGXR8_Z5jdHi6B3myT.B1d4CdQDQxPqYyH82oRd3DJHe0a0%2BMAt%2Fgpr1XSXKRY"
)

func TestSignMatchesFastifyVectors(t *testing.T) {
	if got := sign(vectorValue, vectorSecrets[0]); got != vectorSigned {
		t.Errorf("sign = %q, want %q", got, vectorSigned)
	}
	if got := sign(vectorValue, vectorSecrets[1]); got != vectorRotated {
		t.Errorf("sign with second secret = %q, want %q", got, vectorRotated)
	}
	if got := encodeCookieValue(vectorSigned); got != vectorCookie {
		t.Errorf("encoded cookie value = %q, want %q (encodeURIComponent)", got, vectorCookie)
	}
}

func TestUnsign(t *testing.T) {
	tests := []struct {
		name      string
		signed    string
		wantValue string
		wantRenew bool
		wantErr   bool
	}{
		{"current secret", vectorSigned, vectorValue, false, false},
		{"rotated secret", vectorRotated, vectorValue, true, false},
		{"tampered last char", vectorSigned[:len(vectorSigned)-1] + "A", "", false, true},
		{"tampered value", "V1StGXR8_Z5jdHi6B3myU" + vectorSigned[len(vectorValue):], "", false, true},
		{"no signature", vectorValue, "", false, true},
		{"empty signature", vectorValue + ".", "", false, true},
		{"padded signature", vectorSigned + "=", "", false, true},
		// Y and Z differ only in padding bits: the same bytes, spelt another way.
		{"non-canonical signature", vectorSigned[:len(vectorSigned)-1] + "Z", "", false, true},
		{"empty", "", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, renew, err := unsign(tt.signed, vectorSecrets)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if value != tt.wantValue || renew != tt.wantRenew {
				t.Errorf("unsign = (%q, %v), want (%q, %v)", value, renew, tt.wantValue, tt.wantRenew)
			}
		})
	}
}

func TestParseCookie(t *testing.T) {
	secrets := [][]byte{[]byte(strings.Repeat("a", 32)), []byte(strings.Repeat("b", 32))}
	id := newID()
	current := sign(id, secrets[0])
	old := sign(id, secrets[1])
	tests := []struct {
		name      string
		raw       string
		wantRenew bool
		wantErr   error
	}{
		{"current", current, false, nil},
		{"percent-encoded", encodeCookieValue(current), false, nil},
		{"old secret", old, true, nil},
		{"unknown secret", sign(id, []byte(strings.Repeat("c", 32))), false, errCookieSignature},
		{"unsigned", id, false, errCookieSignature},
		{"oversized", current + strings.Repeat("x", maxCookieLen), false, errCookieMalformed},
		{"empty", "", false, errCookieMalformed},
		{"bad percent", "%zz" + current, false, errCookieMalformed},
		{"short id, valid signature", sign("abc", secrets[0]), false, errCookieMalformed},
		{"id with padding", sign(id[:42]+"=", secrets[0]), false, errCookieMalformed},
		{"legacy 21-char id", sign(vectorValue, secrets[0]), false, errCookieMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, renew, err := parseCookie(tt.raw, secrets)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (got != id || renew != tt.wantRenew) {
				t.Errorf("parseCookie = (%q, %v), want (%q, %v)", got, renew, id, tt.wantRenew)
			}
		})
	}
}

func TestNewIDAndHandle(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newID()
		if !validID(id) {
			t.Fatalf("newID() = %q is not a valid id", id)
		}
		if seen[id] {
			t.Fatalf("newID() repeated %q", id)
		}
		seen[id] = true
		h := handleOf(id)
		if len(h) != idLen || h == id || strings.Contains(h, id) {
			t.Fatalf("handleOf(%q) = %q: want a 43-char hash unlike the id", id, h)
		}
	}
}

// FuzzParseCookie checks that no input panics, that whatever parses is a
// valid id signed by one of the secrets, and that parsing agrees with
// signing. `go test` runs the seed corpus; `go test -fuzz FuzzParseCookie`
// explores further.
func FuzzParseCookie(f *testing.F) {
	secrets := [][]byte{[]byte(strings.Repeat("k", 32)), []byte(strings.Repeat("o", 32))}
	id := "T0dQ0Z8gAZK1d0qvCj7c-9pAQa3Ow0cEOYwZxAIWL7s"
	for _, seed := range []string{
		sign(id, secrets[0]), sign(id, secrets[1]), encodeCookieValue(sign(id, secrets[0])),
		id, id + ".", "." + id, "%", "%2B%2F", vectorSigned, vectorCookie, strings.Repeat(".", 300), "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, renew, err := parseCookie(raw, secrets)
		if err != nil {
			return
		}
		if !validID(got) {
			t.Fatalf("parseCookie(%q) accepted invalid id %q", raw, got)
		}
		want := sign(got, secrets[0])
		if renew {
			want = sign(got, secrets[1])
		}
		if raw != want && raw != encodeCookieValue(want) {
			if dec, err := url.PathUnescape(raw); err != nil || dec != want {
				t.Fatalf("parseCookie(%q) accepted a value that is not the signature of %q", raw, got)
			}
		}
	})
}
