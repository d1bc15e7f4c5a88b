package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// ErrBadCredentials means that the username or the password is wrong.
// Which one is never said.
var ErrBadCredentials = errors.New("wrong username or password")

// User is an authenticated user.
type User struct {
	ID   string
	Name string
}

// Directory checks credentials. It is the part a real app replaces with its
// user database: one method, so that the login logic does not care where
// users live.
type Directory interface {
	// Authenticate returns the user with these credentials, or
	// ErrBadCredentials.
	Authenticate(ctx context.Context, username, password string) (User, error)
}

// DemoDirectory is a Directory of users from the configuration
// (core.auth.users): a username and a bcrypt hash each.
type DemoDirectory struct {
	hashes map[string][]byte
	// dummy is compared against for an unknown user, so that a wrong
	// username costs the same bcrypt work as a wrong password and response
	// times do not tell which usernames exist.
	dummy []byte
}

// NewDemoDirectory parses "username:bcrypt-hash" entries.
func NewDemoDirectory(entries []string) (*DemoDirectory, error) {
	d := &DemoDirectory{hashes: make(map[string][]byte, len(entries))}
	maxCost := bcrypt.DefaultCost
	if len(entries) > 0 {
		maxCost = bcrypt.MinCost
	}
	for i, e := range entries {
		name, hash, ok := strings.Cut(e, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("user %d: want username:bcrypt-hash", i+1)
		}
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			return nil, fmt.Errorf("user %q: bcrypt hash: %w", name, err)
		}
		if _, dup := d.hashes[name]; dup {
			return nil, fmt.Errorf("user %q is listed twice", name)
		}
		d.hashes[name] = []byte(hash)
		maxCost = max(maxCost, cost)
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("no user has this password"), maxCost)
	if err != nil {
		return nil, fmt.Errorf("dummy hash: %w", err)
	}
	d.dummy = dummy
	return d, nil
}

// Authenticate checks the password with bcrypt. The demo's user id is the
// username.
func (d *DemoDirectory) Authenticate(ctx context.Context, username, password string) (User, error) {
	if err := ctx.Err(); err != nil {
		return User{}, err
	}
	hash, known := d.hashes[username]
	if !known {
		hash = d.dummy
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !known {
		return User{}, ErrBadCredentials
	}
	return User{ID: username, Name: username}, nil
}
