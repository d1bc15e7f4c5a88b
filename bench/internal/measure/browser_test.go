package measure

import (
	"net/http"
	"testing"
	"time"
)

// TestIsClearing: Max-Age decides over Expires, so that a live cookie
// whose Expires (sent to the second) has just passed is not taken for a
// deletion.
func TestIsClearing(t *testing.T) {
	past, future := time.Now().Add(-time.Second), time.Now().Add(time.Hour)
	tests := []struct {
		name   string
		cookie http.Cookie
		want   bool
	}{
		{"Max-Age 0 (MaxAge -1)", http.Cookie{Value: "v", MaxAge: -1}, true},
		{"empty value", http.Cookie{Value: "", MaxAge: 60, Expires: future}, true},
		{"Max-Age 1, Expires passed", http.Cookie{Value: "v", MaxAge: 1, Expires: past}, false},
		{"no Max-Age, Expires passed", http.Cookie{Value: "v", Expires: past}, true},
		{"no Max-Age, Expires ahead", http.Cookie{Value: "v", Expires: future}, false},
		{"browser-session cookie", http.Cookie{Value: "v"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isClearing(&tt.cookie); got != tt.want {
				t.Errorf("isClearing = %v, want %v", got, tt.want)
			}
		})
	}
}
