package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
)

// Errors callers branch on. None carries a secret.
var (
	// ErrInvalidCredentials: unknown login or wrong password (never says which).
	ErrInvalidCredentials = errors.New("invalid username/email or password")
	// ErrAccountDisabled: the password was right but the account is deactivated.
	ErrAccountDisabled = errors.New("account is deactivated")
	// ErrRoleRefused: developer accounts cannot sign in in production unless
	// ALLOW_DEV_ROLE_IN_PRODUCTION=true.
	ErrRoleRefused = errors.New("developer accounts cannot sign in in production (ALLOW_DEV_ROLE_IN_PRODUCTION is not set)")
	// ErrInvalidToken: missing, malformed, tampered, expired or revoked token.
	ErrInvalidToken = errors.New("invalid or expired token")
	// ErrTokenReused: a rotated refresh token was presented again; its whole
	// family has been revoked. errors.Is(err, ErrInvalidToken) is also true.
	ErrTokenReused = fmt.Errorf("refresh token was already used; all sessions of this login were revoked: %w", ErrInvalidToken)
	// ErrWrongPassword: ChangePassword's old password does not match.
	ErrWrongPassword = errors.New("current password is incorrect")
	// ErrThrottled is matched by every *ThrottledError.
	ErrThrottled = errors.New("too many failed login attempts")
	// ErrProductionRefused: the operation is not allowed in production.
	ErrProductionRefused = errors.New("refused in production")
)

// ThrottledError says how long the caller must wait (HTTP 429 + Retry-After).
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	secs := int(e.RetryAfter.Round(time.Second) / time.Second)
	return fmt.Sprintf("too many failed login attempts; try again in %d seconds", max(secs, 1))
}

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// TokenKind says how a caller authenticated.
type TokenKind string

// Token kinds.
const (
	KindAccess   TokenKind = "access"    // JWT from login or refresh
	KindAPIToken TokenKind = "api_token" // long-lived automation token
)

// Principal is an authenticated caller. Role is the user's current role.
type Principal struct {
	UserID    string
	Username  string
	Role      Role
	TokenKind TokenKind
	TokenID   string // JWT id or API token id
	// SessionID is the login session (refresh-token family) an access token
	// belongs to; empty for API tokens.
	SessionID string
	// MustChangePassword is set while the user holds a temporary password:
	// the API then allows only changing it, reading the own profile and
	// signing out.
	MustChangePassword bool
}

// Tokens is the result of Login and Refresh.
type Tokens struct {
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
	TokenType        string // always "Bearer"
}

// ClientInfo describes the caller of Login and Refresh.
type ClientInfo struct {
	IP        string
	UserAgent string
}

// APITokenPrefix starts every API token.
const APITokenPrefix = "agg_"

// Store is what the service needs from the metadata store (*store.Store).
type Store interface {
	CreateUser(ctx context.Context, u store.User) (store.User, error)
	GetUser(ctx context.Context, id string) (store.User, error)
	GetUserByLogin(ctx context.Context, login string) (store.User, error)
	CountUsers(ctx context.Context, role string, activeOnly bool) (int, error)
	SetPasswordHash(ctx context.Context, id, hash string, mustChange bool) error
	RecordLogin(ctx context.Context, id string, at time.Time) error

	CreateRefreshToken(ctx context.Context, t store.RefreshToken) (store.RefreshToken, error)
	GetRefreshTokenByHash(ctx context.Context, hash string) (store.RefreshToken, error)
	RotateRefreshToken(ctx context.Context, oldID string, next store.RefreshToken) (store.RefreshToken, error)
	RevokeRefreshFamily(ctx context.Context, familyID string) (int, error)
	GetSessionUser(ctx context.Context, userID, familyID string) (store.User, bool, error)
	RevokeUserRefreshTokens(ctx context.Context, userID string) (int, error)

	CreateAPIToken(ctx context.Context, t store.APIToken) (store.APIToken, error)
	GetAPITokenByHash(ctx context.Context, hash string) (store.APIToken, error)
	ListAPITokens(ctx context.Context, userID string) ([]store.APIToken, error)
	RevokeAPIToken(ctx context.Context, userID, id string) error
	TouchAPIToken(ctx context.Context, id string, at time.Time) error

	PutTriggerToken(ctx context.Context, t store.TriggerToken) (store.TriggerToken, error)
	GetTriggerToken(ctx context.Context, pipelineID string) (store.TriggerToken, error)
	TouchTriggerToken(ctx context.Context, pipelineID, hash string, at time.Time) error
}

