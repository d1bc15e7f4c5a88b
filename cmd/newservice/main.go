// Command newservice starts a new service from this template: it copies the
// repository it runs in to a new directory, renamed to a new module path.
//
//	go run ./cmd/newservice example.com/yourservice ../yourservice
//	go run ./cmd/newservice -from path/to/hexchi example.com/yourservice ../yourservice
//
// It exists because the usual ways of taking a template fall short here.
// gonew (golang.org/x/tools/cmd/gonew) copies a module from the module cache,
// so it drops bench/ (a nested module with its own go.mod, which a module
// zip never contains), loses the exec bit of scripts/*.sh (module zips keep
// no file modes), and leaves .golangci.yml's goimports local-prefixes on the
// old path. A search-and-replace by hand misses bench/go.mod, whose module
// line and replace directive name the template too.
//
// newservice copies the tree as git sees it (tracked files plus untracked
// ones that are not ignored, or every file but .git/ outside a git
// checkout), keeping each file's mode, and never copies .git, bin/, or a
// secrets/ folder other than config/dev/secrets and config/test/secrets:
// production secrets never travel. It then rewrites the template's identity:
// the module path github.com/hexchi/starter in every text file (go.mod and
// bench/go.mod included), the Redis key prefix "hexchi:", the Docker image
// names hexchi/... and "docker build -t hexchi", and README.md's title.
// Prose about hexchi (where the code came from, the demo, the benchmark's
// library names) stays. cmd/newservice itself is template tooling and is
// not copied.
//
// Once the template is published as a module, gonew can take it instead:
//
//	go run golang.org/x/tools/cmd/gonew@latest github.com/hexchi/starter example.com/yourservice
//
// It renames the module path in go.mod and the .go files only. Then copy
// bench/ from a clone and rename its go.mod (module, require and replace),
// run chmod +x scripts/*.sh, set .golangci.yml's local-prefixes, and rename
// the "hexchi:" key prefix and the hexchi/ image names by hand, or simply
// run newservice from a clone instead.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// The template's identity, which newservice renames.
const (
	templateModule = "github.com/hexchi/starter"
	templateName   = "hexchi"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "newservice:", err)
		os.Exit(2)
	}
}

// run parses the command line, copies and rewrites the template, and
// reports to stdout what it did.
func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("newservice", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "a `DIR` in the template to copy (default: the current directory); its module root is copied")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./cmd/newservice [-from DIR] NEW_MODULE_PATH DEST_DIR")
		fmt.Fprintln(stderr, "example: go run ./cmd/newservice example.com/yourservice ../yourservice")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("want 2 arguments (new module path, destination directory), got %d", fs.NArg())
	}
	newModule, dest := fs.Arg(0), fs.Arg(1)

	name, err := serviceName(newModule)
	if err != nil {
		return err
	}
	start := *from
	if start == "" {
		if start, err = os.Getwd(); err != nil {
			return fmt.Errorf("current directory: %w", err)
		}
	}
	root, err := findTemplateRoot(start)
	if err != nil {
		return err
	}
	dest, err = checkDest(root, dest)
	if err != nil {
		return err
	}

	res, err := copyTemplate(root, dest, newModule, name)
	if err != nil {
		return err
	}
	report(stdout, root, dest, fs.Arg(1), newModule, name, res)
	return nil
}

// report prints what copyTemplate did and what to do next.
// destArg is the destination as given, for the "cd" of the next steps.
func report(w io.Writer, root, dest, destArg, newModule, name string, res result) {
	fmt.Fprintf(w, "Copied %d files from %s (%s) to %s (%s).\n", res.copied, root, res.source, dest, newModule)
	if len(res.skipped) > 0 {
		fmt.Fprintf(w, "\nNot copied (%d):\n", len(res.skipped))
		for _, s := range res.skipped {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	fmt.Fprintf(w, "\nRewrote %d files (module path %s => %s, name %s => %s):\n",
		len(res.rewritten), templateModule, newModule, templateName, name)
	for _, r := range res.rewritten {
		fmt.Fprintf(w, "  %-50s %s\n", r.path, strings.Join(r.rules, ", "))
	}
	for _, warn := range res.warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	fmt.Fprintf(w, `
Next steps:
  cd %s
  git init && git add -A && git commit -m "Start %s from hexchi"
  go run ./cmd/app     # the demo server on http://127.0.0.1:8080
  go test ./...        # the tests
  (cd bench && go vet ./...)
Then replace the demo parts (user directory, demo routes and pages) and write
your own secrets for every environment but dev and test.
`, destArg, name)
}
