package auth

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/store/storetest"
)

const testSecret = "0123456789abcdef0123456789abcdef-test"

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	svc   *Service
	store *store.Store
	clock *testClock
}

// setup builds a service over a migrated SQLite store; opts tweaks Options.
func setup(t *testing.T, opts ...func(*Options)) env {
	t.Helper()
	c := &testClock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	st := storetest.Open(t, store.Options{Dialect: store.SQLite, DSN: filepath.Join(t.TempDir(), "auth.db"), Now: c.Now})
	o := Options{Store: st, Secret: testSecret, Now: c.Now, BcryptCost: bcrypt.MinCost}
	for _, f := range opts {
		f(&o)
	}
	svc, err := NewService(o)
	if err != nil {
		t.Fatal(err)
	}
	return env{svc: svc, store: st, clock: c}
}

func (e env) user(t *testing.T, name string, role Role) store.User {
	t.Helper()
	u, err := e.svc.CreateUser(context.Background(), NewUser{Username: name, Email: name + "@example.com", Role: role, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e env) login(t *testing.T, name string) Tokens {
	t.Helper()
	tok, _, err := e.svc.Login(context.Background(), name, "correct horse battery", ClientInfo{IP: "192.0.2.1"})
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return tok
}

var bg = context.Background()

func TestNewServiceRequiresStoreAndSecret(t *testing.T) {
	t.Parallel()
	e := setup(t)
	if _, err := NewService(Options{Secret: testSecret}); err == nil || !strings.Contains(err.Error(), "Store is required") {
		t.Fatalf("no store: %v", err)
	}
	if _, err := NewService(Options{Store: e.store, Secret: "short"}); err == nil || !strings.Contains(err.Error(), "SECRET_KEY") {
		t.Fatalf("short secret: %v", err)
	}
}

func TestLoginAndAuthenticate(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.user(t, "dana", RoleDesigner)
	for _, login := range []string{"dana", "DANA@example.com"} {
		tok, got, err := e.svc.Login(bg, login, "correct horse battery", ClientInfo{IP: "192.0.2.1", UserAgent: "test"})
		if err != nil {
			t.Fatalf("Login(%q): %v", login, err)
		}
		if got.ID != u.ID || tok.TokenType != "Bearer" || tok.RefreshToken == "" ||
			!tok.AccessExpiresAt.Equal(e.clock.Now().Add(15*time.Minute)) {
			t.Fatalf("Login(%q) = %+v, user %s", login, tok, got.ID)
		}
		p, err := e.svc.Authenticate(bg, tok.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if p.UserID != u.ID || p.Username != "dana" || p.Role != RoleDesigner || p.TokenKind != KindAccess || p.TokenID == "" {
			t.Fatalf("principal = %+v", p)
		}
	}
	if got, _ := e.store.GetUser(bg, u.ID); got.LastLoginAt == nil {
		t.Fatal("last login not recorded")
	}
	// The role comes from the store, so a change applies at once.
	tok := e.login(t, "dana")
	role := string(RoleViewer)
	if _, err := e.store.UpdateUser(bg, u.ID, store.UserUpdate{Role: &role}); err != nil {
		t.Fatal(err)
	}
	if p, err := e.svc.Authenticate(bg, tok.AccessToken); err != nil || p.Role != RoleViewer {
		t.Fatalf("after role change: %+v, %v", p, err)
	}
	inactive := false
	if _, err := e.store.UpdateUser(bg, u.ID, store.UserUpdate{Active: &inactive}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(bg, tok.AccessToken); !errors.Is(err, ErrAccountDisabled) {
		t.Fatalf("deactivated user: %v", err)
	}
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user(t, "erin", RoleViewer)
	inactive := e.user(t, "frank", RoleViewer)
	no := false
	if _, err := e.store.UpdateUser(bg, inactive.ID, store.UserUpdate{Active: &no}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, login, password string
		want                  error
	}{
		{"wrong password", "erin", "wrong password!!", ErrInvalidCredentials},
		{"unknown user", "nobody", "correct horse battery", ErrInvalidCredentials},
		{"empty", "", "", ErrInvalidCredentials},
		{"deactivated", "frank", "correct horse battery", ErrAccountDisabled},
	}
	for _, tt := range tests {
		_, _, err := e.svc.Login(bg, tt.login, tt.password, ClientInfo{IP: "198.51.100." + tt.name[:1]})
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: error = %v, want %v", tt.name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), tt.password) && tt.password != "" {
			t.Errorf("%s: error %q leaks the password", tt.name, err)
		}
	}
}

func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	t.Run("per account", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		e.user(t, "gina", RoleViewer)
		for i := range 4 {
			_, _, err := e.svc.Login(bg, "gina", "bad password!!", ClientInfo{IP: "203.0.113." + string(rune('1'+i))})
			if !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("failure %d: %v", i+1, err)
			}
		}
		_, _, err := e.svc.Login(bg, "GINA", "bad password!!", ClientInfo{IP: "203.0.113.9"})
		var te *ThrottledError
		if !errors.As(err, &te) || te.RetryAfter != 15*time.Minute || !errors.Is(err, ErrThrottled) {
			t.Fatalf("5th failure: %v", err)
		}
		// Even the right password is refused while locked, with the time left.
		e.clock.Advance(5 * time.Minute)
		_, _, err = e.svc.Login(bg, "gina", "correct horse battery", ClientInfo{IP: "203.0.113.10"})
		if !errors.As(err, &te) || te.RetryAfter != 10*time.Minute {
			t.Fatalf("locked login: %v", err)
		}
		if !strings.Contains(err.Error(), "600 seconds") {
			t.Fatalf("message %q does not say when to retry", err)
		}
		e.clock.Advance(10 * time.Minute)
		e.login(t, "gina")
	})
	t.Run("per IP", func(t *testing.T) {
		t.Parallel()
		e := setup(t, func(o *Options) {
			o.IPLimiter = NewMemoryLimiter(LimiterPolicy{MaxFailures: 3, Window: time.Minute, Lockout: time.Minute}, o.Now)
		})
		e.user(t, "hank", RoleViewer)
		for i, name := range []string{"a", "b"} {
			if _, _, err := e.svc.Login(bg, name, "x", ClientInfo{IP: "10.9.9.9"}); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("failure %d: %v", i, err)
			}
		}
		if _, _, err := e.svc.Login(bg, "c", "x", ClientInfo{IP: "10.9.9.9"}); !errors.Is(err, ErrThrottled) {
			t.Fatalf("3rd failure from one IP: %v", err)
		}
		if _, _, err := e.svc.Login(bg, "hank", "correct horse battery", ClientInfo{IP: "10.9.9.9"}); !errors.Is(err, ErrThrottled) {
			t.Fatalf("locked IP: %v", err)
		}
		// Another IP is not affected.
		if _, _, err := e.svc.Login(bg, "hank", "correct horse battery", ClientInfo{IP: "10.9.9.8"}); err != nil {
			t.Fatalf("other IP: %v", err)
		}
	})
}