var _ Store = (*store.Store)(nil)

// Options configure NewService. Store and Secret are required.
type Options struct {
	Store  Store
	Secret string // SECRET_KEY, at least 32 characters
	Now    func() time.Time
	Logger *slog.Logger

	Issuer     string        // default "aggregator"
	Audience   string        // default "aggregator-api"
	AccessTTL  time.Duration // default 15m
	RefreshTTL time.Duration // default 7 days

	Production               bool // ENVIRONMENT=production
	AllowDevRoleInProduction bool

	AccountLimiter LoginLimiter // default NewMemoryLimiter(DefaultAccountPolicy())
	IPLimiter      LoginLimiter // default NewMemoryLimiter(DefaultIPPolicy())
	BcryptCost     int          // default bcrypt.DefaultCost; tests use bcrypt.MinCost
}

// Service authenticates users and manages their tokens. Safe for concurrent use.
type Service struct {
	store      Store
	now        func() time.Time
	log        *slog.Logger
	signingKey []byte
	issuer     string
	audience   string
	accessTTL  time.Duration
	refreshTTL time.Duration
	production bool
	allowDev   bool
	accounts   LoginLimiter
	ips        LoginLimiter
	cost       int
	dummyHash  string // compared against for unknown logins, to keep timing flat
}

// NewService builds the service.
func NewService(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("auth: Store is required")
	}
	if len(o.Secret) < 32 {
		return nil, errors.New("auth: SECRET_KEY must be at least 32 characters")
	}
	s := &Service{
		store: o.Store, now: o.Now, log: o.Logger, issuer: o.Issuer, audience: o.Audience,
		accessTTL: o.AccessTTL, refreshTTL: o.RefreshTTL, production: o.Production,
		allowDev: o.AllowDevRoleInProduction, accounts: o.AccountLimiter, ips: o.IPLimiter, cost: o.BcryptCost,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.issuer == "" {
		s.issuer = "aggregator"
	}
	if s.audience == "" {
		s.audience = "aggregator-api"
	}
	if s.accessTTL <= 0 {
		s.accessTTL = 15 * time.Minute
	}
	if s.refreshTTL <= 0 {
		s.refreshTTL = 7 * 24 * time.Hour
	}
	if s.accounts == nil {
		s.accounts = NewMemoryLimiter(DefaultAccountPolicy(), s.now)
	}
	if s.ips == nil {
		s.ips = NewMemoryLimiter(DefaultIPPolicy(), s.now)
	}
	// A key derived for JWT signing only, so SECRET_KEY can serve other uses.
	mac := hmac.New(sha256.New, []byte(o.Secret))
	mac.Write([]byte("aggregator/jwt/v1"))
	s.signingKey = mac.Sum(nil)
	h, err := HashPassword("dummy password for timing", s.cost)
	if err != nil {
		return nil, err
	}
	s.dummyHash = h
	return s, nil
}

// AccessTTL is the lifetime of access tokens.
func (s *Service) AccessTTL() time.Duration { return s.accessTTL }

// HashPassword hashes with the service's bcrypt cost.
func (s *Service) HashPassword(password string) (string, error) {
	return HashPassword(password, s.cost)
}

// roleAllowed refuses developer accounts in production unless allowed.
func (s *Service) roleAllowed(role Role) error {
	if role == RoleDeveloper && s.production && !s.allowDev {
		return ErrRoleRefused
	}
	return nil
}

