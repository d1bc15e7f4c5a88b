// Package redisproc runs a throwaway redis-server for the benchmarks: on a
// free loopback port, with persistence off, in a temporary directory, and
// stopped by its owner with Close.
package redisproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running redis-server.
type Server struct {
	cmd     *exec.Cmd
	addr    string
	dir     string
	version string
	done    chan struct{} // closed when the process has exited
	output  *syncBuffer
	once    sync.Once
	err     error
	// info is the client Stats asks INFO with: one connection, opened at
	// start, so that a reading costs one round trip and no dial.
	info *redis.Client
}

// Start runs bin (a path or a name found in PATH, "" for "redis-server") and
// returns once it answers PING. It tries a few ports, because a free port
// found by listening can be taken by someone else before Redis binds it.
func Start(ctx context.Context, bin string) (*Server, error) {
	if bin == "" {
		bin = "redis-server"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("redis-server not found (install it, e.g. apt-get install redis-server): %w", err)
	}
	var errs []error
	for range 3 {
		s, err := start(ctx, path)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func start(ctx context.Context, path string) (*Server, error) {
	port, err := freePort(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hexchi-bench-redis-")
	if err != nil {
		return nil, fmt.Errorf("redis temp dir: %w", err)
	}
	s := &Server{
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		dir:    dir,
		done:   make(chan struct{}),
		output: &syncBuffer{},
	}
	// The process belongs to the Server, whose Close stops it, not to the
	// context of the call that started it: hence WithoutCancel.
	s.cmd = exec.CommandContext(context.WithoutCancel(ctx), path, //nolint:gosec // G204: the binary is the one the user named
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--logfile", "", // log to stdout, kept for error messages
	)
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	go func() {
		_ = s.cmd.Wait() // the exit status shows in the log kept for errors
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("redis-server on %s: %w\n%s", s.addr, err, s.output.String())
	}
	s.info = redis.NewClient(&redis.Options{Addr: s.addr, PoolSize: 1, MaxIdleConns: 1, DisableIdentity: true})
	return s, nil
}

// waitReady polls PING until Redis answers, the process dies, or 10 s pass.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1})
	defer c.Close()
	for {
		err := c.Ping(ctx).Err()
		if err == nil {
			info, err := c.Info(ctx, "server").Result()
			if err != nil {
				return fmt.Errorf("INFO server: %w", err)
			}
			s.version = infoField(info, "redis_version")
			return nil
		}
		select {
		case <-s.done:
			return errors.New("exited before answering PING")
		case <-ctx.Done():
			return fmt.Errorf("no answer to PING: %w", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// Version is the server's redis_version.
func (s *Server) Version() string { return s.version }

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Close stops the server: SIGTERM, then SIGKILL if it is still running
// after 5 s. It removes the temporary directory. Calling it again returns
// the first result.
func (s *Server) Close() error {
	s.once.Do(func() {
		if s.info != nil {
			_ = s.info.Close()
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		s.err = os.RemoveAll(s.dir)
	})
	return s.err
}

// freePort asks the kernel for a free loopback port.
func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// infoField returns a field of an INFO reply, "" if it is absent.
func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// syncBuffer is a bytes.Buffer that the process's output goroutine and the
// error path can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