func TestMemoryLimiterSlidingWindow(t *testing.T) {
	t.Parallel()
	c := &testClock{t: time.Unix(0, 0)}
	l := NewMemoryLimiter(LimiterPolicy{MaxFailures: 3, Window: 10 * time.Minute, Lockout: 5 * time.Minute}, c.Now)
	steps := []struct {
		advance   time.Duration
		op        string // fail | check | reset
		wantRetry time.Duration
	}{
		{0, "fail", 0},
		{6 * time.Minute, "fail", 0},
		{5 * time.Minute, "fail", 0}, // the first failure left the window
		{time.Minute, "fail", 5 * time.Minute},
		{2 * time.Minute, "check", 3 * time.Minute},
		{2 * time.Minute, "fail", time.Minute}, // still locked: reports the time left
		{time.Minute, "check", 0},
		{0, "fail", 0},
		{0, "fail", 0},
		{0, "reset", 0},
		{0, "fail", 0},
	}
	for i, st := range steps {
		c.Advance(st.advance)
		var got time.Duration
		var err error
		switch st.op {
		case "fail":
			got, err = l.Fail(bg, "k")
		case "check":
			got, err = l.Check(bg, "k")
		case "reset":
			err = l.Reset(bg, "k")
		}
		if err != nil || got != st.wantRetry {
			t.Fatalf("step %d (%s): retry %v, %v; want %v", i, st.op, got, err, st.wantRetry)
		}
	}
	if l.Len() != 1 {
		t.Fatalf("Len = %d", l.Len())
	}
}

