package session

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
)

const (
	// idBytes is the entropy of a session id: 256 bits from crypto/rand.
	idBytes = 32
	// idLen is the length of an id in base64url without padding.
	idLen = 43
	// sigLen is the length of an HMAC-SHA256 in base64 without padding.
	sigLen = 43
	// maxCookieLen bounds the cookie value we are willing to look at. A
	// valid value is 87 bytes (121 percent-encoded); anything much longer is
	// garbage and is rejected before any work is done.
	maxCookieLen = 256
)

var (
	errCookieMalformed = errors.New("malformed session cookie")
	errCookieSignature = errors.New("session cookie signature does not verify")
)

// newID returns a fresh session id: 32 random bytes in base64url.
func newID() string {
	var b [idBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails since Go 1.24; it crashes the program instead.
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// handleOf returns the key a store keeps a session under: base64url of the
// SHA-256 of its id. Logs, listings and the revoke API use handles too, so
// neither a store dump nor a log line yields a usable cookie.
func handleOf(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ShortHandle returns the prefix of a handle that log records, error
// messages and pages carry: enough to tell a user's sessions apart and to
// find one in the logs, far too little to look it up in the store.
func ShortHandle(handle string) string {
	const n = 8
	if len(handle) > n {
		return handle[:n]
	}
	return handle
}

// sign returns "<value>.<sig>" where sig is HMAC-SHA256(secret, value) in
// standard base64 without padding: the signed-cookie format of
// @fastify/cookie, which @hexancore/auth uses, so both can verify each
// other's cookies.
func sign(value string, secret []byte) string {
	return value + "." + base64.RawStdEncoding.EncodeToString(mac(value, secret))
}

func mac(value string, secret []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(value))
	return h.Sum(nil)
}

// unsign verifies a value made by sign against each secret in turn, in
// constant time. reissue reports that a secret other than the first one
// verified, so the caller should re-issue the cookie with the current secret.
func unsign(signed string, secrets [][]byte) (value string, reissue bool, err error) {
	i := strings.LastIndexByte(signed, '.')
	if i < 0 {
		return "", false, errCookieSignature
	}
	value, sig := signed[:i], signed[i+1:]
	// A signature has exactly one accepted spelling, as in @fastify/cookie's
	// string comparison: Strict rejects non-zero padding bits, and the length
	// check rejects the \r and \n that Go's decoder otherwise skips.
	if len(sig) != sigLen {
		return "", false, errCookieSignature
	}
	got, err := base64.RawStdEncoding.Strict().DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return "", false, errCookieSignature
	}
	for n, secret := range secrets {
		if hmac.Equal(mac(value, secret), got) {
			return value, n > 0, nil
		}
	}
	return "", false, errCookieSignature
}

// encodeCookieValue percent-encodes the characters of a signed value that
// encodeURIComponent would, as @fastify/cookie does: only '+' and '/' of the
// base64 signature occur in our values.
func encodeCookieValue(v string) string {
	if !strings.ContainsAny(v, "+/") {
		return v
	}
	return strings.NewReplacer("+", "%2B", "/", "%2F").Replace(v)
}

// parseCookie checks a session cookie value without any I/O: its length,
// its encoding, its signature and the shape of the id. It returns the id and
// whether the cookie must be re-issued with the current secret.
func parseCookie(raw string, secrets [][]byte) (id string, reissue bool, err error) {
	if raw == "" || len(raw) > maxCookieLen {
		return "", false, errCookieMalformed
	}
	if raw, err = unescapeCookieValue(raw); err != nil {
		return "", false, err
	}
	id, reissue, err = unsign(raw, secrets)
	if err != nil {
		return "", false, err
	}
	if !validID(id) {
		return "", false, errCookieMalformed
	}
	return id, reissue, nil
}

// unescapeCookieValue undoes encodeCookieValue (and any other percent
// encoding a client applied).
func unescapeCookieValue(raw string) (string, error) {
	if strings.IndexByte(raw, '%') < 0 {
		return raw, nil
	}
	v, err := url.PathUnescape(raw)
	if err != nil {
		return "", errCookieMalformed
	}
	return v, nil
}

// validID reports whether id is 32 bytes in canonical unpadded base64url.
func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(id)
	return err == nil && len(b) == idBytes
}
