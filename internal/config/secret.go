package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
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

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		if _, werr := f.WriteString(key + "\n"); werr != nil {
			_ = f.Close()
			_ = os.Remove(path)
			return false, fmt.Errorf("%s: write %s: %w", name, path, werr)
		}
		if err := f.Sync(); err != nil {
			_ = f.Close()
			_ = os.Remove(path)
			return false, fmt.Errorf("%s: write %s: %w", name, path, err)
		}
		if err := f.Close(); err != nil {
			_ = os.Remove(path)
			return false, fmt.Errorf("%s: write %s: %w", name, path, err)
		}
		*dst = key
		return true, nil
	case errors.Is(err, fs.ErrExist):
		// Kept from an earlier start.
	default:
		return false, fmt.Errorf("%s: create %s: %w", name, path, err)
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
