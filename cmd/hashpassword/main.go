// Command hashpassword prints an entry of core.auth.users, the demo's user
// directory: the username, a colon and a bcrypt hash of the password. It
// reads the password from standard input, so that it stays out of the
// shell's history and the process list:
//
//	go run ./cmd/hashpassword alice
//	(type the password, then Enter)
//	alice:$2a$10$...
//
// The production config has no user at all; add some with the entries this
// prints, in config/prod/config.yaml or CORE_AUTH_USERS (comma separated).
// A real service replaces the demo directory with its user database.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hashpassword:", err)
		os.Exit(1)
	}
}

// run is the program: the username in args, the password on the first line
// of stdin, the entry on stdout.
func run(args []string, stdin io.Reader, stdout io.Writer) error {
	flags := flag.NewFlagSet("hashpassword", flag.ContinueOnError)
	cost := flags.Int("cost", bcrypt.DefaultCost, "bcrypt cost: each step doubles the time a login (and a guess) takes")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() != 1 {
		return errors.New("usage: hashpassword [-cost N] USERNAME, with the password on standard input")
	}
	username := flags.Arg(0)
	if username == "" || strings.ContainsAny(username, ":, \t\r\n") {
		return fmt.Errorf("username %q: must not be empty or hold a colon, a comma or white space (the entry is username:hash, entries comma separated)", username)
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return errors.New("empty password on standard input")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), *cost)
	if err != nil {
		// A password over bcrypt's 72 bytes, or a cost out of range.
		return fmt.Errorf("hash the password: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "%s:%s\n", username, hash)
	return err
}
