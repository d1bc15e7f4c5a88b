package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// mask is what a secret prints as, wherever it is printed.
const mask = "********"

// MinSecretLen is the shortest entry a [SecretList] accepts, in bytes. The
// list holds HMAC-SHA256 keys, and a key shorter than the 32-byte hash output
// weakens the signature.
const MinSecretLen = 32

// Secret is a configuration value that must never reach a log or a terminal.
// Every way of printing it (fmt with any verb, slog, encoding/json, YAML,
// [Config.Print]) yields a mask; only [Secret.Reveal] returns the value. An
// empty Secret prints as "", so that an unset secret can be told apart from a
// set one without revealing anything.
type Secret string

// Reveal returns the secret value. Call it only where the value is used, for
// example when dialling Redis, never to log or print it.
func (s Secret) Reveal() string { return string(s) }

// String returns the mask, or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return mask
}

// Format makes every fmt verb print the mask. fmt.Stringer alone is not
// enough: a verb that does not fit a string, such as %d, makes fmt print the
// underlying value without calling String.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue masks the secret in slog records.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText masks the secret for encoding/json, YAML and any other encoder
// that uses encoding.TextMarshaler. There is deliberately no UnmarshalText:
// cleanenv would prefer it to [Secret.SetValue].
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// SetValue sets the secret from an environment variable (cleanenv's Setter)
// or from a secret file. The value is one line; a trailing newline ("\n" or
// "\r\n") is dropped, because editors and `echo` add one.
func (s *Secret) SetValue(text string) error {
	text = strings.TrimRight(text, "\r\n")
	if strings.ContainsAny(text, "\r\n") {
		return errors.New("want a single line, got several")
	}
	*s = Secret(text)
	return nil
}

// SecretList is an ordered list of secrets, such as signing keys under
// rotation: the first one signs, every one verifies. It prints like [Secret],
// as the mask and a count: "******** (2 secrets)".
//
// Its text form, in a secret file and in an environment variable alike, is one
// secret per line. See [SecretList.SetValue] for the rules.
type SecretList []Secret

// Reveal returns the secret values in order. Call it only where they are used.
func (l SecretList) Reveal() []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = s.Reveal()
	}
	return out
}

// String returns the mask with the number of secrets, or "" for an empty list.
func (l SecretList) String() string {
	switch len(l) {
	case 0:
		return ""
	case 1:
		return mask + " (1 secret)"
	default:
		return fmt.Sprintf("%s (%d secrets)", mask, len(l))
	}
}

// Format makes every fmt verb print the mask; see [Secret.Format].
func (l SecretList) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(l.String())) }

// LogValue masks the list in slog records.
func (l SecretList) LogValue() slog.Value { return slog.StringValue(l.String()) }

// MarshalText masks the list for encoders; see [Secret.MarshalText].
func (l SecretList) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// SetValue parses text holding one secret per line, as read from a secret file
// or an environment variable (cleanenv's Setter). A "\r" before each "\n" and
// blank lines at the end are ignored, so files written on Windows or with a
// final newline work. A blank line between two secrets is an error, because it
// usually means a secret was deleted by mistake. Each secret must be at least
// [MinSecretLen] bytes and different from the others.
//
// Errors name the line, never the secret.
func (l *SecretList) SetValue(text string) error {
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		lines[i] = strings.TrimSuffix(line, "\r")
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}

	var list SecretList // stays nil when there is no secret, like an unset list
	firstSeen := make(map[string]int, len(lines))
	for i, line := range lines {
		n := i + 1
		switch first, dup := firstSeen[line]; {
		case strings.TrimSpace(line) == "":
			return fmt.Errorf("line %d: blank line between secrets", n)
		case len(line) < MinSecretLen:
			return fmt.Errorf("line %d: secret is shorter than %d bytes", n, MinSecretLen)
		case dup:
			return fmt.Errorf("line %d: same secret as line %d", n, first)
		}
		firstSeen[line] = n
		list = append(list, Secret(line))
	}
	*l = list
	return nil
}
