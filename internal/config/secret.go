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
	if cfg.SecretKey != "" {
		return false, nil
	}
	if cfg.Environment == Production {
		return false, errors.New("SECRET_KEY: is required in production")
	}
	path := cfg.SecretFile()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return false, fmt.Errorf("DATA_DIR: create %s: %w", cfg.DataDir, err)
	}

	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return false, fmt.Errorf("SECRET_KEY: generate: %w", err)
	}
	key := hex.EncodeToString(buf)

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		if _, werr := f.WriteString(key + "\n"); werr != nil {
			_ = f.Close()
			_ = os.Remove(path)
			return false, fmt.Errorf("SECRET_KEY: write %s: %w", path, werr)
		}
		if err := f.Sync(); err != nil {
			_ = f.Close()
			_ = os.Remove(path)
			return false, fmt.Errorf("SECRET_KEY: write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			_ = os.Remove(path)
			return false, fmt.Errorf("SECRET_KEY: write %s: %w", path, err)
		}
		cfg.SecretKey = key
		return true, nil
	case errors.Is(err, fs.ErrExist):
		// Kept from an earlier start.
	default:
		return false, fmt.Errorf("SECRET_KEY: create %s: %w", path, err)
	}

	info, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("SECRET_KEY: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return false, fmt.Errorf("SECRET_KEY: %s has permissions %04o; run `chmod 600 %s`", path, info.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("SECRET_KEY: read %s: %w", path, err)
	}
	stored := strings.TrimSpace(string(data))
	if len(stored) < MinSecretKeyLength {
		return false, fmt.Errorf("SECRET_KEY: %s holds %d characters, want at least %d; delete it to generate a new key (this logs everyone out)", path, len(stored), MinSecretKeyLength)
	}
	cfg.SecretKey = stored
	return false, nil
}