func TestAccessTokenValidation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.user(t, "ivy", RoleAdmin)
	good := e.login(t, "ivy").AccessToken
	now := e.clock.Now()
	claims, err := e.svc.parseAccess(good)
	if err != nil {
		t.Fatal(err)
	}

	sign := func(method jwt.SigningMethod, key any, mutate func(*accessClaims)) string {
		c := accessClaims{
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer: "aggregator", Subject: u.ID, Audience: jwt.ClaimStrings{"aggregator-api"},
				ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)), NotBefore: jwt.NewNumericDate(now),
				IssuedAt: jwt.NewNumericDate(now), ID: "x",
			},
			Username: "ivy", Role: RoleAdmin, Kind: string(KindAccess), SessionID: claims.SessionID,
		}
		if mutate != nil {
			mutate(&c)
		}
		s, err := jwt.NewWithClaims(method, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	parts := strings.Split(good, ".")
	payload := strings.Replace(parts[1], parts[1][:4], "eyJh", 1)

	tests := []struct {
		name  string
		token string
		valid bool
	}{
		{"issued by login", good, true},
		{"forged with the same key", sign(jwt.SigningMethodHS256, e.svc.signingKey, nil), true},
		{"alg none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil), false},
		{"alg none, signature stripped", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + ".", false},
		{"HS512 with the same key", sign(jwt.SigningMethodHS512, e.svc.signingKey, nil), false},
		{"signed with another key", sign(jwt.SigningMethodHS256, []byte("another key another key another"), nil), false},
		{"raw SECRET_KEY instead of derived key", sign(jwt.SigningMethodHS256, []byte(testSecret), nil), false},
		{"payload tampered", parts[0] + "." + payload + "." + parts[2], false},
		{"signature tampered", parts[0] + "." + parts[1] + "." + flipFirst(parts[2]), false},
		{"expired", sign(jwt.SigningMethodHS256, e.svc.signingKey, func(c *accessClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) }), false},
		{"no expiry", sign(jwt.SigningMethodHS256, e.svc.signingKey, func(c *accessClaims) { c.ExpiresAt = nil }), false},
		{"not yet valid", sign(jwt.SigningMethodHS256, e.svc.signingKey, func(c *accessClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) }), false},
		{"issued in the future", sign(jwt.SigningMethodHS256, e.svc.signingKey, func(c *accessClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) }), false},
		{"wrong issuer", sign(jwt.SigningMethodHS256, e.svc.signingKey, func(c *accessClaims) { c.Issuer = "evil" }), false},
		{"wrong audience", sign(jwt.SigningMethodHS256, e.svc.signingKey, func(c *accessClaims) { c.Audience = jwt.ClaimStrings{"other"} }), false},
		{"wrong kind", sign(jwt.SigningMethodHS256, e.svc.signingKey, func(c *accessClaims) { c.Kind = "refresh" }), false},
		{"unknown user", sign(jwt.SigningMethodHS256, e.svc.signingKey, func(c *accessClaims) { c.Subject = "ghost" }), false},
		{"no session", sign(jwt.SigningMethodHS256, e.svc.signingKey, func(c *accessClaims) { c.SessionID = "" }), false},
		{"unknown session", sign(jwt.SigningMethodHS256, e.svc.signingKey, func(c *accessClaims) { c.SessionID = "ghost" }), false},
		{"garbage", "not.a.token", false},
		{"empty", "", false},
		{"unknown api token", APITokenPrefix + "nope", false},
	}
	for _, tt := range tests {
		p, err := e.svc.Authenticate(bg, tt.token)
		if tt.valid {
			if err != nil || p.UserID != u.ID {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: error = %v, want ErrInvalidToken", tt.name, err)
		}
	}
	// The login token expires after 15 minutes.
	e.clock.Advance(15*time.Minute + 6*time.Second)
	if _, err := e.svc.Authenticate(bg, good); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired login token: %v", err)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user(t, "jack", RoleExecutor)
	first := e.login(t, "jack")
	other := e.login(t, "jack") // a second session (another family)

	e.clock.Advance(time.Minute)
	second, _, err := e.svc.Refresh(bg, first.RefreshToken, ClientInfo{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken || second.AccessToken == "" {
		t.Fatal("refresh did not issue new tokens")
	}
	if _, err := e.svc.Authenticate(bg, second.AccessToken); err != nil {
		t.Fatal(err)
	}
	third, _, err := e.svc.Refresh(bg, second.RefreshToken, ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(bg, third.AccessToken); err != nil {
		t.Fatal(err)
	}
	// Reusing a rotated token revokes the whole family, including the newest,
	// and names the user whose session it was (for the audit trail).
	_, who, err := e.svc.Refresh(bg, first.RefreshToken, ClientInfo{})
	if !errors.Is(err, ErrTokenReused) || !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("reuse: %v", err)
	}
	if who.Username != "jack" {
		t.Errorf("reuse names user %q, want jack", who.Username)
	}
	// The family's access tokens die with it (the session is revoked), the
	// other session's keep working.
	for name, tok := range map[string]string{"first": first.AccessToken, "second": second.AccessToken, "third": third.AccessToken} {
		if _, err := e.svc.Authenticate(bg, tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s access token after reuse revoked its family: %v", name, err)
		}
	}
	if _, err := e.svc.Authenticate(bg, other.AccessToken); err != nil {
		t.Errorf("access token of the other session: %v", err)
	}
	if _, _, err := e.svc.Refresh(bg, third.RefreshToken, ClientInfo{}); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("newest token of a revoked family: %v", err)
	}
	// The other session is untouched.
	if _, _, err := e.svc.Refresh(bg, other.RefreshToken, ClientInfo{}); err != nil {
		t.Fatalf("other family: %v", err)
	}
	for _, bad := range []string{"", "unknown", first.AccessToken} {
		if _, _, err := e.svc.Refresh(bg, bad, ClientInfo{}); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Refresh(%q): %v", bad, err)
		}
	}
}

