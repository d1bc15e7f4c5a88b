package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/hexchi/starter/bench/internal/measure"
)

// writeMethod says how every figure was measured, with the run's own
// settings, so that a reader can judge them and rerun them.
func (r *Results) writeMethod(w *strings.Builder) {
	c := r.Run
	w.WriteString("## Method\n\n")
	w.WriteString("**The apps** (`bench/internal/apps`) have the same routes and handlers; only the session calls differ. " +
		"`POST /login` sets the user id (hexchi: setting it authenticates the session, which moves it to a new id; " +
		"scs: `RenewToken`, then `Put`, as its README says; gorilla: set the value and `Save`, since it has no way to change the id). " +
		"`GET /read` reads the user id. `POST /write` sets one field to a new value. " +
		"Each library runs with its defaults (scs: gob codec, tokens stored in clear; gorilla: gob, unsigned id cookie), " +
		"except that gorilla gets `HttpOnly` and `SameSite=Lax` like the others, and hexchi's event log goes to a discarding handler, " +
		"since the other two log nothing. hexchi's session group is the user id, as in the demo app, so its login also indexes " +
		"the session for \"my sessions\": work the others do not do. Every go-redis client has the same options.\n\n")
	w.WriteString("**The near cache.** The *near cache* setups build hexchi's store with `redisstore.WithNearCache` and its defaults " +
		"(10 000 records, 16 MiB, MaxStaleness 2 s) on the same single-node client. The store keeps the records this process read and " +
		"serves them with no round trip until Redis's broadcast tracking (`CLIENT TRACKING ... BCAST` on a subscriber connection of its own) " +
		"says a key under its prefix changed, or MaxStaleness passes; it drops what it writes itself at once. With the idle timeout on, " +
		"a hit whose touch is not due needs no script either. Each app is measured only once its subscriber has subscribed (before that the " +
		"store reads Redis). Every setup's key prefix is its own and none is the start of another's, so a near cache is told only of its own " +
		"app's writes; every write to Redis still costs it the lookup in the tracking table of prefixes.\n\n")
	w.WriteString("**The ceiling.** *no session* is the same router and handlers with no session library, served and loaded the same way " +
		"(`bench/internal/apps`: every request sees the user \"ann\", and changes go nowhere): no library can be faster, and a setup's " +
		"*share of the ceiling* says how much of the machine's HTTP throughput it leaves. It runs in every load round, idle timeout off and " +
		"on alike (it has none), so that each setup is compared with the ceiling of its own rounds.\n\n")
	fmt.Fprintf(w, "**Idle timeout.** \"idle\" setups use an idle timeout of %s. hexchi then refreshes a session at most every "+
		"max(1 min, idle/10) = %s, by a metadata-only touch in the load's round trip; scs re-saves the whole session on every request. "+
		"gorilla/sessions has no idle timeout (a store's TTL is MaxAge from the last `Save`), so it appears only with the idle timeout off.\n\n",
		human(measure.IdleTimeout), human(max(time.Minute, measure.IdleTimeout/10)))
	w.WriteString("**Round trips** are counted, not inferred: each app's go-redis client connects through a TCP proxy " +
		"(`bench/internal/rtproxy`) that counts *turns*. A round trip starts when the client sends bytes after the server last sent some; " +
		"a pipeline is written in one turn and answered in one, so it counts once, and a Lua script is one command (EVAL or EVALSHA), " +
		"so it counts once whatever it runs inside Redis. The proxy also parses the client's RESP stream to name the commands of each round trip. " +
		"Requests run one at a time, so the turns between two requests are that request's. Every request kind is run once first, " +
		"so that each script is loaded (the first EVALSHA on a fresh Redis answers NOSCRIPT and costs one more round trip), " +
		"and then measured 3 times; a range like `1–2` would mean the 3 disagreed. " +
		"(Redis's `INFO commandstats` was not used: it counts commands, also those a script runs, but cannot tell a pipeline from separate round trips.)\n\n")
	fmt.Fprintf(w, "**Allocations and time per request** are `testing.B` benchmarks (`bench/internal/measure`, run here through "+
		"`testing.Benchmark` with `-benchtime %s`, %s of all of them in turn, median kept; a run during which other processes "+
		"took more than %s of the CPU is tried up to twice more and the least disturbed try kept): a new `httptest` request and recorder per iteration, served in-process by the app, "+
		"whose store talks to the real Redis over loopback without the proxy. ns/op is wall time and so includes the Redis round trips. "+
		"CPU/op is this process's user+system time over the loop: go-redis, the GC and the scheduler included, Redis not. "+
		"A benchmark that waits for Redis one request at a time also pays for the runtime spinning and waking up around each wait, "+
		"so compare CPU/op between rows, not with the load runs. "+
		"The *baseline* row is the same router and handlers with no session library: subtract it to get a library's own cost. "+
		"A login starts from a stored anonymous session, made before the timer starts.\n\n", human(c.BenchTime), plural(c.BenchCount, "run"), percent(c.MaxOtherLoad))
	fmt.Fprintf(w, "**Throughput and latency** come from an in-process load generator: %d concurrent clients, each with its own "+
		"keep-alive connection and logged-in session, send requests back to back to the app served by `httptest.NewServer` on 127.0.0.1. "+
		"Each run has %s of unrecorded warm-up and %s of measurement. The setups run interleaved, in rounds of hexchi, hexchi with the "+
		"near cache, scs, gorilla (idle timeout off, in the first %d rounds only) and no session, %s per request kind and idle setting. "+
		"The tables give the median of the runs, and *vs scs* is the median of the per-round ratios of a setup's throughput to scs's "+
		"(same request, same idle setting), which cancels drift between rounds; *share of the ceiling* is the same against *no session*. "+
		"Latency is measured by the client, so it includes HTTP; CPU per request is over the measured window, for this process "+
		"(server, library, go-redis and the load generator, whose share is the same for every library, from `getrusage`) and for "+
		"redis-server (from its `INFO cpu`). *near cache hits* is the share of the window's session loads that the near cache served. "+
		"A read-only run logs every client in before its window, so each client's first read is a miss, and so is one read per client "+
		"every MaxStaleness (2 s); every request of a modifying run follows the client's own write, which drops its record from the cache. "+
		"Client, server and Redis share the machine's %d CPUs, so absolute figures are low; compare the ratios. "+
		"*Other load* is the share of the machine's CPU time that other processes used during a run's window "+
		"(from `/proc/stat`, less this process and Redis). A round with a run above %s is discarded (still listed) "+
		"and run again, up to %s more per request kind and idle setting; if every round was discarded, all are used.\n\n",
		c.Clients, human(c.Warmup), human(c.Duration), c.GorillaReps, plural(c.Reps, "round"), r.Machine.CPUs,
		percent(c.MaxOtherLoad), plural(c.Reps, "round"))
	w.WriteString("**Correctness** checks (`bench/internal/measure/correctness.go`) are the rows of the acceptance table in the " +
		"session research (§6.9), run on the same apps and Redis, through the counting proxy. A request is held *in flight* by a gate " +
		"in the `/hold/` routes, between its session load and its use of the session, while the check runs other requests: " +
		"the order of events is forced, not left to timing. The deadline check uses apps whose sessions live 1 s " +
		"(gorilla's MaxAge cannot be shorter), holds a modifying request that loaded the session before the deadline until 0.3 s after it, " +
		"then asks whether the session still works and reads its key's TTL. The near cache setups run every check as the others do; " +
		"their apps wait for their subscriber first, and a check reads through the cache wherever a request would.\n\n")
}
