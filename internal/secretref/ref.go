package secretref

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// Schemes of references, as they start a string.
const (
	SchemeFile  = "file://"
	SchemeVault = "vault://"
)

// Ref is a parsed reference.
type Ref struct {
	// Raw is the reference as written.
	Raw string
	// Scheme is SchemeFile or SchemeVault.
	Scheme string
	// File is the absolute, cleaned path of a file reference.
	File string
	// Mount, Path and Key locate a Vault KV v2 value: the secrets engine's mount, the secret's
	// path below it and the key inside the secret.
	Mount, Path, Key string
}

// String returns the reference as written.
func (r Ref) String() string { return r.Raw }

// IsRef reports whether s starts with a known scheme, and so is a reference (well formed or not)
// rather than a literal value.
func IsRef(s string) bool {
	return strings.HasPrefix(s, SchemeFile) || strings.HasPrefix(s, SchemeVault)
}

// MaxRefLen bounds the length of a reference.
const MaxRefLen = 1024

// Parse parses a reference; an error says what is wrong with its form (without the value it
// would resolve to, which Parse never sees).
func Parse(s string) (Ref, error) {
	r := Ref{Raw: s}
	if len(s) > MaxRefLen {
		return r, fmt.Errorf("secret reference is longer than %d characters", MaxRefLen)
	}
	if strings.ContainsAny(s, "\x00\r\n") {
		return r, fmt.Errorf("secret reference %s: contains a control character", s)
	}
	switch {
	case strings.HasPrefix(s, SchemeFile):
		r.Scheme = SchemeFile
		p := strings.TrimPrefix(s, SchemeFile)
		if !strings.HasPrefix(p, "/") {
			return r, fmt.Errorf("secret reference %s: a file reference is file:// and an absolute path (file:///run/secrets/db-password)", s)
		}
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
		r.File = path.Clean(p)
		return r, nil
	case strings.HasPrefix(s, SchemeVault):
		r.Scheme = SchemeVault
		rest := strings.TrimPrefix(s, SchemeVault)
		loc, key, ok := strings.Cut(rest, "#")
		if !ok || key == "" {
			return r, fmt.Errorf("secret reference %s: a Vault reference names its key after #: vault://<mount>/<path>#<key>", s)
		}
		mount, p, ok := strings.Cut(strings.Trim(loc, "/"), "/")
		if !ok || mount == "" || strings.Trim(p, "/") == "" {
			return r, fmt.Errorf("secret reference %s: a Vault reference is vault://<mount>/<path>#<key> (vault://secret/db/orders#password)", s)
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == "." || seg == ".." {
				return r, fmt.Errorf("secret reference %s: the path may not hold . or .. segments", s)
			}
		}
		r.Mount, r.Path, r.Key = mount, strings.Trim(p, "/"), key
		return r, nil
	}
	return r, errors.New("not a secret reference: it starts with neither file:// nor vault://")
}