func accountKey(login string) string { return "account:" + strings.ToLower(strings.TrimSpace(login)) }

// ipKey is "" when the caller's IP is unknown (no per-IP throttling then).
func ipKey(ip string) string {
	if ip == "" {
		return ""
	}
	return "ip:" + ip
}

// lockedFor returns how long the account or the IP stays locked (0: neither).
func (s *Service) lockedFor(ctx context.Context, aKey, iKey string) (time.Duration, error) {
	wait, err := s.accounts.Check(ctx, aKey)
	if err != nil {
		return 0, fmt.Errorf("login: throttle check: %w", err)
	}
	if iKey != "" {
		w, err := s.ips.Check(ctx, iKey)
		if err != nil {
			return 0, fmt.Errorf("login: throttle check: %w", err)
		}
		wait = max(wait, w)
	}
	return wait, nil
}

// Login checks the credentials (login is a username or an email) and issues
// a token pair in a new refresh family. Failures are throttled per account
// and per IP: a locked caller gets a *ThrottledError without the password
// being checked. The returned user is the one who signed in.
func (s *Service) Login(ctx context.Context, login, password string, client ClientInfo) (Tokens, store.User, error) {
	aKey, iKey := accountKey(login), ipKey(client.IP)
	if wait, err := s.lockedFor(ctx, aKey, iKey); err != nil || wait > 0 {
		if err != nil {
			return Tokens{}, store.User{}, err
		}
		return Tokens{}, store.User{}, &ThrottledError{RetryAfter: wait}
	}

	u, err := s.store.GetUserByLogin(ctx, login)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Tokens{}, store.User{}, fmt.Errorf("login: %w", err)
	}
	found := err == nil
	hash := s.dummyHash
	if found {
		hash = u.PasswordHash
	}
	ok := CheckPassword(hash, password)
	if !found || !ok {
		wait, ferr := s.fail(ctx, aKey, iKey)
		if ferr != nil {
			return Tokens{}, store.User{}, ferr
		}
		if wait > 0 {
			return Tokens{}, store.User{}, &ThrottledError{RetryAfter: wait}
		}
		return Tokens{}, store.User{}, ErrInvalidCredentials
	}
	if !u.Active {
		return Tokens{}, u, ErrAccountDisabled
	}
	role, err := ParseRole(u.Role)
	if err != nil {
		return Tokens{}, u, fmt.Errorf("login: user %s: %w", u.ID, err)
	}
	if err := s.roleAllowed(role); err != nil {
		return Tokens{}, u, err
	}
	if err := s.accounts.Reset(ctx, aKey); err != nil {
		return Tokens{}, u, fmt.Errorf("login: throttle reset: %w", err)
	}

	family, err := randomToken(16)
	if err != nil {
		return Tokens{}, u, err
	}
	refresh, hashed, err := newRefreshSecret()
	if err != nil {
		return Tokens{}, u, err
	}
	now := s.now()
	rt, err := s.store.CreateRefreshToken(ctx, store.RefreshToken{
		UserID: u.ID, FamilyID: family, TokenHash: hashed, ExpiresAt: now.Add(s.refreshTTL),
		IP: client.IP, UserAgent: truncate(client.UserAgent, 512),
	})
	if err != nil {
		return Tokens{}, u, fmt.Errorf("login: %w", err)
	}
	access, exp, err := s.issueAccess(u, role, family, now)
	if err != nil {
		return Tokens{}, u, err
	}
	if err := s.store.RecordLogin(ctx, u.ID, now); err != nil {
		return Tokens{}, u, fmt.Errorf("login: %w", err)
	}
	return Tokens{AccessToken: access, AccessExpiresAt: exp, RefreshToken: refresh, RefreshExpiresAt: rt.ExpiresAt, TokenType: "Bearer"}, u, nil
}

