package filekit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dataaggregator/aggregator/internal/connector"
)

// Roots returns the environment's file roots, absolute and with symlinks resolved. Empty FileRoots
// means the current directory only.
func Roots(env connector.Env) ([]string, error) {
	roots := env.FileRoots
	if len(roots) == 0 {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("current directory: %w", err)
		}
		roots = []string{wd}
	}
	out := make([]string, 0, len(roots))
	for _, r := range roots {
		abs, err := filepath.Abs(r)
		if err != nil {
			return nil, fmt.Errorf("file root %q: %w", r, err)
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		out = append(out, filepath.Clean(abs))
	}
	return out, nil
}

// outputRoot creates the output directory when missing and returns it absolute, symlinks resolved.
func outputRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("output directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return "", fmt.Errorf("output directory: %w", err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("output directory: %w", err)
	}
	return filepath.Clean(real), nil
}

func within(p, root string) bool {
	if p == root {
		return true
	}
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func outside(path string, roots []string) error {
	return connector.ConfigError(fmt.Errorf("path %q is outside the allowed file roots (%s)", path, strings.Join(roots, ", ")))
}

// Local resolves a configured local path for reading (the file must exist) or writing (its directory
// must exist). With env.OutputDir set, a relative path for writing resolves under OutputDir only (its
// directories are created) and an absolute one may also lie under OutputDir. An absolute path is taken as it is. A relative path is tried against each root in order:
// for reading, the first root that holds the file wins (when none does, the error names every root
// tried); for writing, the path is taken from the first root unless its directory is missing there and
// exists under a later root, in which case the first such root wins. The result, with every symlink
// resolved, must lie within one of the roots; a path that escapes (with "..", an absolute path or a
// symlink) is refused with a ConfigError.
func Local(env connector.Env, path string, forWrite bool) (string, error) {
	if strings.TrimSpace(path) == "" {
		return "", connector.ConfigError(errors.New("path: must not be empty"))
	}
	roots, err := Roots(env)
	if err != nil {
		return "", err
	}
	if forWrite && env.OutputDir != "" {
		out, err := outputRoot(env.OutputDir)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(path) {
			p := filepath.Clean(filepath.Join(out, path))
			if !within(p, out) {
				return "", outside(path, []string{out})
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
				return "", fmt.Errorf("output directory for %q: %w", path, err)
			}
			return resolve(path, p, []string{out}, true)
		}
		roots = append(roots, out)
	}
	if filepath.IsAbs(path) {
		return resolve(path, filepath.Clean(path), roots, forWrite)
	}
	// The lexical check first, against every root: ".." escapes are refused before touching the file
	// system, whatever root would have held the file.
	cands := make([]string, len(roots))
	for i, r := range roots {
		cands[i] = filepath.Clean(filepath.Join(r, path))
		if !within(cands[i], r) {
			return "", outside(path, roots)
		}
	}
	if forWrite {
		if !dirExists(filepath.Dir(cands[0])) {
			for _, c := range cands[1:] {
				if dirExists(filepath.Dir(c)) {
					return resolve(path, c, roots, true)
				}
			}
		}
		return resolve(path, cands[0], roots, true)
	}
	for _, c := range cands {
		real, err := resolve(path, c, roots, false)
		if errors.Is(err, connector.ErrNotFound) {
			continue
		}
		return real, err
	}
	return "", fmt.Errorf("file %q does not exist in any file root (tried %s): %w", path, strings.Join(roots, ", "), connector.ErrNotFound)
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// resolve checks one candidate p (cleaned, absolute) for the configured path: symlinks resolved, it
// must stay within the roots; a missing file is ErrNotFound (for writing, its directory must exist).
func resolve(path, p string, roots []string, forWrite bool) (string, error) {
	if !anyWithin(p, roots) {
		return "", outside(path, roots)
	}
	real, err := filepath.EvalSymlinks(p)
	switch {
	case err == nil:
		if !anyWithin(real, roots) {
			return "", outside(path, roots)
		}
		st, err := os.Stat(real)
		if err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		if st.IsDir() {
			return "", connector.ConfigError(fmt.Errorf("path %q is a directory, not a file", path))
		}
		return real, nil
	case errors.Is(err, fs.ErrNotExist) && forWrite:
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return "", fmt.Errorf("directory of %q: %w", path, errors.Join(err, connector.ErrNotFound))
		}
		out := filepath.Join(dir, filepath.Base(p))
		if !anyWithin(out, roots) {
			return "", outside(path, roots)
		}
		return out, nil
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("file %q does not exist: %w", path, connector.ErrNotFound)
	}
	return "", fmt.Errorf("%s: %w", path, err)
}

func anyWithin(p string, roots []string) bool {
	for _, r := range roots {
		if within(p, r) {
			return true
		}
	}
	return false
}

// Input resolves a source's file: an upload id (through env.ResolveUpload) or a confined local path.
// The returned name is what errors and rejects call the file.
func Input(ctx context.Context, env connector.Env, path, upload string) (real, name string, err error) {
	switch {
	case path != "" && upload != "":
		return "", "", connector.ConfigError(errors.New("path, upload: set one of them, not both"))
	case upload != "":
		if env.ResolveUpload == nil {
			return "", "", connector.ConfigError(fmt.Errorf("upload %q: uploads are not available here (use path)", upload))
		}
		p, err := env.ResolveUpload(ctx, upload)
		if err != nil {
			return "", "", fmt.Errorf("upload %q: %w", upload, err)
		}
		return p, "upload:" + upload, nil
	case path != "":
		p, err := Local(env, path, false)
		return p, path, err
	}
	return "", "", connector.ConfigError(errors.New("path: required (or upload)"))
}
