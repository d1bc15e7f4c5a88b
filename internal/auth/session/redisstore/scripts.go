package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts. Each one reads and writes KEYS[1] only, so Redis Cluster
// can run it on the node that owns that key (a script that touched two keys
// would need them in one slot). scripts_test.go checks this.
//
// Times arrive as decimal unix milliseconds in ARGV and are compared with
// tonumber: Lua numbers are doubles, exact for integers up to 2^53, which in
// milliseconds is some 285 000 years either side of 1970. A time that is
// written back is always one of the strings the store sent, never a number
// formatted by Lua, so Redis holds exactly the decimal the store wrote.

// touchSrc loads a session and, when the idle touch is due, refreshes it,
// in one round trip. It returns the hash as HGETALL does (a flat list of
// field, value), as it is after the touch, or an empty list when the key
// does not exist.
//
// The touch is due under the condition of session.Store.Load, plus now < x:
// a record past its ExpireAt is gone (Load returns ErrNotFound for it), and
// a touch must not bring it back in the moment before Redis collects it,
// for instance after the idle timeout was raised. A record whose c, e, s or
// x is missing or not a decimal integer of at most 16 characters (the store
// writes 13 for today's dates) is returned untouched for the store to
// report as corrupt: the script never writes into a record the store
// cannot read.
//
//	KEYS[1]  session hash
//	ARGV[1]  touch.Now (ms)
//	ARGV[2]  touch.Idle (ms)
//	ARGV[3]  touch.Every (ms)
//	ARGV[4]  touch.Now + touch.Idle (ms)
const touchSrc = `
local h = redis.call('HGETALL', KEYS[1])
local at = {}
for i = 1, #h, 2 do at[h[i]] = i + 1 end
local function ms(i)
  local v = i and h[i]
  if v and #v <= 16 and string.match(v, '^%-?%d+$') then return tonumber(v) end
end
local e, s, x0 = ms(at.e), ms(at.s), ms(at.x)
if not (e and s and x0 and ms(at.c)) then return h end
local now, idle, every = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if not (now < e and now < x0 and now < s + idle and now - s >= every) then return h end
local x = ARGV[4]
if e < tonumber(x) then x = h[at.e] end
redis.call('HSET', KEYS[1], 's', ARGV[1], 'x', x)
redis.call('PEXPIREAT', KEYS[1], x)
h[at.s] = ARGV[1]
h[at.x] = x
return h
`

// insertSrc creates a session only if no live record has its key: the
// insert-only half of the contract. A key whose x (ExpireAt) is not after
// ARGV[1], the store's now, is dead by the store's clock even if Redis has
// not collected it yet, and is replaced; a key the store cannot read (no x,
// or not a number) counts as live and is never overwritten. It returns 1
// when it wrote the record and 0 when a live one was there (ErrExists).
//
//	KEYS[1]  session hash
//	ARGV[1]  the store's now (ms)
//	ARGV[2]  ExpireAt (ms)
//	ARGV[3:] field, value, field, value, ...
const insertSrc = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  local x = tonumber(redis.call('HGET', KEYS[1], 'x'))
  if not x or x > tonumber(ARGV[1]) then return 0 end
  redis.call('DEL', KEYS[1])
end
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
`

// migrateGroupLua turns a group index written by an earlier version of the
// store, a plain set of handles, into the sorted set this one keeps. The
// members get the set's own PEXPIRETIME as their deadline, which the old
// store kept at or after every member's; a set without a TTL, which the old
// store never wrote, gives them a deadline far in the future, and ListGroup
// prunes those whose record is gone. It is a prologue of the scripts that
// use the index, and a script of its own for ListGroup and DeleteGroup.
const migrateGroupLua = `
if redis.call('TYPE', KEYS[1]).ok == 'set' then
  local handles = redis.call('SMEMBERS', KEYS[1])
  local ttlAt = redis.call('PEXPIRETIME', KEYS[1])
  local score = ttlAt
  if ttlAt <= 0 then score = 4503599627370496 end
  redis.call('DEL', KEYS[1])
  for _, h in ipairs(handles) do redis.call('ZADD', KEYS[1], score, h) end
  if ttlAt > 0 then redis.call('PEXPIREAT', KEYS[1], ttlAt) end