// fail records a failed login on both keys and returns the longest lock.
func (s *Service) fail(ctx context.Context, aKey, iKey string) (time.Duration, error) {
	wait, err := s.accounts.Fail(ctx, aKey)
	if err != nil {
		return 0, fmt.Errorf("login: throttle: %w", err)
	}
	if iKey != "" {
		w, err := s.ips.Fail(ctx, iKey)
		if err != nil {
			return 0, fmt.Errorf("login: throttle: %w", err)
		}
		wait = max(wait, w)
	}
	return wait, nil
}

// Refresh rotates a refresh token: the presented token is marked rotated and
// a new one in the same family is returned with a new access token, and the
// user it belongs to. A token presented after it was rotated revokes the
// whole family (ErrTokenReused), which also voids the family's access
// tokens; the user is returned then too (for the audit trail), as it is for
// a deactivated or refused account.
func (s *Service) Refresh(ctx context.Context, refreshToken string, client ClientInfo) (Tokens, store.User, error) {
	if refreshToken == "" {
		return Tokens{}, store.User{}, ErrInvalidToken
	}
	old, err := s.store.GetRefreshTokenByHash(ctx, hashToken(refreshToken))
	if errors.Is(err, store.ErrNotFound) {
		return Tokens{}, store.User{}, ErrInvalidToken
	}
	if err != nil {
		return Tokens{}, store.User{}, fmt.Errorf("refresh: %w", err)
	}
	u, err := s.store.GetUser(ctx, old.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return Tokens{}, store.User{}, ErrInvalidToken
	}
	if err != nil {
		return Tokens{}, store.User{}, fmt.Errorf("refresh: %w", err)
	}
	now := s.now()
	switch {
	case old.RevokedAt != nil:
		return Tokens{}, u, ErrInvalidToken
	case old.RotatedAt != nil:
		return Tokens{}, u, s.reuse(ctx, old)
	case !now.Before(old.ExpiresAt):
		return Tokens{}, u, ErrInvalidToken
	}
	if !u.Active {
		return Tokens{}, u, ErrAccountDisabled
	}
	role, err := ParseRole(u.Role)
	if err != nil {
		return Tokens{}, u, fmt.Errorf("refresh: user %s: %w", u.ID, err)
	}
	if err := s.roleAllowed(role); err != nil {
		return Tokens{}, u, err
	}
	refresh, hashed, err := newRefreshSecret()
	if err != nil {
		return Tokens{}, u, err
	}
	next, err := s.store.RotateRefreshToken(ctx, old.ID, store.RefreshToken{
		UserID: u.ID, TokenHash: hashed, ExpiresAt: now.Add(s.refreshTTL),
		IP: client.IP, UserAgent: truncate(client.UserAgent, 512),
	})
	if errors.Is(err, store.ErrConflict) {
		// Another request rotated it first: the token was used twice.
		return Tokens{}, u, s.reuse(ctx, old)
	}
	if err != nil {
		return Tokens{}, u, fmt.Errorf("refresh: %w", err)
	}
	access, exp, err := s.issueAccess(u, role, old.FamilyID, now)
	if err != nil {
		return Tokens{}, u, err
	}
	return Tokens{AccessToken: access, AccessExpiresAt: exp, RefreshToken: refresh, RefreshExpiresAt: next.ExpiresAt, TokenType: "Bearer"}, u, nil
}

func (s *Service) reuse(ctx context.Context, old store.RefreshToken) error {
	n, err := s.store.RevokeRefreshFamily(ctx, old.FamilyID)
	if err != nil {
		return fmt.Errorf("refresh: revoke family: %w", err)
	}
	s.log.WarnContext(ctx, "refresh token reuse detected; family revoked", "user_id", old.UserID, "revoked", n)
	return ErrTokenReused
}

// Logout revokes the refresh token's whole family (the login session) and
// with it every access token issued in that session. Unknown or already
// revoked tokens are not an error.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	if refreshToken == "" {
		return nil
	}
	t, err := s.store.GetRefreshTokenByHash(ctx, hashToken(refreshToken))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	if _, err := s.store.RevokeRefreshFamily(ctx, t.FamilyID); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// Authenticate checks a bearer credential: an access JWT, or an API token
