package session

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// benchData is a small session, like the demo app's: user, name, login time,
// a preference.
type benchData struct {
	UserID   string    `json:"userId"`
	Username string    `json:"username"`
	AuthAt   time.Time `json:"authAt"`
	Theme    string    `json:"theme,omitempty"`
}

func (d *benchData) IsAuthenticated() bool  { return d.UserID != "" }
func (d *benchData) SessionGroupID() string { return d.UserID }

// BenchmarkDecodeSmallSession measures what a load costs besides the store
// round trip: joining the stored fields and decoding them (target: < 3 µs).
func BenchmarkDecodeSmallSession(b *testing.B) {
	values, err := encodeData(&benchData{UserID: "42", Username: "demo", AuthAt: time.Unix(1715508000, 0).UTC(), Theme: "dark"})
	if err != nil {
		b.Fatal(err)
	}
	decode := func(p []byte) (*benchData, error) {
		d := &benchData{}
		return d, json.Unmarshal(p, d)
	}
	b.ReportAllocs()
	for b.Loop() {
		d, err := decodeData(values, decode)
		if err != nil || d.Username != "demo" {
			b.Fatalf("decode: %v %+v", err, d)
		}
	}
}

// BenchmarkDiffUnchanged measures the change check of a request that read
// the data and changed nothing.
func BenchmarkDiffUnchanged(b *testing.B) {
	d := &benchData{UserID: "42", Username: "demo", AuthAt: time.Unix(1715508000, 0).UTC()}
	values, _ := encodeData(d)
	s := &Session[*benchData]{stored: true, data: d, rec: Record{Values: values}}
	s.Data() // takes the snapshot, as a handler's first access does
	b.ReportAllocs()
	for b.Loop() {
		set, del, _, err := s.diff()
		if err != nil || len(set) != 0 || len(del) != 0 {
			b.Fatalf("diff of unchanged data: %v %v %v", set, del, err)
		}
	}
}

// TestTouchInterval: the touch interval is always shorter than the idle
// timeout, so a user active at least every idle/2 is touched in time.
func TestTouchInterval(t *testing.T) {
	tests := []struct{ idle, want time.Duration }{
		{0, 0},
		{10 * time.Second, 5 * time.Second},
		{time.Minute, 30 * time.Second},
		{2 * time.Minute, time.Minute},
		{5 * time.Minute, time.Minute},
		{30 * time.Minute, 3 * time.Minute},
		{24 * time.Hour, 144 * time.Minute},
	}
	for _, tc := range tests {
		if got := touchInterval(tc.idle); got != tc.want {
			t.Errorf("touchInterval(%s) = %s, want %s", tc.idle, got, tc.want)
		}
		if tc.idle > 0 && touchInterval(tc.idle) >= tc.idle {
			t.Errorf("touchInterval(%s) is not shorter than the idle timeout", tc.idle)
		}
	}
}

// TestCookiesCannotStandInForEachOther: the flash cookie and the session
// cookie are signed with different keys, so a value signed for one never
// verifies as the other, even when it has the other's shape; and two
// Managers' flash cookies are apart too.
func TestCookiesCannotStandInForEachOther(t *testing.T) {
	secret := []byte("a-secret-of-at-least-thirty-two-bytes")
	m, err := New(Options[*benchData]{Store: nopStore{}, Secrets: [][]byte{secret}, New: func() *benchData { return &benchData{} }})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	id := newID()
	if _, _, err := parseCookie(encodeCookieValue(sign(id, m.flashKeys[0])), m.secrets); err == nil {
		t.Error("a well-formed id signed with the flash key verifies as a session cookie")
	}
	flash, _ := m.encodeFlashCookie([]Flash{{Kind: "info", Message: "x"}}, now)
	if _, err := m.decodeFlashCookie(flash, now); err != nil {
		t.Fatalf("the flash cookie's own value: %v", err)
	}
	payload, _, _ := strings.Cut(flash, ".")
	if _, err := m.decodeFlashCookie(encodeCookieValue(sign(payload, secret)), now); err == nil {
		t.Error("a flash payload signed with the session secret verifies as a flash cookie")
	}
	if bytes.Equal(m.flashKeys[0], secret) || bytes.Equal(m.flashKeys[0], mac("hexchi flash cookie v1", secret)) {
		t.Error("the flash key is the secret, or an HMAC a cookie signer could be asked for")
	}
	if bytes.Equal(flashKey(secret, "SID"), flashKey(secret, "ADMIN")) {
		t.Error("two cookie names share one flash key")
	}
}

// nopStore is a Store for tests that never reach it.
type nopStore struct{ Store }
