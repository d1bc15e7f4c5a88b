package auth

import (
	"encoding/json"
	"testing"
)

func TestDecodeSessionData(t *testing.T) {
	// Sessions stored before the session module kept the login time have
	// it in their data; it is ignored.
	const authAt = `"authAt":"2026-03-14T15:09:26Z"`
	tests := map[string]struct {
		stored  string
		want    SessionData
		wantErr bool
	}{
		"anonymous":              {stored: `{}`, want: SessionData{}},
		"anonymous with a theme": {stored: `{"theme":"dark"}`, want: SessionData{Theme: "dark"}},
		"logged in": {
			stored: `{"userId":"u1","username":"ann"}`,
			want:   SessionData{UserID: "u1", Username: "ann"},
		},
		"logged in, stored with a login time": {
			stored: `{"userId":"u1","username":"ann",` + authAt + `}`,
			want:   SessionData{UserID: "u1", Username: "ann"},
		},
		"logged in with a theme": {
			stored: `{"userId":"u1","username":"ann",` + authAt + `,"theme":"light"}`,
			want:   SessionData{UserID: "u1", Username: "ann", Theme: "light"},
		},
		"logged in with a counter": {
			stored: `{"userId":"u1","username":"ann",` + authAt + `,"counter":3}`,
			want:   SessionData{UserID: "u1", Username: "ann", Counter: 3},
		},
		"a zero counter": {stored: `{"counter":0}`, want: SessionData{}},
		// A rolling deploy runs old and new versions side by side: a field
		// only the newer one knows must not log its users out.
		"a field of a newer version": {stored: `{"theme":"dark","avatar":"a.png"}`, want: SessionData{Theme: "dark"}},

		"not JSON":                     {stored: `{"userId":`, wantErr: true},
		"not an object":                {stored: `["u1"]`, wantErr: true},
		"a field of the wrong type":    {stored: `{"userId":7}`, wantErr: true},
		"a user id without a username": {stored: `{"userId":"u1"}`, wantErr: true},
		"a username without a user id": {stored: `{"username":"ann"}`, wantErr: true},
		"an unknown theme":             {stored: `{"theme":"neon"}`, wantErr: true},
		"a theme of the wrong case":    {stored: `{"theme":"Dark"}`, wantErr: true},
		"a negative counter":           {stored: `{"counter":-1}`, wantErr: true},
		"a counter that is no integer": {stored: `{"counter":1.5}`, wantErr: true},
		"a counter that is a string":   {stored: `{"counter":"3"}`, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeSessionData([]byte(tc.stored))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("decoded %s as %+v, want an error", tc.stored, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("decode %s: %v", tc.stored, err)
			}
			if !sameData(*got, tc.want) {
				t.Errorf("decoded %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestSessionDataRoundTrip: what the app stores, it reads back, and an
// anonymous session's JSON holds no fields at all.
func TestSessionDataRoundTrip(t *testing.T) {
	tests := map[string]struct {
		data     SessionData
		wantJSON string
		authed   bool
		group    string
	}{
		"new":       {data: *NewSessionData(), wantJSON: `{}`},
		"anonymous": {data: SessionData{Theme: "dark"}, wantJSON: `{"theme":"dark"}`},
		"logged in": {
			data:     SessionData{UserID: "u1", Username: "ann"},
			wantJSON: `{"userId":"u1","username":"ann"}`,
			authed:   true, group: "u1",
		},
		"with a counter": {
			data:     SessionData{UserID: "u1", Username: "ann", Theme: "dark", Counter: 7},
			wantJSON: `{"userId":"u1","username":"ann","theme":"dark","counter":7}`,
			authed:   true, group: "u1",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.data.IsAuthenticated() != tc.authed || tc.data.SessionGroupID() != tc.group {
				t.Errorf("authenticated %v, group %q; want %v, %q",
					tc.data.IsAuthenticated(), tc.data.SessionGroupID(), tc.authed, tc.group)
			}
			b, err := json.Marshal(&tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.wantJSON {
				t.Errorf("JSON = %s, want %s", b, tc.wantJSON)
			}
			got, err := DecodeSessionData(b)
			if err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			if !sameData(*got, tc.data) {
				t.Errorf("read back %+v, want %+v", got, tc.data)
			}
		})
	}
}

// sameData compares session data.
func sameData(a, b SessionData) bool { return a == b }
