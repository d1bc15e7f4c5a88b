package web

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.10/32")}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"direct client", "203.0.113.7:5000", nil, "203.0.113.7"},
		{"direct client cannot spoof", "203.0.113.7:5000", []string{"1.2.3.4"}, "203.0.113.7"},
		{"behind a trusted proxy", "10.1.2.3:5000", []string{"198.51.100.9"}, "198.51.100.9"},
		{"spoofed entry left of the real one", "10.1.2.3:5000", []string{"1.2.3.4, 198.51.100.9"}, "198.51.100.9"},
		{"two trusted proxies", "192.0.2.10:443", []string{"198.51.100.9, 10.9.9.9"}, "198.51.100.9"},
		{"several header lines", "10.1.2.3:5000", []string{"1.2.3.4", "198.51.100.9"}, "198.51.100.9"},
		{"garbage stops the walk", "10.1.2.3:5000", []string{"198.51.100.9, nonsense"}, "10.1.2.3"},
		{"only proxies", "10.1.2.3:5000", []string{"10.4.4.4"}, "10.1.2.3"},
		{"no header from a proxy", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"IPv6 peer", "[2001:db8::1]:443", nil, "2001:db8::1"},
		{"IPv4-mapped IPv6", "[::ffff:203.0.113.7]:443", nil, "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			var got string
			ClientIPs(trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = ClientIP(r.Context())
			})).ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Errorf("client IP = %q, want %q", got, tt.want)
			}
		})
	}
}
