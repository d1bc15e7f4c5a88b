package apps

import (
	"regexp"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/auth/session/redisstore"
)

func TestNewRejectsBadConfig(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	defer client.Close()
	for name, tc := range map[string]struct {
		lib Library
		cfg Config
	}{
		"no client":         {Hexchi, Config{}},
		"negative idle":     {SCS, Config{Redis: client, IdleTimeout: -time.Second}},
		"gorilla idle":      {Gorilla, Config{Redis: client, IdleTimeout: time.Minute}},
		"unknown library":   {Library("beego"), Config{Redis: client}},
		"negative lifetime": {Hexchi, Config{Redis: client, Lifetime: -time.Second}},
		"scs near cache":    {SCS, Config{Redis: client, NearCache: &redisstore.NearCache{}}},
		"gorilla secret":    {Gorilla, Config{Redis: client, Secret: []byte("k")}},
	} {
		if _, err := New(tc.lib, tc.cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The forged cookies must look real to each library, or the forged-cookie
// figures would measure a format check instead of a guessed id.
func TestForgedCookiesHaveTheRealShape(t *testing.T) {
	for _, tc := range []struct {
		name   string
		forged func() string
		shape  string
	}{
		{"hexchi", forgedHexchi, `^[A-Za-z0-9_-]{43}\.([A-Za-z0-9]|%2B|%2F){43,}$`},
		{"scs", forgedSCS, `^[A-Za-z0-9_-]{43}$`},
		{"gorilla", forgedGorilla, `^[A-Z2-7]{103}$`},
	} {
		v := tc.forged()
		if !regexp.MustCompile(tc.shape).MatchString(v) {
			t.Errorf("%s: %q does not match %s", tc.name, v, tc.shape)
		}
		if v == tc.forged() {
			t.Errorf("%s: two forged values are equal", tc.name)
		}
	}
}

func TestNoSessionNeedsNoConfig(t *testing.T) {
	app, err := New(NoSession, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if app.Handler == nil || app.CookieName != "" || app.Store != nil || app.Close() != nil {
		t.Errorf("no-session app: %+v", app)
	}
}
