package redisstore

import (
	"regexp"
	"testing"
)

// scriptSources are all the Lua the store sends.
var scriptSources = map[string]string{
	"touch":    touchSrc,
	"insert":   insertSrc,
	"groupAdd": groupAddSrc,
	"migrate":  migrateGroupLua,
	"remove":   groupRemoveSrc,
	"patch":    patchSrc,
}

var (
	keysRef   = regexp.MustCompile(`KEYS\[[^\]]*\]|#KEYS|KEYS\b`)
	redisCall = regexp.MustCompile(`redis\.p?call\(\s*'(\w+)'\s*(?:,\s*([^,)]+))?`)
)

// TestScriptsAreSingleKey is the static half of the Cluster-safety check
// (the dynamic half is roundTrips.checkKeys, which watches every command
// the tests send): each script names KEYS[1] and no other key, and every
// command it runs is on KEYS[1]. A script that reached a second key would
// fail with CROSSSLOT on Redis Cluster, or, worse, work in tests and on a
// single node.
func TestScriptsAreSingleKey(t *testing.T) {
	for name, src := range scriptSources {
		t.Run(name, func(t *testing.T) {
			for _, ref := range keysRef.FindAllString(src, -1) {
				if ref != "KEYS[1]" {
					t.Errorf("script uses %s; only KEYS[1] is allowed", ref)
				}
			}
			calls := redisCall.FindAllStringSubmatch(src, -1)
			if len(calls) == 0 {
				t.Fatal("no redis.call found; is the pattern out of date?")
			}
			for _, c := range calls {
				if c[2] != "KEYS[1]" {
					t.Errorf("redis.call('%s', %s, ...): the first argument must be KEYS[1]", c[1], c[2])
				}
			}
		})
	}
}
