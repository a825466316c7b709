package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EnsureSecret fills cfg.SecretKey when it is empty outside production: the
// key is read from DATA_DIR/secret_key, or generated (32 random bytes, hex)
// and written there with mode 0600 on first start. created reports whether a
// new key was written. In production an empty SECRET_KEY is an error (Validate
// reports it too); a key file readable by group or others is refused.
func EnsureSecret(cfg *Config) (created bool, err error) {
	return ensureKeyFile(cfg, "SECRET_KEY", cfg.SecretFile(), &cfg.SecretKey,
		"delete it to generate a new key (this logs everyone out)")
}

// EnsureEncryptionKey fills cfg.EncryptionKey when it is empty outside
// production, as EnsureSecret does for SECRET_KEY, from
// DATA_DIR/encryption_key. Losing that file makes the saved connectors'
// secrets unreadable: back it up with the database.
func EnsureEncryptionKey(cfg *Config) (created bool, err error) {
	return ensureKeyFile(cfg, "ENCRYPTION_KEY", cfg.EncryptionKeyFile(), &cfg.EncryptionKey,
		"restore the file from a backup (the saved connectors' secrets were sealed with it)")
}

func ensureKeyFile(cfg *Config, name, path string, dst *string, shortHint string) (created bool, err error) {
	if *dst != "" {
		return false, nil
	}
	if cfg.Environment == Production {
		return false, fmt.Errorf("%s: is required in production", name)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return false, fmt.Errorf("DATA_DIR: create %s: %w", cfg.DataDir, err)
	}

	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return false, fmt.Errorf("%s: generate: %w", name, err)
	}
	key := hex.EncodeToString(buf)

	// The key is written whole to a temporary file and then linked to its name, which fails if the
	// name exists: a process starting at the same time on the same DATA_DIR finds either no key file
	// or a complete one, never one being written, and the first link wins.
	switch err := writeKeyFile(path, key); {
	case err == nil:
		*dst = key
		return true, nil
	case errors.Is(err, fs.ErrExist):
		// Kept from an earlier start, or written by a process that started with this one.
	default:
		return false, fmt.Errorf("%s: write %s: %w", name, path, err)
	}

	info, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return false, fmt.Errorf("%s: %s has permissions %04o; run `chmod 600 %s`", name, path, info.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("%s: read %s: %w", name, path, err)
	}
	stored := strings.TrimSpace(string(data))
	if len(stored) < MinSecretKeyLength {
		return false, fmt.Errorf("%s: %s holds %d characters, want at least %d; %s", name, path, len(stored), MinSecretKeyLength, shortHint)
	}
	*dst = stored
	return false, nil
}

// writeKeyFile writes key to a new file at path with mode 0600, all or nothing: fs.ErrExist when path
// exists.
func writeKeyFile(path, key string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }()
	if _, err := f.WriteString(key + "\n"); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Link(tmp, path)
}
