package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"github.com/dataaggregator/aggregator/internal/store"
)

// TriggerTokenPrefix starts every webhook token of a pipeline (POST /api/v1/pipelines/{id}/trigger).
const TriggerTokenPrefix = "aggwh_"

// CreateTriggerToken creates (or rotates: the old one stops working at once) the webhook token of
// a live pipeline and returns its plaintext, which is shown once and never stored: the store keeps
// its hash, as for API tokens.
func (s *Service) CreateTriggerToken(ctx context.Context, pipelineID, actor string) (string, store.TriggerToken, error) {
	ts := s.store
	secret, err := randomToken(32)
	if err != nil {
		return "", store.TriggerToken{}, err
	}
	plain := TriggerTokenPrefix + secret
	t, err := ts.PutTriggerToken(ctx, store.TriggerToken{PipelineID: pipelineID, Prefix: plain[:len(TriggerTokenPrefix)+8],
		TokenHash: hashToken(plain), CreatedBy: actor})
	if err != nil {
		return "", store.TriggerToken{}, fmt.Errorf("create trigger token: %w", err)
	}
	return plain, t, nil
}

// CheckTriggerToken checks a webhook token presented for a pipeline: ErrInvalidToken when it is
// empty, not the pipeline's current token, or the pipeline has none (the caller cannot tell which).
// A good token's use is recorded (LastUsedAt).
func (s *Service) CheckTriggerToken(ctx context.Context, pipelineID, token string) (store.TriggerToken, error) {
	ts := s.store
	token = strings.TrimSpace(token)
	if token == "" {
		return store.TriggerToken{}, ErrInvalidToken
	}
	t, err := ts.GetTriggerToken(ctx, pipelineID)
	if errors.Is(err, store.ErrNotFound) {
		return store.TriggerToken{}, ErrInvalidToken
	}
	if err != nil {
		return store.TriggerToken{}, fmt.Errorf("check trigger token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(hashToken(token)), []byte(t.TokenHash)) != 1 {
		return store.TriggerToken{}, ErrInvalidToken
	}
	now := s.now()
	if err := ts.TouchTriggerToken(ctx, pipelineID, t.TokenHash, now); err != nil {
		return store.TriggerToken{}, fmt.Errorf("check trigger token: %w", err)
	}
	t.LastUsedAt = &now
	return t, nil
}
