package session_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

// hmacB64 signs like the package does; the tests use it to make cookies
// signed with the previous secret.
func hmacB64(secret []byte, value string) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(value))
	return base64.RawStdEncoding.EncodeToString(h.Sum(nil))
}

// signedWith returns a well-formed session cookie value for a random id,
// signed with secret.
func signedWith(secret []byte) string {
	id := make([]byte, 32)
	_, _ = rand.Read(id) // never fails; see crypto/rand
	v := base64.RawURLEncoding.EncodeToString(id)
	return v + "." + hmacB64(secret, v)
}

// handleFromCookie returns the store handle of a session cookie value.
func handleFromCookie(t *testing.T, cookie string) string {
	t.Helper()
	v, err := url.PathUnescape(cookie)
	if err != nil {
		t.Fatal(err)
	}
	id, _, ok := strings.Cut(v, ".")
	if !ok {
		t.Fatalf("cookie %q is not <id>.<sig>", cookie)
	}
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
