// Package cloudtest serves the parts of the cloud secret managers' HTTP APIs that the secretref
// providers call, as each provider documents them, so that the providers' SDK clients can be
// tested through their real wire protocols:
//
//   - AWS Secrets Manager: the JSON 1.1 protocol, POST / with X-Amz-Target
//     secretsmanager.GetSecretValue, requests signed with Signature Version 4 (the access key id
//     is checked; the signature's presence, not its value); errors as {"__type", "message"}.
//     https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
//   - Google Cloud Secret Manager: REST v1, GET /v1/projects/*/secrets/*/versions/*:access with a
//     bearer token from the OAuth 2.0 service-account JWT grant at the key's token_uri; errors as
//     {"error": {"code", "message", "status"}}.
//     https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets.versions/access
//   - Azure Key Vault: GET /secrets/{name}[/{version}]?api-version=..., the bearer challenge
//     (401 with WWW-Authenticate: Bearer authorization=..., resource=...) answered with a token from
//     Microsoft Entra ID's client-credentials grant (tenant discovery, then the token endpoint);
//     errors as {"error": {"code", "message"}}.
//     https://learn.microsoft.com/rest/api/keyvault/secrets/get-secret/get-secret
//
// It is test code: it checks what it needs to tell a good request from a bad one, not every
// field.
package cloudtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// AWS is a fake AWS Secrets Manager endpoint.
type AWS struct {
	*httptest.Server
	AccessKeyID string
	// Calls counts GetSecretValue requests.
	Calls atomic.Int64
	// Fail, when set, is the HTTP status every call answers with (an internal error).
	Fail atomic.Int64

	mu      sync.Mutex
	secrets map[string]string
}

// NewAWS starts a fake that accepts requests signed with accessKeyID.
func NewAWS(accessKeyID string) *AWS {
	a := &AWS{AccessKeyID: accessKeyID, secrets: map[string]string{}}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	return a
}

// Put stores a secret's SecretString under its name.
func (a *AWS) Put(name, value string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.secrets[name] = value
}

func awsError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func (a *AWS) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		awsError(w, http.StatusBadRequest, "UnknownOperationException", "unknown operation")
		return
	}
	a.Calls.Add(1)
	if s := a.Fail.Load(); s != 0 {
		awsError(w, int(s), "InternalServiceError", "the service failed")
		return
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+a.AccessKeyID+"/") || !strings.Contains(auth, "Signature=") {
		awsError(w, http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	var in struct {
		SecretID string `json:"SecretId"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil || in.SecretID == "" {
		awsError(w, http.StatusBadRequest, "InvalidParameterException", "SecretId is required")
		return
	}
	a.mu.Lock()
	v, ok := a.secrets[in.SecretID]
	a.mu.Unlock()
	if !ok {
		awsError(w, http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + in.SecretID + "-AbCdEf", "Name": in.SecretID,
		"SecretString": v, "VersionId": "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1", "VersionStages": []string{"AWSCURRENT"},
		"CreatedDate": 1.523477145713e9,
	})
}

// GCP is a fake Google Cloud Secret Manager with its OAuth 2.0 token endpoint.
type GCP struct {
	*httptest.Server
	// KeyJSON is a service account key file whose token_uri is this server.
	KeyJSON string
	// Calls counts access requests; Tokens counts tokens issued.
	Calls, Tokens atomic.Int64
	// CorruptCRC makes the server send a wrong dataCrc32c.
	CorruptCRC atomic.Bool

	mu      sync.Mutex
	secrets map[string][]byte // "projects/p/secrets/s" -> latest payload
	token   string
}

// NewGCP starts a fake with a fresh service account key.
func NewGCP() *GCP {
	g := &GCP{secrets: map[string][]byte{}, token: "ya29.test-" + randHex(8)}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "test-project", "private_key_id": randHex(20),
		"private_key": string(pemKey), "client_email": "aggregator@test-project.iam.gserviceaccount.com",
		"client_id": "1234567890", "token_uri": g.URL + "/token",
	})
	g.KeyJSON = string(b)
	return g
}

// Put stores the latest version of projects/<project>/secrets/<secret>.
func (g *GCP) Put(project, secret string, payload []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.secrets["projects/"+project+"/secrets/"+secret] = payload
}

func gcpError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

func (g *GCP) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		// The JWT bearer grant (RFC 7523) of a service account key.
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || strings.Count(r.PostForm.Get("assertion"), ".") != 2 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"Invalid JWT"}`)
			return
		}
		g.Tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": g.token, "token_type": "Bearer", "expires_in": 3599})
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	name, ok2 := strings.CutSuffix(name, ":access")
	if !ok || !ok2 || r.Method != http.MethodGet {
		gcpError(w, http.StatusNotFound, "NOT_FOUND", "unknown method")
		return
	}
	g.Calls.Add(1)
	if r.Header.Get("Authorization") != "Bearer "+g.token {
		gcpError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
		return
	}
	secret, version, _ := strings.Cut(name, "/versions/")
	g.mu.Lock()
	data, found := g.secrets[secret]
	g.mu.Unlock()
	if !found || (version != "latest" && version != "1") {
		gcpError(w, http.StatusNotFound, "NOT_FOUND", "Secret ["+secret+"] not found or has no versions.")
		return
	}
	sum := int64(crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	if g.CorruptCRC.Load() {
		sum++
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"name":    strings.Replace(secret, "projects/", "projects/123456789/", 1) + "/versions/1",
		"payload": map[string]any{"data": base64.StdEncoding.EncodeToString(data), "dataCrc32c": fmt.Sprint(sum)},
	})
}

