package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/store"
)

// authenticate resolves the Authorization header ("Bearer <access JWT or API
// token>"). The returned error is safe to show: it never echoes the token.
func (s *Server) authenticate(ctx context.Context, header string) (principal, error) {
	if header == "" {
		return principal{}, errors.New("authentication required: send Authorization: Bearer <token>")
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return principal{}, errors.New("malformed Authorization header: want Bearer <token>")
	}
	return s.authenticateToken(ctx, strings.TrimSpace(token))
}

// authenticateToken resolves an access JWT or API token (the Authorization
// header's, or the one a WebSocket client sends in its auth frame). The
// returned error is safe to show: it never echoes the token.
func (s *Server) authenticateToken(ctx context.Context, token string) (principal, error) {
	if token == "" {
		return principal{}, errors.New("authentication required: the token is empty")
	}
	p, err := s.auth.Authenticate(ctx, token)
	if err != nil {
		switch {
		case errors.Is(err, auth.ErrInvalidToken):
			return principal{}, errors.New("invalid or expired token")
		case errors.Is(err, auth.ErrAccountDisabled):
			return principal{}, errors.New("account is deactivated")
		case errors.Is(err, auth.ErrRoleRefused):
			return principal{}, auth.ErrRoleRefused
		}
		s.log.ErrorContext(ctx, "authenticate", "error", err)
		return principal{}, errors.New("authentication failed")
	}
	out := principal{UserID: p.UserID, Username: p.Username, Role: p.Role, MustChangePassword: p.MustChangePassword}
	if p.TokenKind == auth.KindAPIToken {
		out.APITokenID = p.TokenID
	}
	return out, nil
}