// (starting with APITokenPrefix). The user must exist and be active; the
// principal carries the user's current role.
func (s *Service) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	bearer = strings.TrimSpace(bearer)
	if bearer == "" {
		return Principal{}, ErrInvalidToken
	}
	if strings.HasPrefix(bearer, APITokenPrefix) {
		return s.authenticateAPIToken(ctx, bearer)
	}
	c, err := s.parseAccess(bearer)
	if err != nil {
		return Principal{}, err
	}
	// The user and their session in one query: this runs on every request.
	u, live, err := s.store.GetSessionUser(ctx, c.Subject, c.SessionID)
	if u, err = usableUser(u, err); err != nil {
		return Principal{}, err
	}
	// Tokens issued before a password change are void.
	if c.IssuedAt != nil && c.IssuedAt.Time.Before(u.PasswordChangedAt.Truncate(time.Second)) {
		return Principal{}, ErrInvalidToken
	}
	// So are tokens of a session that was revoked (logout, refresh-token
	// reuse, password change, deactivation).
	if !live {
		return Principal{}, ErrInvalidToken
	}
	role, err := ParseRole(u.Role)
	if err != nil {
		return Principal{}, ErrInvalidToken
	}
	if err := s.roleAllowed(role); err != nil {
		return Principal{}, err
	}
	return Principal{UserID: u.ID, Username: u.Username, Role: role, TokenKind: KindAccess, TokenID: c.ID,
		SessionID: c.SessionID, MustChangePassword: u.MustChangePassword}, nil
}

func (s *Service) activeUser(ctx context.Context, id string) (store.User, error) {
	return usableUser(s.store.GetUser(ctx, id))
}

// usableUser turns the lookup of a token's user into the error a request
// gets: an unknown user voids the token, a deactivated one is refused.
func usableUser(u store.User, err error) (store.User, error) {
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrInvalidToken
	}
	if err != nil {
		return store.User{}, fmt.Errorf("authenticate: %w", err)
	}
	if !u.Active {
		return store.User{}, ErrAccountDisabled
	}
	return u, nil
}

func (s *Service) authenticateAPIToken(ctx context.Context, token string) (Principal, error) {
	t, err := s.store.GetAPITokenByHash(ctx, hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrInvalidToken
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	now := s.now()
	if t.RevokedAt != nil || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) {
		return Principal{}, ErrInvalidToken
	}
	u, err := s.activeUser(ctx, t.UserID)
	if err != nil {
		return Principal{}, err
	}
	role, err := ParseRole(u.Role)
	if err != nil {
		return Principal{}, ErrInvalidToken
	}
	if err := s.roleAllowed(role); err != nil {
		return Principal{}, err
	}
	// Record use at most once a minute per token to spare writes.
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= time.Minute {
		if err := s.store.TouchAPIToken(ctx, t.ID, now); err != nil {
			return Principal{}, fmt.Errorf("authenticate: %w", err)
		}
	}
	return Principal{UserID: u.ID, Username: u.Username, Role: role, TokenKind: KindAPIToken, TokenID: t.ID,
		MustChangePassword: u.MustChangePassword}, nil
}

// NewUser is the input of CreateUser.
type NewUser struct {
	Username string
	Email    string
	FullName string
	Role     Role
	Password string
}