// Azure is a fake Azure Key Vault and Microsoft Entra ID on one TLS server. Requests for any
// host name are dialed to it by Client, so that vault URLs keep their real shape
// (https://<vault>.<VaultSuffix>).
type Azure struct {
	*httptest.Server
	TenantID, ClientID, ClientSecret string
	// VaultSuffix and AuthorityHost are what the settings name.
	VaultSuffix, AuthorityHost string
	// Calls counts Get Secret requests that carried a valid token; Tokens counts tokens issued.
	Calls, Tokens atomic.Int64

	mu      sync.Mutex
	secrets map[string]string // "<vault>/<name>" -> value
	token   string
}

// NewAzure starts a fake that accepts the given app registration.
func NewAzure(tenant, clientID, clientSecret string) *Azure {
	a := &Azure{TenantID: tenant, ClientID: clientID, ClientSecret: clientSecret, VaultSuffix: "vault.azure.test",
		AuthorityHost: "https://login.azure.test/", secrets: map[string]string{}, token: "eyJ0eXAi.test-" + randHex(8) + ".sig"}
	a.Server = httptest.NewTLSServer(http.HandlerFunc(a.serve))
	return a
}

// Put stores a secret's current value in a vault.
func (a *Azure) Put(vault, name, value string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.secrets[vault+"/"+name] = value
}

// Client returns an HTTP client that dials every host to this server and trusts its certificate.
func (a *Azure) Client() *http.Client {
	addr := a.Listener.Addr().String()
	pool := x509.NewCertPool()
	pool.AddCert(a.Certificate())
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		// httptest's certificate names example.com and 127.0.0.1, not the fake host names.
		TLSClientConfig: &tls.Config{RootCAs: pool, InsecureSkipVerify: true}, //nolint:gosec // test server
	}}
}

func azError(w http.ResponseWriter, code int, errCode, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": errCode, "message": msg}})
}

func (a *Azure) serve(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	authority := strings.TrimSuffix(strings.TrimPrefix(a.AuthorityHost, "https://"), "/")
	if host == authority {
		a.serveLogin(w, r)
		return
	}
	vault, ok := strings.CutSuffix(host, "."+a.VaultSuffix)
	if !ok {
		azError(w, http.StatusNotFound, "NotFound", "unknown host "+host)
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		azError(w, http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+a.token {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="%s%s", resource="https://%s"`, a.AuthorityHost, a.TenantID, a.VaultSuffix))
		azError(w, http.StatusUnauthorized, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")
		return
	}
	a.Calls.Add(1)
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 || parts[0] != "secrets" {
		azError(w, http.StatusBadRequest, "BadParameter", "unknown path")
		return
	}
	a.mu.Lock()
	v, found := a.secrets[vault+"/"+parts[1]]
	a.mu.Unlock()
	if !found {
		azError(w, http.StatusNotFound, "SecretNotFound", "A secret with (name/id) "+parts[1]+" was not found in this key vault.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"value": v, "id": "https://" + host + "/secrets/" + parts[1] + "/4387e9f3d6e14c459867679a90fd0f79",
		"attributes": map[string]any{"enabled": true, "created": 1493938410, "updated": 1493938410, "recoveryLevel": "Recoverable+Purgeable"},
	})
}

// serveLogin answers Microsoft Entra ID's tenant discovery and client-credentials token grant.
func (a *Azure) serveLogin(w http.ResponseWriter, r *http.Request) {
	base := strings.TrimSuffix(a.AuthorityHost, "/") + "/" + a.TenantID
	switch {
	case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token_endpoint": base + "/oauth2/v2.0/token", "authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"issuer": base + "/v2.0", "jwks_uri": base + "/discovery/v2.0/keys",
		})
	case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		if err := r.ParseForm(); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f := r.PostForm
		if f.Get("grant_type") != "client_credentials" || f.Get("client_id") != a.ClientID || f.Get("client_secret") != a.ClientSecret {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": "invalid_client",
				"error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": []int{7000215}})
			return
		}
		if !strings.HasPrefix(f.Get("scope"), "https://"+a.VaultSuffix) {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": "invalid_scope", "error_description": "scope " + url.QueryEscape(f.Get("scope"))})
			return
		}
		a.Tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": a.token})
	default:
		http.NotFound(w, r)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}