type TokenPair struct {
	AccessToken      string    `json:"access_token"`
	TokenType        string    `json:"token_type" example:"Bearer"`
	ExpiresIn        int       `json:"expires_in" doc:"Seconds until the access token expires"`
	AccessExpiresAt  time.Time `json:"access_expires_at"`
	RefreshToken     string    `json:"refresh_token,omitempty" doc:"Single use: every refresh returns a new one. Absent in the browser form (X-Session: cookie), where it travels in the httpOnly cookie aggregator_refresh"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
}

func toTokenPair(t auth.Tokens, now time.Time) TokenPair {
	return TokenPair{
		AccessToken: t.AccessToken, TokenType: "Bearer",
		ExpiresIn:       int(t.AccessExpiresAt.Sub(now).Round(time.Second) / time.Second),
		AccessExpiresAt: t.AccessExpiresAt, RefreshToken: t.RefreshToken, RefreshExpiresAt: t.RefreshExpiresAt,
	}
}

type loginInput struct {
	SessionRequest
	Body struct {
		Login    string `json:"login,omitempty" maxLength:"254" doc:"Username or email"`
		Username string `json:"username,omitempty" maxLength:"254" doc:"Alias of login"`
		Email    string `json:"email,omitempty" maxLength:"254" doc:"Alias of login"`
		Password string `json:"password" minLength:"1" maxLength:"1024"`
	}
}

// loginName returns the one of login, username and email that was given.
func (in *loginInput) loginName() (string, error) {
	var given []string
	for _, v := range []string{in.Body.Login, in.Body.Username, in.Body.Email} {
		if strings.TrimSpace(v) != "" {
			given = append(given, v)
		}
	}
	switch len(given) {
	case 0:
		return "", invalid("body.login", "give login (a username or an email)", nil)
	case 1:
		return given[0], nil
	}
	return "", invalid("body.login", "give only one of login, username and email", nil)
}

type loginOutput struct {
	SetCookie string `header:"Set-Cookie" doc:"The browser form (X-Session: cookie) only: the refresh token in an httpOnly, SameSite=Strict cookie for /api/v1/auth"`
	Body      struct {
		TokenPair
		User User `json:"user"`
	}
}

func clientOf(ctx context.Context) auth.ClientInfo {
	ri := infoFrom(ctx)
	return auth.ClientInfo{IP: ri.ip, UserAgent: truncate(ri.userAgent, 512)}
}

func (s *Server) login(ctx context.Context, in *loginInput) (*loginOutput, error) {
	ri := infoFrom(ctx)
	name, err := in.loginName()
	if err != nil {
		return nil, err
	}
	ri.setActor("", truncate(strings.TrimSpace(name), 254))
	if in.cookieMode() {
		if err := in.sameOrigin(s.publicURL); err != nil {
			ri.setDetail("cross-site request refused")
			return nil, err
		}
	}
	toks, u, err := s.auth.Login(ctx, name, in.Body.Password, clientOf(ctx))
	if u.ID != "" {
		ri.setActor(u.ID, u.Username)
		ri.setTarget("user", u.ID)
	}
	if err != nil {
		var te *auth.ThrottledError
		switch {
		case errors.As(err, &te):
			ri.setDetail("throttled")
			return nil, tooMany(te.Error(), retrySeconds(te.RetryAfter))
		case errors.Is(err, auth.ErrInvalidCredentials):
			ri.setDetail("invalid credentials")
			return nil, unauthorized("invalid username/email or password")
		case errors.Is(err, auth.ErrAccountDisabled):
			ri.setDetail("account deactivated")
			return nil, forbidden("account is deactivated")
		case errors.Is(err, auth.ErrRoleRefused):
			ri.setDetail("developer role refused in production")
			return nil, forbidden(auth.ErrRoleRefused.Error())
		}
		return nil, err
	}
	out := &loginOutput{}
	out.Body.TokenPair = toTokenPair(toks, time.Now())
	out.Body.User = toUserDTO(u)
	if in.cookieMode() {
		out.SetCookie = in.sessionCookie(s.publicURL, toks.RefreshToken, toks.RefreshExpiresAt)
		out.Body.RefreshToken = ""
	}
	return out, nil
}

type refreshInput struct {
	SessionRequest
	Body *struct {
		RefreshToken string `json:"refresh_token,omitempty" maxLength:"512" doc:"The API form; the browser form sends no body and the cookie instead"`
	}
}

// refreshToken returns the refresh token of the request: the body's, else the
// session cookie's (accepted from this server's own pages only). "" when
// neither was sent.
func (in *refreshInput) refreshToken(publicURL string) (string, error) {
	if in.Body != nil && in.Body.RefreshToken != "" {
		if in.cookieMode() {
			if err := in.sameOrigin(publicURL); err != nil {
				return "", err
			}
		}
		return in.Body.RefreshToken, nil
	}
	if in.cookieToken() == "" && !in.cookieMode() {
		return "", invalid("body.refresh_token", "give the refresh token in the body, or send "+sessionHeader+": "+sessionHeaderMode+" with the session cookie", nil)
	}
	if err := in.sameOrigin(publicURL); err != nil {
		return "", err
	}
	return in.cookieToken(), nil
}

type tokensOutput struct {
	SetCookie string `header:"Set-Cookie" doc:"The browser form (X-Session: cookie) only: the new refresh token's cookie"`
	Body      TokenPair
}

type logoutOutput struct {
	SetCookie string `header:"Set-Cookie" doc:"The browser form: clears the session cookie"`
}

func (s *Server) refresh(ctx context.Context, in *refreshInput) (*tokensOutput, error) {
	token, err := in.refreshToken(s.publicURL)
	if err != nil {
		infoFrom(ctx).setDetail("refused: no token or cross-site")
		return nil, err
	}
	if token == "" {
		return nil, s.clearingCookie(in, unauthorized("no session cookie: sign in again"))
	}
	toks, u, err := s.auth.Refresh(ctx, token, clientOf(ctx))
	if u.ID != "" {
		infoFrom(ctx).setActor(u.ID, u.Username)
	}
	if err != nil {
		switch {
		case errors.Is(err, auth.ErrTokenReused):
			infoFrom(ctx).setDetail("refresh token reuse; family revoked")
			return nil, s.clearingCookie(in, unauthorized("refresh token was already used; every session of that login was revoked, sign in again"))
		case errors.Is(err, auth.ErrInvalidToken):
			return nil, s.clearingCookie(in, unauthorized("invalid or expired refresh token"))
		case errors.Is(err, auth.ErrAccountDisabled):
			return nil, s.clearingCookie(in, forbidden("account is deactivated"))
		case errors.Is(err, auth.ErrRoleRefused):
			return nil, forbidden(auth.ErrRoleRefused.Error())
		}
		return nil, err
	}
	out := &tokensOutput{Body: toTokenPair(toks, time.Now())}
	if in.cookieMode() {
		out.SetCookie = in.sessionCookie(s.publicURL, toks.RefreshToken, toks.RefreshExpiresAt)
		out.Body.RefreshToken = ""
	}
	return out, nil
}

// clearingCookie adds the clearing Set-Cookie to err when the request used
// the browser form: a session that cannot be refreshed is over.
func (s *Server) clearingCookie(in *refreshInput, err error) error {
	if !in.cookieMode() {
		return err
	}
	h := http.Header{}
	h.Set("Set-Cookie", in.sessionCookie(s.publicURL, "", time.Time{}))
	return huma.ErrorWithHeaders(err, h)
}

func (s *Server) logout(ctx context.Context, in *refreshInput) (*logoutOutput, error) {
	token, err := in.refreshToken(s.publicURL)
	if err != nil {
		infoFrom(ctx).setDetail("refused: no token or cross-site")
		return nil, err
	}
	if token != "" {
		if err := s.auth.Logout(ctx, token); err != nil {
			return nil, err
		}
	}
	out := &logoutOutput{}
	if in.cookieMode() {
		out.SetCookie = in.sessionCookie(s.publicURL, "", time.Time{})
	}
	return out, nil
}

type meOutput struct {
	Body struct {
		User
		Permissions []auth.Permission `json:"permissions" doc:"What this user's role allows"`
		TokenKind   string            `json:"token_kind" enum:"access,api_token"`
	}
}

func (s *Server) me(ctx context.Context, _ *struct{}) (*meOutput, error) {
	p := principalFrom(ctx)
	u, err := s.store.GetUser(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := &meOutput{}
	out.Body.User = toUserDTO(u)
	out.Body.Permissions = auth.PermissionsOf(p.Role)
	out.Body.TokenKind = string(auth.KindAccess)
	if p.APITokenID != "" {
		out.Body.TokenKind = string(auth.KindAPIToken)
	}
	return out, nil
}

type changePasswordInput struct {
	Body struct {
		CurrentPassword string `json:"current_password" minLength:"1" maxLength:"1024"`
		NewPassword     string `json:"new_password" minLength:"1" maxLength:"72" doc:"At least 12 characters; see docs/security.md"`
	}
}

func (s *Server) changePassword(ctx context.Context, in *changePasswordInput) (*noContent, error) {
	p := principalFrom(ctx)
	infoFrom(ctx).setTarget("user", p.UserID)
	if err := s.auth.ChangePassword(ctx, p.UserID, in.Body.CurrentPassword, in.Body.NewPassword); err != nil {
		var pe *auth.PolicyError
		switch {
		case errors.Is(err, auth.ErrWrongPassword):
			return nil, invalid("body.current_password", "current password is incorrect", nil)
		case errors.As(err, &pe):
			return nil, policyProblem(pe, "body.new_password")
		}
		return nil, err
	}
	return &noContent{}, nil
}

// API tokens: a user manages their own.

type APIToken struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix" doc:"The first characters of the token, to recognise it"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

func toAPITokenDTO(t store.APIToken) APIToken {
	return APIToken{ID: t.ID, Name: t.Name, Prefix: t.Prefix, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt}
}

type createTokenInput struct {
	Body struct {
		Name          string `json:"name" minLength:"1" maxLength:"100"`
		ExpiresInDays int    `json:"expires_in_days,omitempty" minimum:"0" maximum:"3650" doc:"0 or absent: never expires"`
	}
}

type createTokenOutput struct {
	Body struct {
		APIToken
		Token string `json:"token" doc:"The token itself. Shown once: it cannot be read again."`
	}
}

func (s *Server) createToken(ctx context.Context, in *createTokenInput) (*createTokenOutput, error) {
	var exp *time.Time
	if in.Body.ExpiresInDays > 0 {
		t := time.Now().Add(time.Duration(in.Body.ExpiresInDays) * 24 * time.Hour)
		exp = &t
	}
	plain, t, err := s.auth.CreateAPIToken(ctx, principalFrom(ctx).UserID, in.Body.Name, exp)
	if err != nil {
		return nil, err
	}
	infoFrom(ctx).setTarget("api_token", t.ID)
	out := &createTokenOutput{}
	out.Body.APIToken = toAPITokenDTO(t)
	out.Body.Token = plain
	return out, nil
}

type tokenListOutput struct {
	Body struct {
		Items []APIToken `json:"items" nullable:"false"`
		Total int        `json:"total"`
	}
}

func (s *Server) listTokens(ctx context.Context, _ *struct{}) (*tokenListOutput, error) {
	ts, err := s.auth.ListAPITokens(ctx, principalFrom(ctx).UserID)
	if err != nil {
		return nil, err
	}
	out := &tokenListOutput{}
	out.Body.Items = make([]APIToken, len(ts))
	for i, t := range ts {
		out.Body.Items[i] = toAPITokenDTO(t)
	}
	out.Body.Total = len(ts)
	return out, nil
}

type tokenIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

func (s *Server) revokeToken(ctx context.Context, in *tokenIDInput) (*noContent, error) {
	if err := s.auth.RevokeAPIToken(ctx, principalFrom(ctx).UserID, in.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("api token " + in.ID)
		}
		return nil, err
	}
	return &noContent{}, nil
}
