package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ilyakaznacheev/cleanenv"
)

// Load builds the configuration from its layers (see the package comment),
// then validates it. opts says where the files are; zero fields take their
// defaults.
//
// Environment variables are read from the process environment: cleanenv's
// ReadEnv calls os.LookupEnv and cannot be given another source, so opts is
// the only input that does not come from the process. Tests set variables
// with t.Setenv. A variable that is set but empty counts as set: it makes a
// string empty and a list empty.
//
// Every error names the key and where its value came from: a file and line,
// a secret file, or an environment variable. Validation errors are reported
// all at once, joined.
func Load(opts Options) (Config, error) {
	opts = opts.withDefaults()
	if err := opts.check(); err != nil {
		return Config{}, err
	}

	l := loader{opts: opts, cfg: Default(), src: sources{}, secretNotes: map[string]string{}}
	if err := l.readLayers(); err != nil {
		return Config{}, err
	}
	if err := l.validate(); err != nil {
		return Config{}, err
	}
	return l.cfg, nil
}

// loader holds the state of one Load call.
type loader struct {
	opts Options
	cfg  Config
	// src records where the current value of each key came from.
	src sources
	// secretNotes says, for each secret key, what the secrets directory had
	// for it, so that a missing secret's error can name the path looked at.
	secretNotes map[string]string
}

// sources maps a dotted key to where its value was last set:
// "config/dev/config.yaml:4", "env CORE_HTTP_ADDR" or a secret file's path.
// A key that is not in the map still has its default.
type sources map[string]string

// where describes the origin of key for an error message.
func (s sources) where(key string) string {
	if at, ok := s[key]; ok {
		return at
	}
	return "the defaults in code"
}

// readLayers applies every layer to l.cfg, in order.
func (l *loader) readLayers() error {
	// Errors about a file's content start with the file and line already;
	// only a missing file needs to be told which layer it is.
	base := filepath.Join(l.opts.Dir, "config.yaml")
	switch err := l.readYAML(base); {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("base config: %w", err)
	case err != nil:
		return err
	}

	// A typo in APP_ENV ends here, so list the environments there are.
	overlay := filepath.Join(l.opts.Dir, l.opts.Env, "config.yaml")
	switch err := l.readYAML(overlay); {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("APP_ENV %q: %w%s", l.opts.Env, err, l.knownEnvs())
	case err != nil:
		return err
	}

	if err := l.readSecrets(); err != nil {
		return err
	}
	return l.readEnv()
}

// knownEnvs lists the environments the config directory has, as a hint for a
// mistyped APP_ENV.
func (l *loader) knownEnvs() string {
	entries, err := os.ReadDir(l.opts.Dir)
	if err != nil {
		return ""
	}
	var envs []string
	for _, e := range entries {
		if e.IsDir() {
			envs = append(envs, e.Name())
		}
	}
	if len(envs) == 0 {
		return ""
	}
	return fmt.Sprintf(" (environments in %s: %s)", l.opts.Dir, strings.Join(envs, ", "))
}

// readEnv applies the environment variables, once, after every file. Running
// cleanenv.ReadEnv once at the end rather than cleanenv.ReadConfig per file
// matters: ReadConfig checks env-required after each file, so a key set only
// by a later file would fail.
func (l *loader) readEnv() error {
	if err := cleanenv.ReadEnv(&l.cfg); err != nil {
		return envError(err)
	}
	for _, f := range schema().fields {
		if _, ok := os.LookupEnv(f.Env); ok {
			l.src[f.Key] = "env " + f.Env
		}
	}
	return nil
}

// envError adds the dotted key to an error from cleanenv.ReadEnv. cleanenv
// (v1.5.0) stops at the first bad variable and returns a plain string that
// names the variable and the Go field ("parsing field Addr env
// CORE_HTTP_ADDR: ..."), but not the key people look up in the files.
func envError(err error) error {
	for _, f := range schema().fields {
		if strings.Contains(err.Error(), " env "+f.Env+": ") {
			return fmt.Errorf("environment variable %s (key %s): %w", f.Env, f.Key, err)
		}
	}
	return fmt.Errorf("environment variables: %w", err)
}
