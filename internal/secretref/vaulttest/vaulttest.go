// Package vaulttest is an HTTP server for tests that follows the documented HashiCorp Vault API
// for what secret references use: KV v2 reads (`GET /v1/<mount>/data/<path>` with the
// X-Vault-Token header, answering `{"data": {"data": {...}, "metadata": {...}}}`), AppRole login
// (`POST /v1/auth/approle/login` with role_id and secret_id, answering `{"auth": {"client_token",
// "lease_duration"}}`) and Kubernetes login (`POST /v1/auth/kubernetes/login` with role and jwt).
// Errors are Vault's `{"errors": [...]}` with 403 for a missing or unknown token and 404 for a
// missing secret.
package vaulttest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
)

// Server is a Vault-compatible test server.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	secrets  map[string]map[string]any // "<mount>/<path>" -> data
	tokens   map[string]bool
	approles map[string]string // role_id -> secret_id
	k8s      map[string]string // role -> jwt
	// Reads counts KV reads; Logins counts successful logins.
	Reads, Logins atomic.Int64
}

// New starts a server that accepts token; Close it when done.
func New(token string) *Server {
	s := &Server{secrets: map[string]map[string]any{}, tokens: map[string]bool{token: true},
		approles: map[string]string{}, k8s: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Put stores a KV v2 secret at mount/path.
func (s *Server) Put(mount, path string, data map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[mount+"/"+path] = data
}

// AddAppRole lets roleID log in with secretID.
func (s *Server) AddAppRole(roleID, secretID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.approles[roleID] = secretID
}

// AddKubernetesRole lets a service account token jwt log in as role.
func (s *Server) AddKubernetesRole(role, jwt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.k8s[role] = jwt
}

// RevokeAll revokes every token handed out by a login (not the root token given to New).
func (s *Server) RevokeAll(keep string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]bool{keep: true}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func vaultErrors(w http.ResponseWriter, status int, msgs ...string) {
	if msgs == nil {
		msgs = []string{}
	}
	writeJSON(w, status, map[string]any{"errors": msgs})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, ok func(body map[string]string) bool) {
	var body map[string]string
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		vaultErrors(w, http.StatusBadRequest, "failed to parse JSON input")
		return
	}
	s.mu.Lock()
	good := ok(body)
	var tok string
	if good {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		tok = "hvs." + hex.EncodeToString(b)
		s.tokens[tok] = true
	}
	s.mu.Unlock()
	if !good {
		vaultErrors(w, http.StatusBadRequest, "invalid role or secret ID")
		return
	}
	s.Logins.Add(1)
	writeJSON(w, http.StatusOK, map[string]any{"auth": map[string]any{"client_token": tok, "lease_duration": 3600, "renewable": true}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/v1/")
	switch {
	case r.Method == http.MethodPost && p == "auth/approle/login" || r.Method == http.MethodPut && p == "auth/approle/login":
		s.login(w, r, func(b map[string]string) bool {
			sid, ok := s.approles[b["role_id"]]
			return ok && sid == b["secret_id"]
		})
		return
	case (r.Method == http.MethodPost || r.Method == http.MethodPut) && p == "auth/kubernetes/login":
		s.login(w, r, func(b map[string]string) bool {
			jwt, ok := s.k8s[b["role"]]
			return ok && jwt == b["jwt"]
		})
		return
	case r.Method != http.MethodGet:
		vaultErrors(w, http.StatusMethodNotAllowed, "unsupported operation")
		return
	}
	s.mu.Lock()
	authed := s.tokens[r.Header.Get("X-Vault-Token")]
	s.mu.Unlock()
	if !authed {
		vaultErrors(w, http.StatusForbidden, "permission denied")
		return
	}
	mount, rest, ok := strings.Cut(p, "/data/")
	if !ok {
		vaultErrors(w, http.StatusNotFound)
		return
	}
	s.Reads.Add(1)
	s.mu.Lock()
	data, found := s.secrets[mount+"/"+rest]
	s.mu.Unlock()
	if !found {
		vaultErrors(w, http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"request_id": "00000000-0000-0000-0000-000000000000", "lease_duration": 0, "renewable": false,
		"data": map[string]any{"data": data, "metadata": map[string]any{
			"created_time": "2026-01-01T00:00:00Z", "deletion_time": "", "destroyed": false, "version": 1}},
	})
}
