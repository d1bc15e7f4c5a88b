package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
)

// readSecrets reads the secrets directory: one file per secret key, named by
// the dotted key (core.auth.session.cookie.sign). A missing file is not an
// error here, because the secret may come from an environment variable, or be
// optional; validate reports a required secret that is still empty, and the
// note kept here lets it name the path it looked at.
//
// A missing secrets directory is fine too: a deployment may pass every secret
// in the environment.
func (l *loader) readSecrets() error {
	cfg := reflect.ValueOf(&l.cfg).Elem()
	for _, f := range schema().fields {
		if !f.Secret {
			continue
		}
		path := filepath.Join(l.opts.SecretsDir, f.Key)
		// The path is the operator's secrets directory and a key from a
		// struct tag, not user input.
		data, err := os.ReadFile(path) //nolint:gosec // G304, see above
		switch {
		case errors.Is(err, fs.ErrNotExist):
			l.secretNotes[f.Key] = err.Error() // "open <path>: no such file or directory"
			continue
		case err != nil:
			return fmt.Errorf("secret %s: %w", f.Key, err)
		}

		// Secret and SecretList parse a file exactly as they parse an
		// environment variable, through cleanenv's Setter.
		setter, ok := cfg.FieldByIndex(f.index).Addr().Interface().(interface{ SetValue(string) error })
		if !ok {
			return fmt.Errorf("secret %s: type %s has no SetValue method", f.Key, f.typ)
		}
		if err := setter.SetValue(string(data)); err != nil {
			return fmt.Errorf("secret %s: %s: %w", f.Key, path, err)
		}
		l.src[f.Key] = path
		l.secretNotes[f.Key] = path + " holds no secret"
	}
	return nil
}
