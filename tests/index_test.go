package tests

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/apptest"
	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/redisstore"
	"github.com/hexchi/starter/internal/auth/session/sessiontest"
)

// TestGroupIndexOnRedis: on a real Redis and on a Cluster, the group index
// holds live sessions only (48 hourly logins that live 6 hours each leave 6
// members, not 48), and an index an earlier version wrote as a plain set
// still reaches its sessions.
func TestGroupIndexOnRedis(t *testing.T) {
	clients := map[string]func(t *testing.T) redis.UniversalClient{
		"single node": func(t *testing.T) redis.UniversalClient { return newClient(t, redisAddr(t)) },
		"cluster": func(t *testing.T) redis.UniversalClient {
			c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: startCluster(t), ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = c.Close() })
			return c
		},
	}
	for name, newRedis := range clients {
		t.Run(name, func(t *testing.T) {
			rdb := newRedis(t)
			prefix := keyPrefix()
			t.Cleanup(func() { deleteKeys(t, rdb, keysUnder(t, rdb, prefix)) })
			clock := sessiontest.ServerClock()
			store := redisstore.New(rdb, redisstore.WithKeyPrefix(prefix), redisstore.WithClock(clock.Now))

			indexLen := func(group string) int {
				t.Helper()
				n, err := rdb.ZCard(t.Context(), prefix+"g:"+digest(group)).Result()
				if err != nil {
					t.Fatalf("ZCARD of %s's index: %v", group, err)
				}
				return int(n)
			}
			for i := range 48 {
				rec := record(clock.Now(), "hourly", 6*time.Hour)
				if _, err := store.Create(t.Context(), newHandle(), rec, session.CreateOptions{}); err != nil {
					t.Fatalf("login %d: %v", i+1, err)
				}
				if n, want := indexLen("hourly"), min(i+1, 6); n != want {
					t.Fatalf("after %d hourly logins the index holds %d members, want the %d live ones", i+1, n, want)
				}
				clock.Advance(time.Hour)
			}

			// A session deleted behind the index's back (TTL, or a flush)
			// drops out of the listing and of the index; on Cluster only
			// after a second look, since a listing may race a Create.
			live := newHandle()
			if _, err := store.Create(t.Context(), live, record(clock.Now(), "pruned", time.Hour), session.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			gone := newHandle()
			if _, err := store.Create(t.Context(), gone, record(clock.Now(), "pruned", time.Hour), session.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			rdb.Del(t.Context(), prefix+"s:"+gone)
			if members, err := store.ListGroup(t.Context(), "pruned"); err != nil || len(members) != 1 || members[0].Handle != live {
				t.Errorf("ListGroup with a record gone = %v, %v; want the live one only", members, err)
			}
			if n := indexLen("pruned"); n != 1 {
				t.Errorf("the index keeps %d members after the listing, want the live one", n)
			}

			// An old index: a plain set, as the store wrote before.
			var old []string
			for range 2 {
				h := newHandle()
				rec := record(clock.Now(), "", time.Hour)
				if _, err := store.Create(t.Context(), h, rec, session.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				if err := rdb.HSet(t.Context(), prefix+"s:"+h, "g", "legacy").Err(); err != nil {
					t.Fatal(err)
				}
				old = append(old, h)
			}
			gkey := prefix + "g:" + digest("legacy")
			if err := rdb.SAdd(t.Context(), gkey, old[0], old[1]).Err(); err != nil {
				t.Fatal(err)
			}
			// Its TTL on the store's clock, as in production, where the store
			// and Redis share the time (this one's runs 49 hours ahead).
			rdb.PExpireAt(t.Context(), gkey, clock.Now().Add(2*time.Hour))
			members, err := store.ListGroup(t.Context(), "legacy")
			if err != nil || len(members) != 2 {
				t.Fatalf("ListGroup of an old index = %d members, %v; want its 2 sessions", len(members), err)
			}
			if typ := rdb.Type(t.Context(), gkey).Val(); typ != "zset" {
				t.Errorf("the old index is a %s after ListGroup, want a zset", typ)
			}
			if n, err := store.DeleteGroup(t.Context(), "legacy", ""); err != nil || n != 2 {
				t.Errorf("DeleteGroup of the migrated index = %d, %v; want 2", n, err)
			}
		})
	}
}

// TestSessionCapOnRedis: through the app on a real Redis, 22 logins of one
// user leave the 20 newest (core.auth.session.maxSessionsPerGroup); the two
// oldest are logged out.
func TestSessionCapOnRedis(t *testing.T) {
	t.Setenv("CORE_AUTH_LOGIN_PER_CLIENT", "100")
	t.Setenv("CORE_AUTH_LOGIN_PER_USERNAME", "100")
	srv, _ := appOnRedis(t, redisAddr(t))
	clients := make([]*apptest.Client, 22)
	for i := range clients {
		clients[i] = apptest.NewClient(t, srv.URL)
		login(t, clients[i])
	}
	for i, c := range clients {
		want := http.StatusOK
		if i < 2 {
			want = http.StatusUnauthorized
		}
		if got := status(c, http.MethodGet, "/api/v1/me"); got != want {
			t.Errorf("login %d of 22: GET /me = %d, want %d", i+1, got, want)
		}
	}
	r := clients[21].Do(http.MethodGet, "/api/v1/auth/sessions", nil, "")
	if n := bytes.Count(r.Body, []byte(`"handle"`)); r.Status != http.StatusOK || n != 20 {
		t.Errorf("GET /auth/sessions = %d with %d sessions, want 200 with 20", r.Status, n)
	}
	if n := strings.Count(srv.Logs.String(), "session evicted"); n != 2 {
		t.Errorf("%d evictions logged, want 2", n)
	}
}

// record is a session record created now in group, living for lifetime.
func record(now time.Time, group string, lifetime time.Duration) *session.Record {
	now = now.Truncate(time.Millisecond)
	return &session.Record{
		Created: now, LastSeen: now, Expires: now.Add(lifetime), ExpireAt: now.Add(lifetime),
		Group: group, Values: map[string][]byte{"user": []byte(`"x"`)},
	}
}

// newHandle is a handle shaped like the Manager's.
func newHandle() string { return digest(rand.Text()) }

// digest is base64url(SHA-256(s)), how the store names handles and groups.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
