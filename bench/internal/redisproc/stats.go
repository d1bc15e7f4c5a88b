package redisproc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Stats is what redis-server says of its own work so far, from INFO.
type Stats struct {
	// CPU is used_cpu_sys + used_cpu_user of INFO cpu: the process's
	// system and user CPU time, all threads, in microseconds.
	CPU time.Duration
	// Scripts is the time Redis spent running Lua (EVAL, EVALSHA and their
	// read-only forms, FCALL), from INFO commandstats: the usec of those
	// commands, which include the commands the scripts call. It is part of
	// CPU.
	Scripts time.Duration
	// ScriptCalls is how many scripts ran.
	ScriptCalls int64
}

// Sub returns the work done between an earlier reading and s.
func (s Stats) Sub(earlier Stats) Stats {
	return Stats{CPU: s.CPU - earlier.CPU, Scripts: s.Scripts - earlier.Scripts, ScriptCalls: s.ScriptCalls - earlier.ScriptCalls}
}

// Stats reads INFO cpu and INFO commandstats: one round trip on a
// connection of its own. The INFO command itself costs Redis some tens of
// microseconds, which a reading over seconds of load can ignore.
func (s *Server) Stats(ctx context.Context) (Stats, error) {
	if s.info == nil {
		return Stats{}, errors.New("redis stats: server not started")
	}
	info, err := s.info.Info(ctx, "cpu", "commandstats").Result()
	if err != nil {
		return Stats{}, fmt.Errorf("redis stats: INFO: %w", err)
	}
	return parseStats(info)
}

// scriptCommands are the commandstats entries that run Lua.
var scriptCommands = map[string]bool{
	"eval": true, "evalsha": true, "eval_ro": true, "evalsha_ro": true, "fcall": true, "fcall_ro": true,
}

// parseStats reads the fields of Stats from an INFO reply.
func parseStats(info string) (Stats, error) {
	var st Stats
	for _, name := range []string{"used_cpu_sys", "used_cpu_user"} {
		v := infoField(info, name)
		sec, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return Stats{}, fmt.Errorf("redis stats: %s is %q", name, v)
		}
		st.CPU += time.Duration(math.Round(sec*1e6)) * time.Microsecond
	}
	for line := range strings.SplitSeq(info, "\n") {
		name, fields, ok := strings.Cut(strings.TrimSpace(line), ":")
		cmd, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd || !scriptCommands[cmd] {
			continue
		}
		for f := range strings.SplitSeq(fields, ",") {
			k, v, _ := strings.Cut(f, "=")
			n, err := strconv.ParseInt(v, 10, 64)
			switch {
			case k != "calls" && k != "usec":
				continue
			case err != nil:
				return Stats{}, fmt.Errorf("redis stats: %s %s is %q", name, k, v)
			case k == "calls":
				st.ScriptCalls += n
			default:
				st.Scripts += time.Duration(n) * time.Microsecond
			}
		}
	}
	return st, nil
}