// CreateUser validates the username, email (ErrInvalid from the store
// package), role and password policy, hashes the password
// and stores an active user. Store errors pass through (a taken username is
// a *store.ConflictError).
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (store.User, error) {
	nu.Username, nu.Email = strings.TrimSpace(nu.Username), strings.TrimSpace(nu.Email)
	if err := ValidateUsername(nu.Username); err != nil {
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	if err := ValidateEmail(nu.Email); err != nil {
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	if !nu.Role.Valid() {
		_, err := ParseRole(string(nu.Role))
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	if err := CheckPasswordPolicy(nu.Password, nu.Username, nu.Email); err != nil {
		return store.User{}, err
	}
	hash, err := s.HashPassword(nu.Password)
	if err != nil {
		return store.User{}, err
	}
	return s.store.CreateUser(ctx, store.User{
		Username: nu.Username, Email: nu.Email, FullName: nu.FullName, Role: string(nu.Role),
		PasswordHash: hash, Active: true,
	})
}

// ChangePassword sets a new password after checking the current one, and
// revokes every refresh token of the user (other sessions end; access tokens
// issued before the change are refused).
func (s *Service) ChangePassword(ctx context.Context, userID, oldPassword, newPassword string) error {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !CheckPassword(u.PasswordHash, oldPassword) {
		return ErrWrongPassword
	}
	if oldPassword == newPassword {
		return &PolicyError{Problems: []string{"must differ from the current password"}}
	}
	return s.SetPassword(ctx, userID, newPassword, false)
}

// SetPassword replaces a user's password without the old one (an
// administrator's reset; the API and the CLI decide who may call it) and
// revokes the user's refresh tokens, which voids every access token of those
// sessions. A temporary password sets must_change_password (the user may
// then only change it); otherwise the flag is cleared. A password the policy
// refuses is a *PolicyError naming each rule it breaks.
func (s *Service) SetPassword(ctx context.Context, userID, newPassword string, temporary bool) error {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if err := CheckPasswordPolicy(newPassword, u.Username, u.Email); err != nil {
		return err
	}
	hash, err := s.HashPassword(newPassword)
	if err != nil {
		return err
	}
	if err := s.store.SetPasswordHash(ctx, userID, hash, temporary); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if _, err := s.store.RevokeUserRefreshTokens(ctx, userID); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// RevokeSessions ends every login session of a user (on deactivation or a
// role change): refresh tokens are revoked.
func (s *Service) RevokeSessions(ctx context.Context, userID string) error {
	if _, err := s.store.RevokeUserRefreshTokens(ctx, userID); err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	return nil
}

// CreateAPIToken creates a token for userID and returns its plaintext, which
// is shown once and never stored. expiresAt nil means no expiry.
func (s *Service) CreateAPIToken(ctx context.Context, userID, name string, expiresAt *time.Time) (string, store.APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", store.APIToken{}, fmt.Errorf("create api token: %w: name must be 1 to 100 characters", store.ErrInvalid)
	}
	if expiresAt != nil && !expiresAt.After(s.now()) {
		return "", store.APIToken{}, fmt.Errorf("create api token: %w: expiry must be in the future", store.ErrInvalid)
	}
	if _, err := s.activeUser(ctx, userID); err != nil {
		return "", store.APIToken{}, fmt.Errorf("create api token: %w", err)
	}
	secret, err := randomToken(32)
	if err != nil {
		return "", store.APIToken{}, err
	}
	plain := APITokenPrefix + secret
	t, err := s.store.CreateAPIToken(ctx, store.APIToken{
		UserID: userID, Name: name, Prefix: plain[:len(APITokenPrefix)+8], TokenHash: hashToken(plain), ExpiresAt: expiresAt,
	})
	if err != nil {
		return "", store.APIToken{}, fmt.Errorf("create api token: %w", err)
	}
	return plain, t, nil
}

// ListAPITokens lists a user's tokens (hashes are not secrets but callers
// should not show them).
func (s *Service) ListAPITokens(ctx context.Context, userID string) ([]store.APIToken, error) {
	return s.store.ListAPITokens(ctx, userID)
}

// RevokeAPIToken revokes one of userID's tokens (store.ErrNotFound otherwise).
func (s *Service) RevokeAPIToken(ctx context.Context, userID, tokenID string) error {
	return s.store.RevokeAPIToken(ctx, userID, tokenID)
}

// randomToken returns n random bytes, base64url without padding.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func newRefreshSecret() (plain, hash string, err error) {
	plain, err = randomToken(32)
	if err != nil {
		return "", "", err
	}
	return plain, hashToken(plain), nil
}

// hashToken is the stored form of high-entropy tokens: SHA-256, hex.
func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