func TestRefreshExpiresAndLogout(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *Options) { o.RefreshTTL = time.Hour })
	e.user(t, "kate", RoleViewer)
	tok := e.login(t, "kate")
	e.clock.Advance(time.Hour)
	if _, _, err := e.svc.Refresh(bg, tok.RefreshToken, ClientInfo{}); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired refresh: %v", err)
	}
	tok = e.login(t, "kate")
	next, who, err := e.svc.Refresh(bg, tok.RefreshToken, ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if who.Username != "kate" {
		t.Errorf("refresh names user %q, want kate", who.Username)
	}
	if _, err := e.svc.Authenticate(bg, next.AccessToken); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Logout(bg, next.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(bg, next.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("access token after logout: %v", err)
	}
	if _, _, err := e.svc.Refresh(bg, next.RefreshToken, ClientInfo{}); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("refresh after logout: %v", err)
	}
	if err := e.svc.Logout(bg, "unknown"); err != nil {
		t.Fatalf("logout with unknown token: %v", err)
	}
}

func TestConcurrentRefreshOnlyOneWins(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user(t, "liam", RoleViewer)
	tok := e.login(t, "liam")
	const n = 4
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := e.svc.Refresh(bg, tok.RefreshToken, ClientInfo{})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrInvalidToken):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent refreshes succeeded, want 1", ok)
	}
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.user(t, "mia", RoleExecutor)
	plain, tok, err := e.svc.CreateAPIToken(bg, u.ID, "ci", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, APITokenPrefix) || len(plain) < 40 || !strings.HasPrefix(plain, tok.Prefix) || tok.TokenHash == plain {
		t.Fatalf("token %q, stored %+v", plain, tok)
	}
	e.clock.Advance(time.Minute)
	p, err := e.svc.Authenticate(bg, plain)
	if err != nil {
		t.Fatal(err)
	}
	if p.UserID != u.ID || p.Role != RoleExecutor || p.TokenKind != KindAPIToken || p.TokenID != tok.ID {
		t.Fatalf("principal = %+v", p)
	}
	list, err := e.svc.ListAPITokens(bg, u.ID)
	if err != nil || len(list) != 1 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(e.clock.Now()) {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if _, _, err := e.svc.CreateAPIToken(bg, u.ID, "ci", nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, _, err := e.svc.CreateAPIToken(bg, u.ID, " ", nil); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("empty name: %v", err)
	}
	past := e.clock.Now().Add(-time.Second)
	if _, _, err := e.svc.CreateAPIToken(bg, u.ID, "old", &past); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("expiry in the past: %v", err)
	}
	soon := e.clock.Now().Add(time.Hour)
	expiring, _, err := e.svc.CreateAPIToken(bg, u.ID, "short", &soon)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.svc.Authenticate(bg, expiring); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired api token: %v", err)
	}
	if err := e.svc.RevokeAPIToken(bg, u.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(bg, plain); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("revoked api token: %v", err)
	}
	if _, err := e.svc.Authenticate(bg, plain[:len(plain)-1]+"x"); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("altered api token: %v", err)
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.user(t, "noah", RoleDesigner)
	before := e.login(t, "noah")
	e.clock.Advance(2 * time.Second)

	if err := e.svc.ChangePassword(bg, u.ID, "wrong password!", "a new long password"); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong old password: %v", err)
	}
	if err := e.svc.ChangePassword(bg, u.ID, "correct horse battery", "short"); !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("weak new password: %v", err)
	}
	if err := e.svc.ChangePassword(bg, u.ID, "correct horse battery", "correct horse battery"); !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("same password: %v", err)
	}
	if err := e.svc.ChangePassword(bg, u.ID, "correct horse battery", "a new long password"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Login(bg, "noah", "correct horse battery", ClientInfo{}); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("old password still works: %v", err)
	}
	if _, _, err := e.svc.Login(bg, "noah", "a new long password", ClientInfo{}); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if _, _, err := e.svc.Refresh(bg, before.RefreshToken, ClientInfo{}); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("refresh token from before the change: %v", err)
	}
	if _, err := e.svc.Authenticate(bg, before.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("access token from before the change: %v", err)
	}
}

