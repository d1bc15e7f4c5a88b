package auth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// hash returns a bcrypt hash of password at cost, failing the test on error.
func hash(t *testing.T, password string, cost int) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestDemoDirectoryAuthenticate(t *testing.T) {
	d, err := NewDemoDirectory([]string{
		"demo:" + hash(t, "hexchi-demo", bcrypt.MinCost),
		"ann:" + hash(t, "correct horse", bcrypt.MinCost),
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		username, password string
		want               User
		wantErr            error
	}{
		"right password":             {username: "demo", password: "hexchi-demo", want: User{ID: "demo", Name: "demo"}},
		"another user":               {username: "ann", password: "correct horse", want: User{ID: "ann", Name: "ann"}},
		"wrong password":             {username: "demo", password: "hexchi-dem0", wantErr: ErrBadCredentials},
		"another user's password":    {username: "ann", password: "hexchi-demo", wantErr: ErrBadCredentials},
		"empty password":             {username: "demo", password: "", wantErr: ErrBadCredentials},
		"unknown user":               {username: "nobody", password: "hexchi-demo", wantErr: ErrBadCredentials},
		"username in another case":   {username: "Demo", password: "hexchi-demo", wantErr: ErrBadCredentials},
		"the dummy hash's password":  {username: "nobody", password: "no user has this password", wantErr: ErrBadCredentials},
		"a user named like an entry": {username: "demo:x", password: "hexchi-demo", wantErr: ErrBadCredentials},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := d.Authenticate(t.Context(), tc.username, tc.password)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Errorf("Authenticate(%q, %q) = %+v, %v; want %+v, %v", tc.username, tc.password, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestDemoDirectoryCancelled(t *testing.T) {
	d, err := NewDemoDirectory([]string{"demo:" + hash(t, "hexchi-demo", bcrypt.MinCost)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := d.Authenticate(ctx, "demo", "hexchi-demo"); !errors.Is(err, context.Canceled) {
		t.Errorf("Authenticate with a cancelled context = %v, want context.Canceled", err)
	}
}

// TestDemoDirectoryDummyCost checks the defence against username
// enumeration: an unknown user is compared against the dummy hash, which
// must cost as much as the dearest real one, or a fast "wrong password"
// would tell that the username does not exist. Timing is too noisy to
// assert; the cost of the hash is what sets the time.
func TestDemoDirectoryDummyCost(t *testing.T) {
	tests := map[string]struct {
		costs    []int
		wantCost int
	}{
		"one user":                   {costs: []int{bcrypt.MinCost}, wantCost: bcrypt.MinCost},
		"the dearest of several":     {costs: []int{bcrypt.MinCost, bcrypt.MinCost + 2, bcrypt.MinCost + 1}, wantCost: bcrypt.MinCost + 2},
		"no users: bcrypt's default": {wantCost: bcrypt.DefaultCost},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var entries []string
			for i, cost := range tc.costs {
				entries = append(entries, "user"+string(rune('a'+i))+":"+hash(t, "pw", cost))
			}
			d, err := NewDemoDirectory(entries)
			if err != nil {
				t.Fatal(err)
			}
			if cost, err := bcrypt.Cost(d.dummy); err != nil || cost != tc.wantCost {
				t.Errorf("dummy hash cost = %d (%v), want %d", cost, err, tc.wantCost)
			}
		})
	}
}

func TestNewDemoDirectoryRejects(t *testing.T) {
	good := hash(t, "pw", bcrypt.MinCost)
	tests := map[string]struct {
		entries []string
		wantErr string
	}{
		"no colon":       {entries: []string{"demo"}, wantErr: "user 1: want username:bcrypt-hash"},
		"no username":    {entries: []string{":" + good}, wantErr: "user 1: want username:bcrypt-hash"},
		"not bcrypt":     {entries: []string{"demo:secret"}, wantErr: `user "demo": bcrypt hash`},
		"no hash":        {entries: []string{"demo:"}, wantErr: `user "demo": bcrypt hash`},
		"a bad 2nd user": {entries: []string{"demo:" + good, "ann"}, wantErr: "user 2:"},
		"a duplicate":    {entries: []string{"demo:" + good, "demo:" + good}, wantErr: `user "demo" is listed twice`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, err := NewDemoDirectory(tc.entries)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewDemoDirectory = %v, %v; want an error with %q", d, err, tc.wantErr)
			}
			if strings.Contains(err.Error(), good) {
				t.Errorf("the error %q shows a password hash", err)
			}
		})
	}
}
