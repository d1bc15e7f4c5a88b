// Command report measures hexchi's session module against scs and
// gorilla/sessions on one real Redis and writes docs/benchmarks.md and
// docs/benchmarks.svg. Run it from bench/:
//
//	go run ./cmd/report
//
// It starts its own redis-server (which must be in PATH, or named by
// -redis-server) on a free loopback port and stops it at the end. A full
// run takes about eight minutes on two CPUs, and up to about twelve when
// other processes disturb it and runs are repeated; -quick runs the whole
// pipeline in about a minute, with figures too rough to publish.
//
// It is a program rather than a TestMain because it writes files and runs
// for minutes: `go test ./...` in bench/ stays a few seconds, and the
// micro-benchmarks it shares with `go test -bench` run through
// testing.Benchmark.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hexchi/starter/bench/internal/redisproc"
	"github.com/hexchi/starter/bench/internal/report"
)

// options are the command's flags.
type options struct {
	docs        string
	redisServer string
	quick       bool
	run         report.RunConfig
}

func main() {
	// testing.Benchmark reads testing's flags (-test.benchtime): register
	// them, as `go test` would.
	testing.Init()
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		os.Exit(2) // the flag package has printed the problem
	}
	log.SetFlags(log.Ltime)
	log.SetPrefix("report: ")
	if err := run(opts); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

// parseFlags parses the command line; usage and errors go to out.
func parseFlags(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.docs, "docs", filepath.Join("..", "docs"), "directory to write benchmarks.md and benchmarks.svg to")
	fs.StringVar(&o.redisServer, "redis-server", "redis-server", "redis-server binary to start")
	fs.BoolVar(&o.quick, "quick", false, "smoke run: short load runs, 1 repetition, short benchtime")
	fs.IntVar(&o.run.Clients, "clients", 16, "concurrent clients in a load run")
	fs.DurationVar(&o.run.Warmup, "warmup", 500*time.Millisecond, "unrecorded warm-up of each load run")
	fs.DurationVar(&o.run.Duration, "duration", 3*time.Second, "measured time of each load run")
	fs.IntVar(&o.run.Reps, "reps", 5, "interleaved hexchi/scs load runs per request kind and idle setting")
	fs.IntVar(&o.run.GorillaReps, "gorilla-reps", 3, "gorilla load runs per request kind (at most -reps)")
	fs.Float64Var(&o.run.MaxOtherLoad, "max-other-load", 0.10,
		"share of the CPU other processes may use during a load run before its round is discarded and run again")
	fs.DurationVar(&o.run.BenchTime, "benchtime", 500*time.Millisecond, "testing.B run time of each micro-benchmark")
	fs.IntVar(&o.run.BenchCount, "bench-count", 3, "runs of each micro-benchmark (the report gives the median)")
	fs.IntVar(&o.run.LagTrials, "lag-trials", 1000, "trials of each cross-replica lag measurement")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.quick {
		o.run.Warmup, o.run.Duration = 100*time.Millisecond, 300*time.Millisecond
		o.run.Reps, o.run.GorillaReps = 1, 1
		o.run.BenchTime, o.run.BenchCount = 100*time.Millisecond, 1
		o.run.LagTrials = min(o.run.LagTrials, 50)
	}
	o.run.Quick = o.quick
	o.run.GorillaReps = min(o.run.GorillaReps, o.run.Reps)
	if o.run.Clients < 1 || o.run.Reps < 1 || o.run.Duration <= 0 || o.run.BenchTime <= 0 || o.run.BenchCount < 1 ||
		o.run.Warmup < 0 || o.run.MaxOtherLoad <= 0 || o.run.LagTrials < 1 || fs.NArg() > 0 {
		err := errors.New("need -clients, -reps, -duration, -benchtime, -bench-count, -lag-trials and -max-other-load above zero, and no arguments")
		fmt.Fprintln(fs.Output(), err)
		fs.Usage()
		return o, err
	}
	o.run.Command = "cd bench && go run ./cmd/report"
	if o.quick {
		o.run.Command += " -quick"
	}
	return o, nil
}

func run(o options) error {
	start := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := flag.CommandLine.Set("test.benchtime", o.run.BenchTime.String()); err != nil {
		return fmt.Errorf("set benchtime: %w", err)
	}
	if err := os.MkdirAll(o.docs, 0o750); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}

	srv, err := redisproc.Start(ctx, o.redisServer)
	if err != nil {
		return err
	}
	defer srv.Close()
	log.Printf("redis-server %s on %s", srv.Version(), srv.Addr())

	res := &report.Results{
		Generated: start,
		Machine:   report.ThisMachine(srv.Version()),
		Modules:   report.BuildModules(ctx),
		Run:       o.run,
	}
	rn := &runner{srv: srv, res: res}
	if err := rn.measureAll(ctx); err != nil {
		return err
	}
	res.Elapsed = time.Since(start)
	if err := write(o.docs, res); err != nil {
		return err
	}
	log.Printf("done in %v", res.Elapsed.Round(time.Second))
	return nil
}

// write writes the markdown and the chart next to each other.
func write(dir string, res *report.Results) error {
	const md, svg = "benchmarks.md", "benchmarks.svg"
	if err := os.WriteFile(filepath.Join(dir, svg), []byte(res.ThroughputSVG()), 0o644); err != nil { //nolint:gosec // G306: documentation, meant to be read
		return fmt.Errorf("write chart: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, md), []byte(res.Markdown(svg)), 0o644); err != nil { //nolint:gosec // G306: documentation, meant to be read
		return fmt.Errorf("write report: %w", err)
	}
	log.Printf("wrote %s and %s", filepath.Join(dir, md), filepath.Join(dir, svg))
	return nil
}