func TestDeveloperRoleInProduction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		production bool
		allow      bool
		want       error
	}{
		{"development", false, false, nil},
		{"production", true, false, ErrRoleRefused},
		{"production allowed", true, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, func(o *Options) { o.Production, o.AllowDevRoleInProduction = tt.production, tt.allow })
			u := e.user(t, "dev", RoleDeveloper)
			_, _, err := e.svc.Login(bg, "dev", "correct horse battery", ClientInfo{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("login: %v, want %v", err, tt.want)
			}
			plain, _, err := e.svc.CreateAPIToken(bg, u.ID, "x", nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Authenticate(bg, plain); !errors.Is(err, tt.want) {
				t.Fatalf("api token: %v, want %v", err, tt.want)
			}
			// Other roles are unaffected.
			e.user(t, "admin2", RoleAdmin)
			e.login(t, "admin2")
		})
	}
}

func TestEnsureAdmin(t *testing.T) {
	t.Parallel()
	t.Run("generated", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		b, err := e.svc.EnsureAdmin(bg, "")
		if err != nil || !b.Created || b.Username != "admin" || CheckPasswordPolicy(b.Password, "", "") != nil {
			t.Fatalf("EnsureAdmin = %+v, %v", b, err)
		}
		if _, _, err := e.svc.Login(bg, "admin", b.Password, ClientInfo{}); err != nil {
			t.Fatalf("login with generated password: %v", err)
		}
		again, err := e.svc.EnsureAdmin(bg, "")
		if err != nil || again.Created || again.Password != "" {
			t.Fatalf("second EnsureAdmin = %+v, %v", again, err)
		}
	})
	t.Run("from ADMIN_PASSWORD", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		b, err := e.svc.EnsureAdmin(bg, "correct horse battery staple")
		if err != nil || !b.Created || b.Password != "" {
			t.Fatalf("EnsureAdmin = %+v, %v", b, err)
		}
		if _, _, err := e.svc.Login(bg, "admin@localhost", "correct horse battery staple", ClientInfo{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("created meanwhile by another process", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		// Two replicas on one store: both counted no admin; the other one inserted first.
		first, err := e.svc.EnsureAdmin(bg, "")
		if err != nil || !first.Created {
			t.Fatalf("first: %+v, %v", first, err)
		}
		b, err := e.svc.bootstrap(bg, "ADMIN_PASSWORD", AdminUsername, AdminEmail, "Administrator", RoleAdmin, "")
		if err != nil || b.Created || b.Password != "" {
			t.Fatalf("the second replica's bootstrap = %+v, %v; want the existing admin, not created", b, err)
		}
		// A user of that name without the role is still an error.
		e.user(t, "otto", RoleViewer)
		if _, err := e.svc.bootstrap(bg, "", "otto", "otto@example.com", "Otto", RoleAdmin, ""); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a viewer of that name: %v, want a conflict", err)
		}
	})
	t.Run("weak ADMIN_PASSWORD", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		_, err := e.svc.EnsureAdmin(bg, "admin")
		if !errors.Is(err, ErrWeakPassword) || !strings.HasPrefix(err.Error(), "ADMIN_PASSWORD: ") {
			t.Fatalf("weak password: %v", err)
		}
		if n, _ := e.store.CountUsers(bg, "", false); n != 0 {
			t.Fatal("a user was created")
		}
	})
}

