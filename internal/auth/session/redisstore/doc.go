// Package redisstore is the Redis implementation of session.Store. It takes
// a go-redis UniversalClient, so the same code runs on a single node, behind
// Sentinel and on Redis Cluster. It needs Redis 7.0 or later (PEXPIRETIME).
//
// # Key layout
//
// Every key starts with the prefix (WithKeyPrefix, default "hexchi:"). A
// handle is base64url(SHA-256(session id)), so nothing below yields a usable
// cookie.
//
//	<prefix>s:<handle>    hash, one per session, PEXPIREAT = ExpireAt
//	<prefix>g:<digest>    sorted set of handles, one per group, each scored by its
//	                      deadline (unix ms); digest = base64url(SHA-256(group))
//
// Fields of a session hash (times are unix milliseconds, in decimal):
//
//	c       Created
//	e       Expires (the absolute deadline)
//	s       LastSeen
//	x       ExpireAt (the same instant as the key's PEXPIREAT, kept so that a
//	        load returns it without a second command)
//	a       AuthTime, absent when zero
//	p       Persistence: b (browser session) or e (until Expires), absent for the default
//	g       Group, absent when ""
//	ua      UserAgent, absent when ""
//	v:<n>   Values[n], the JSON value as stored by the Manager
//
// The group key is a digest because a group is a user id: hashing bounds
// the key's length and keeps personal data out of key names, which SCAN,
// MONITOR and the slow log show. (The g field holds the group itself, for
// Load to return.) The sorted set holds the handles of the group's
// sessions, each scored by its deadline (the later of Expires and
// ExpireAt). Every Create into the group removes the members whose deadline
// has passed, in the same script, so the index holds no more members than
// the group has sessions within their lifetime, however often its user logs
// in; past the group limit it picks the members with the earliest deadlines
// to end. Its TTL is extended, never shortened, to the latest deadline of a
// member added to it, so the index outlives every session it lists. Members
// whose session ended before its deadline (logged out behind the index's
// back, or idle) are removed by ListGroup and DeleteGroup.
//
// An index written by an earlier version of the store, a plain set, is
// turned into a sorted set the first time it is used, each member scored by
// the set's TTL, which that version kept at or after every member's
// deadline.
//
// To look at a session with redis-cli:
//
//	HGETALL hexchi:s:<handle>
//	PEXPIRETIME hexchi:s:<handle>
//
// # Round trips
//
//	Load              1  HGETALL
//	Load with touch   1  EVALSHA: HGETALL, and HSET + PEXPIREAT when the touch is due
//	Create            1  pipeline: EVAL insert, EVAL group-add, DEL (+ ZREM, other group) of the replaced session
//	                  2  past the group limit: then a pipeline of DEL per evicted session and one ZREM
//	Patch             1  EVALSHA
//	Delete            1  pipeline: DEL, ZREM
//	ListGroup         2  ZRANGE BYSCORE, pipeline of HMGET (3 when it prunes: ZREM)
//	DeleteGroup       2  ZRANGE, pipeline of HGET x + DEL per member and one ZREM
//
// EVALSHA fails with NOSCRIPT the first time a script runs on a node after a
// restart or SCRIPT FLUSH; go-redis then sends EVAL, which costs one more
// round trip, once per script and node.
//
// With the near cache, a Load of a cached record costs 0, or 1 (the touch
// script) when its idle touch is due; every write costs what it costs
// without, and drops the records it changed from this process's cache.
//
// # Near cache
//
// WithNearCache keeps the records this process has read in its memory and
// serves them again without a round trip. Redis keeps the copies honest:
// a connection of the store's own (the subscriber) turns on client tracking
// in broadcast mode for the session keys and listens for invalidations,
//
//	CLIENT TRACKING ON REDIRECT <its own id> BCAST PREFIX <prefix>s:
//	SUBSCRIBE __redis__:invalidate
//
// so that every change of a session key, by any process, by a script or by
// expiry, drops the key's copy in every process, once Redis has run it.
// What keeps the cache coherent:
//
//   - Read-your-writes: the store's own writes (Create, Patch, Delete,
//     DeleteGroup, an eviction, a due touch) drop the keys they change once
//     the write has run, before they return: dropped before, a load in
//     between could read and keep what the write replaced. A load that misses reserves its key before it asks Redis, and
//     keeps what Redis answered only if nothing dropped the key meanwhile,
//     so a read that raced a write never stores what the write replaced.
//   - Other processes see a change once its invalidation arrives (tests/
//     measures the lag) and, whatever happens to it, MaxStaleness after the
//     copy was read: the hard bound.
//   - The cache serves only while the subscriber is subscribed, and is
//     emptied when it loses or regains its connection. A connection that
//     stops answering without failing is given up after 3 s of silence.
//   - Expiry: ExpireAt is checked on every load, against the store's clock.
//   - Memory: at most MaxEntries records and about MaxBytes of them, least
//     recently used first out; a record bigger than MaxBytes is not kept.
//     Loads return copies.
//
// A store's own writes come back as invalidations too, a moment after the
// write: the copy that the next load makes may be dropped again by them,
// which costs a round trip, never a stale read.
//
// A FLUSHALL or FLUSHDB empties the cache, which keeps serving. A failover
// that moves one address (a DNS name, a virtual IP) to a new primary while
// the old one stays up is not seen: the subscriber may stay on the demoted
// node, which answers its pings and sends nothing, and only MaxStaleness
// bounds what the cache serves.
//
// It runs on a single-node *redis.Client. On Redis Cluster, behind
// Sentinel, and on a Redis that refuses tracking, the store runs uncached,
// and NearCacheStats().DisabledBecause says why; a refusal is logged once,
// as an error. The subscriber connects as the client's user, which needs,
// besides the store's own commands:
//
//	+client|id +client|tracking +subscribe +ping &__redis__:invalidate
//
// Redis 7 gives a new user no channel at all (acl-pubsub-default
// resetchannels): a user with +@all still needs &__redis__:invalidate.
// Close turns the cache off: once closed, the store reads from Redis.
//
// # Redis Cluster
//
// Every script touches exactly one key (KEYS[1]), and no command names more
// than one key. Work on several keys is a pipeline, which go-redis splits by
// node. The keys of one session therefore never need to share a slot, and
// the prefix must not contain a hash tag ("{...}") unless you want every
// session in one slot.
//
// A pipeline is not a transaction: when one of its commands fails, the
// others may have run. Each operation is written so that such a partial
// outcome is still one the contract allows (see Store.Create).
//
// # Clocks
//
// Every decision the contract leaves to the store (is a record past its
// ExpireAt, is a touch due, does a Patch delete) is taken with the store's
// clock (WithClock) or the Manager's touch.Now, never with Redis's TIME, so
// the store and the Manager always agree. Redis's clock only decides when
// a key is collected.
package redisstore
