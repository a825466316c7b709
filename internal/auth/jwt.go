package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dataaggregator/aggregator/internal/store"
)

// accessClaims are the claims of an access token. Subject is the user id, ID
// the token id and SessionID the refresh-token family it was issued in (a
// revoked family voids the token); username and role are informational
// (Authenticate reads the current role from the store).
type accessClaims struct {
	jwt.RegisteredClaims
	Username  string `json:"username"`
	Role      Role   `json:"role"`
	Kind      string `json:"kind"`
	SessionID string `json:"sid"`
}

func (s *Service) issueAccess(u store.User, role Role, session string, now time.Time) (string, time.Time, error) {
	id, err := randomToken(16)
	if err != nil {
		return "", time.Time{}, err
	}
	exp := now.Add(s.accessTTL)
	c := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   u.ID,
			Audience:  jwt.ClaimStrings{s.audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        id,
		},
		Username:  u.Username,
		Role:      role,
		Kind:      string(KindAccess),
		SessionID: session,
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.signingKey)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return signed, exp, nil
}

// parseAccess verifies signature (HS256 only: "none" and every other
// algorithm are refused), issuer, audience, exp (required), nbf and iat.
func (s *Service) parseAccess(token string) (*accessClaims, error) {
	var c accessClaims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodHS256 {
			return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
		}
		return s.signingKey, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(s.issuer),
		jwt.WithAudience(s.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(s.now),
		jwt.WithLeeway(5*time.Second),
	)
	if err != nil {
		return nil, errors.Join(ErrInvalidToken, err)
	}
	if c.Kind != string(KindAccess) || c.Subject == "" || c.SessionID == "" {
		return nil, ErrInvalidToken
	}
	return &c, nil
}