func TestEnsureDevUser(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b, err := e.svc.EnsureDevUser(bg)
	if err != nil || !b.Created || b.Username != "developer" || b.Password == "" {
		t.Fatalf("EnsureDevUser = %+v, %v", b, err)
	}
	tok, u, err := e.svc.Login(bg, "developer", b.Password, ClientInfo{})
	if err != nil || u.Role != string(RoleDeveloper) || tok.AccessToken == "" {
		t.Fatalf("developer login: %v", err)
	}
	if again, err := e.svc.EnsureDevUser(bg); err != nil || again.Created {
		t.Fatalf("second EnsureDevUser = %+v, %v", again, err)
	}
	prod := setup(t, func(o *Options) { o.Production = true })
	if _, err := prod.svc.EnsureDevUser(bg); !errors.Is(err, ErrProductionRefused) || !strings.Contains(err.Error(), "CREATE_DEV_USER") {
		t.Fatalf("production: %v", err)
	}
}

func TestCreateUserValidates(t *testing.T) {
	t.Parallel()
	e := setup(t)
	if _, err := e.svc.CreateUser(bg, NewUser{Username: "xyz", Email: "x@y.z", Role: "root", Password: "a good long password"}); err == nil || !strings.Contains(err.Error(), `unknown role "root"`) {
		t.Fatalf("unknown role: %v", err)
	}
	if _, err := e.svc.CreateUser(bg, NewUser{Username: "oscar", Email: "o@y.z", Role: RoleViewer, Password: "oscar-password-1"}); !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("password containing the username: %v", err)
	}
	if _, err := e.svc.CreateUser(bg, NewUser{Username: "bad name", Email: "b@y.z", Role: RoleViewer, Password: "a good long password"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad username: %v", err)
	}
	if _, err := e.svc.CreateUser(bg, NewUser{Username: "quinn", Email: "not-an-email", Role: RoleViewer, Password: "a good long password"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad email: %v", err)
	}
	e.user(t, "pat", RoleViewer)
	if _, err := e.svc.CreateUser(bg, NewUser{Username: "PAT", Email: "p2@y.z", Role: RoleViewer, Password: "a good long password"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate: %v", err)
	}
}

// flipFirst changes the first character of a base64url string (which always carries 6 signature bits)
// to a different one, so the tampering never depends on the token's random content.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
