package secretref

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// Schemes of references, as they start a string.
const (
	SchemeFile  = "file://"
	SchemeVault = "vault://"
	SchemeAWS   = "aws-sm://"
	SchemeGCP   = "gcp-sm://"
	SchemeAzure = "azure-kv://"
)

// schemes are the known schemes, in the order Parse tries them.
var schemes = []string{SchemeFile, SchemeVault, SchemeAWS, SchemeGCP, SchemeAzure}

// Ref is a parsed reference.
type Ref struct {
	// Raw is the reference as written.
	Raw string
	// Scheme is one of the Scheme constants.
	Scheme string
	// File is the absolute, cleaned path of a file reference.
	File string
	// Mount, Path and Key locate a Vault KV v2 value: the secrets engine's mount, the secret's
	// path below it and the key inside the secret. Key is also the optional key of a cloud
	// reference (the secret's text is then a JSON object holding it).
	Mount, Path, Key string
	// Name is the secret's name (or ARN) in AWS Secrets Manager, or its name in Azure Key Vault.
	Name string
	// Project and Secret locate a GCP Secret Manager secret.
	Project, Secret string
	// Vault is the Azure key vault's name (its URL is https://<Vault>.<suffix>).
	Vault string
	// Version is the GCP version ("latest" when not given) or the Azure version (empty: the
	// current one).
	Version string
}

// String returns the reference as written.
func (r Ref) String() string { return r.Raw }

// IsRef reports whether s starts with a known scheme, and so is a reference (well formed or not)
// rather than a literal value.
func IsRef(s string) bool {
	for _, sc := range schemes {
		if strings.HasPrefix(s, sc) {
			return true
		}
	}
	return false
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
	case strings.HasPrefix(s, SchemeAWS):
		r.Scheme = SchemeAWS
		name, key, hasKey := strings.Cut(strings.TrimPrefix(s, SchemeAWS), "#")
		if name == "" || (hasKey && key == "") {
			return r, fmt.Errorf("secret reference %s: an AWS Secrets Manager reference is aws-sm://<name or ARN>[#<key>] (aws-sm://prod/orders-db#password)", s)
		}
		if len(name) > 2048 || strings.ContainsAny(name, " \t") {
			return r, fmt.Errorf("secret reference %s: the secret name may not hold spaces", s)
		}
		r.Name, r.Key = name, key
		return r, nil
	case strings.HasPrefix(s, SchemeGCP):
		r.Scheme = SchemeGCP
		loc, key, hasKey := strings.Cut(strings.TrimPrefix(s, SchemeGCP), "#")
		parts := strings.Split(loc, "/")
		form := fmt.Errorf("secret reference %s: a GCP Secret Manager reference is gcp-sm://<project>/<secret>[/versions/<version>][#<key>] (gcp-sm://my-project/orders-db-password)", s)
		if hasKey && key == "" {
			return r, form
		}
		switch {
		case len(parts) == 2:
			r.Version = "latest"
		case len(parts) == 4 && parts[2] == "versions" && parts[3] != "":
			r.Version = parts[3]
		default:
			return r, form
		}
		r.Project, r.Secret, r.Key = parts[0], parts[1], key
		if !gcpName.MatchString(r.Project) || !gcpName.MatchString(r.Secret) || !gcpName.MatchString(r.Version) {
			return r, fmt.Errorf("secret reference %s: the project, secret and version may hold only letters, digits, - and _", s)
		}
		return r, nil
	case strings.HasPrefix(s, SchemeAzure):
		r.Scheme = SchemeAzure
		loc, key, hasKey := strings.Cut(strings.TrimPrefix(s, SchemeAzure), "#")
		parts := strings.Split(loc, "/")
		if (hasKey && key == "") || len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" || (len(parts) == 3 && parts[2] == "") {
			return r, fmt.Errorf("secret reference %s: an Azure Key Vault reference is azure-kv://<vault>/<name>[/<version>][#<key>] (azure-kv://prod-kv/orders-db-password)", s)
		}
		if !azureVault.MatchString(parts[0]) {
			return r, fmt.Errorf("secret reference %s: a key vault name is 3 to 24 letters, digits and hyphens", s)
		}
		for _, p := range parts[1:] {
			if !azureName.MatchString(p) {
				return r, fmt.Errorf("secret reference %s: a secret name or version holds only letters, digits and hyphens", s)
			}
		}
		r.Vault, r.Name, r.Key = parts[0], parts[1], key
		if len(parts) == 3 {
			r.Version = parts[2]
		}
		return r, nil
	}
	return r, errors.New("not a secret reference: it starts with none of file://, vault://, aws-sm://, gcp-sm:// or azure-kv://")
}

var (
	gcpName    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	azureVault = regexp.MustCompile(`^[A-Za-z0-9-]{3,24}$`)
	azureName  = regexp.MustCompile(`^[A-Za-z0-9-]{1,127}$`)
)
