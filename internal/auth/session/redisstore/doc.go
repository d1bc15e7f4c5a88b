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
