package secretref

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// vault reads a Vault KV v2 reference: GET /v1/<mount>/data/<path>, the key from data.data.
func (r *Resolver) vault(ctx context.Context, p Ref) (string, error) {
	if r.vc == nil {
		return "", fail(p.Raw, ErrNotConfigured, "no Vault address is set; an administrator sets it under Secret managers")
	}
	ctx, cancel := context.WithTimeout(ctx, vaultTimeout)
	defer cancel()
	sec, err := r.readKV(ctx, p)
	if err != nil && r.set.Vault.Auth != AuthToken && errors.Is(err, ErrPermission) {
		// A login token may have been revoked or expired early: log in again once.
		r.vmu.Lock()
		r.loggedIn = time.Time{}
		r.vmu.Unlock()
		sec, err = r.readKV(ctx, p)
	}
	if err != nil {
		return "", err
	}
	raw, ok := sec[p.Key]
	if !ok {
		return "", fail(p.Raw, ErrKeyMissing, "")
	}
	s, ok := raw.(string)
	if !ok {
		return "", fail(p.Raw, ErrKeyMissing, "the key's value is not a string")
	}
	return s, nil
}

func (r *Resolver) readKV(ctx context.Context, p Ref) (map[string]any, error) {
	vc, err := r.client(ctx, p.Raw)
	if err != nil {
		return nil, err
	}
	s, err := vc.KVv2(p.Mount).Get(ctx, p.Path)
	if err != nil {
		return nil, vaultErr(p.Raw, err)
	}
	if s == nil || s.Data == nil {
		return nil, fail(p.Raw, ErrNotFound, "")
	}
	return s.Data, nil
}

// client returns the Vault client with a valid token, logging in with AppRole or Kubernetes auth
// when the token is missing or about to expire.
func (r *Resolver) client(ctx context.Context, ref string) (*vault.Client, error) {
	r.vmu.Lock()
	defer r.vmu.Unlock()
	v := r.set.Vault
	if v.Auth == AuthToken {
		return r.vc, nil
	}
	if !r.loggedIn.IsZero() && (r.tokenTTL <= 0 || r.now().Before(r.loggedIn.Add(r.tokenTTL*9/10))) {
		return r.vc, nil
	}
	var path string
	var body map[string]any
	switch v.Auth {
	case AuthAppRole:
		path = "auth/" + orDefault(v.AuthMount, "approle") + "/login"
		body = map[string]any{"role_id": v.RoleID, "secret_id": v.SecretID}
	case AuthKubernetes:
		tokenPath := v.KubernetesTokenPath
		if tokenPath == "" {
			tokenPath = DefaultKubernetesTokenPath
		}
		jwt, err := os.ReadFile(tokenPath)
		if err != nil {
			return nil, fail(ref, ErrPermission, "the Kubernetes service account token cannot be read")
		}
		path = "auth/" + orDefault(v.AuthMount, "kubernetes") + "/login"
		body = map[string]any{"role": v.KubernetesRole, "jwt": strings.TrimSpace(string(jwt))}
	}
	r.vc.ClearToken()
	sec, err := r.vc.Logical().WriteWithContext(ctx, path, body)
	if err != nil {
		return nil, vaultLoginErr(ref, v.Auth, err)
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return nil, fail(ref, ErrPermission, "the "+v.Auth+" login returned no token")
	}
	r.vc.SetToken(sec.Auth.ClientToken)
	r.loggedIn = r.now()
	r.tokenTTL = time.Duration(sec.Auth.LeaseDuration) * time.Second
	return r.vc, nil
}

func orDefault(s, def string) string {
	if strings.Trim(s, "/") == "" {
		return def
	}
	return strings.Trim(s, "/")
}

func vaultLoginErr(ref, method string, err error) error {
	err = vaultErr(ref, err)
	var e *Error
	if !errors.As(err, &e) {
		return err // a cancel
	}
	if !errors.Is(e, ErrUnreachable) {
		e.Err = ErrPermission // Vault answers a refused login with 400 (invalid role or secret ID)
	}
	e.Detail = strings.TrimSpace(method + " login: " + e.Detail)
	return e
}

// vaultErr classifies an error of the Vault client.
func vaultErr(ref string, err error) error {
	if errors.Is(err, vault.ErrSecretNotFound) {
		return fail(ref, ErrNotFound, "")
	}
	var re *vault.ResponseError
	if errors.As(err, &re) {
		detail := fmt.Sprintf("HTTP %d", re.StatusCode)
		if len(re.Errors) > 0 {
			msg := strings.Join(re.Errors, "; ")
			if len(msg) > 200 {
				msg = msg[:200]
			}
			detail += ": " + msg
		}
		switch {
		case re.StatusCode == http.StatusNotFound:
			return fail(ref, ErrNotFound, "")
		case re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized:
			return fail(ref, ErrPermission, detail)
		case re.StatusCode >= 500:
			return fail(ref, ErrUnreachable, detail)
		default:
			return fail(ref, ErrRefused, detail)
		}
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	// Connection refused, DNS, timeouts, TLS, a refused address: the manager is not reachable.
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return fail(ref, ErrUnreachable, msg)
}
