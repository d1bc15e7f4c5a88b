package session_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// hmacB64 signs like the package does; the tests use it to make cookies
// signed with the previous secret.
func hmacB64(secret []byte, value string) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(value))
	return base64.RawStdEncoding.EncodeToString(h.Sum(nil))
}