end
`

// groupRemoveSrc removes handles (ARGV) from a group's index, migrating an
// old plain-set index first: a logout, a revoke or a login as another user
// must work on the first request after a deploy too.
//
//	KEYS[1]  group index
//	ARGV     the handles to remove
const groupRemoveSrc = migrateGroupLua + `
return redis.call('ZREM', KEYS[1], unpack(ARGV))
`

// groupAddSrc adds a handle to a group's index, a sorted set scored by each
// member's deadline, and keeps the index small in the same step:
//
//   - members whose deadline is at or before ARGV[1], the store's now, are
//     removed, so the index never holds a member past its deadline;
//   - the session this one replaces in the same group (login, renew) is
//     removed, so that it does not count toward the limit;
//   - the key's TTL is extended, never shortened, to the new member's
//     deadline: the index must outlive every session it lists;
//   - past the limit (ARGV[4], 0 for none) it picks the members with the
//     earliest deadlines, never the new one, for the store to delete. It
//     does not remove them itself: their records live on other slots, and an
//     index entry must outlive its record, or a failed delete would leave a
//     session that "log out everywhere" cannot reach.
//
// It returns {added, {handles to evict}}, where added is ZADD's answer: 1 if
// the handle was new to the index.
//
//	KEYS[1]  group index
//	ARGV[1]  the store's now (ms)
//	ARGV[2]  handle
//	ARGV[3]  its deadline (ms)
//	ARGV[4]  the group limit, 0 for none
//	ARGV[5]  the handle it replaces in this group, or ""
const groupAddSrc = migrateGroupLua + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if ARGV[5] ~= '' then redis.call('ZREM', KEYS[1], ARGV[5]) end
local added = redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
if redis.call('PEXPIRETIME', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
end
local evict = {}
local limit = tonumber(ARGV[4])
local over = redis.call('ZCARD', KEYS[1]) - limit
if limit > 0 and over > 0 then
  for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, over)) do
    if h ~= ARGV[2] and #evict < over then evict[#evict + 1] = h end
  end
end
return {added, evict}
`

// patchSrc applies a session.Patch to a live session: the update-only half
// of the contract. It returns 0 (ErrNotFound) when the key does not exist
// or its ExpireAt (x) is not after ARGV[1], the store's now, and 1 when it
// applied the patch. A new ExpireAt at or before now deletes the record
// explicitly rather than relying on PEXPIREAT with a past time, so "in the
// past" is judged by the store's clock, like everything else, and a key is
// never left without a TTL.
//
//	KEYS[1]  session hash
//	ARGV[1]  the store's now (ms)
//	ARGV[2]  new LastSeen (ms), or "" to keep it
//	ARGV[3]  new ExpireAt (ms), or "" to keep it
//	ARGV[4]  n, the number of fields to set
//	ARGV[5:5+2n]  field, value pairs to set
//	ARGV[5+2n:]   fields to delete
const patchSrc = `
local now = tonumber(ARGV[1])
local live = redis.call('HGET', KEYS[1], 'x')
live = live and tonumber(live)
if not live or live <= now then return 0 end
local x = ARGV[3]
if x ~= '' and tonumber(x) <= now then
  redis.call('DEL', KEYS[1])
  return 1
end
local last = 4 + 2 * tonumber(ARGV[4])
for i = 5, last, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
for i = last + 1, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 's', ARGV[2]) end
if x ~= '' then
  redis.call('HSET', KEYS[1], 'x', x)
  redis.call('PEXPIREAT', KEYS[1], x)
end
return 1
`

// Scripts run on their own use Run: EVALSHA, and EVAL only when the node
// does not know the script yet. insertSrc and groupAddSrc run inside the
// Create pipeline and are sent with EVAL; see Store.Create for why.
var (
	touchScript   = redis.NewScript(touchSrc)
	patchScript   = redis.NewScript(patchSrc)
	migrateScript = redis.NewScript(migrateGroupLua)
)
