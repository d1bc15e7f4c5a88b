package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// Options says where the configuration lives. Zero fields take defaults.
type Options struct {
	Env        string // APP_ENV; "dev" when empty
	Dir        string // APP_CONFIG_DIR; "config" when empty
	SecretsDir string // APP_SECRETS_DIR; <Dir>/<Env>/secrets when empty
}

// OptionsFromEnv reads APP_ENV, APP_CONFIG_DIR and APP_SECRETS_DIR through
// getenv, which is os.Getenv in main and a map lookup in tests. Unset
// variables stay empty, so that [Load] applies the defaults.
func OptionsFromEnv(getenv func(string) string) Options {
	return Options{
		Env:        getenv("APP_ENV"),
		Dir:        getenv("APP_CONFIG_DIR"),
		SecretsDir: getenv("APP_SECRETS_DIR"),
	}
}

// envName is what APP_ENV may hold. It becomes a directory name, so anything
// that could climb out of the config directory ("..", "/") is refused.
var envName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// withDefaults fills in the zero fields.
func (o Options) withDefaults() Options {
	if o.Env == "" {
		o.Env = "dev"
	}
	if o.Dir == "" {
		o.Dir = "config"
	}
	if o.SecretsDir == "" {
		o.SecretsDir = filepath.Join(o.Dir, o.Env, "secrets")
	}
	return o
}

// check rejects options that cannot work, before any file is read, with an
// error that says what to change.
func (o Options) check() error {
	if !envName.MatchString(o.Env) {
		return fmt.Errorf("APP_ENV %q: want a plain name such as dev, test or prod (matching %s)", o.Env, envName)
	}

	info, err := os.Stat(o.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("config directory %q not found%s: run from the repository root or set APP_CONFIG_DIR", o.Dir, workingDir())
	case err != nil:
		return fmt.Errorf("config directory: %w", err)
	case !info.IsDir():
		return fmt.Errorf("config directory %q is not a directory: set APP_CONFIG_DIR", o.Dir)
	}
	return nil
}

// workingDir returns " (working directory /x)" for an error message about a
// relative path, or "" if the working directory is unknown.
func workingDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	return fmt.Sprintf(" (working directory %s)", wd)
}
