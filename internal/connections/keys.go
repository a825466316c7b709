package connections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/dataaggregator/aggregator/internal/store"
)

// KeyMismatchError says that stored secrets were sealed under keys the keyring does not hold.
type KeyMismatchError struct {
	// Unknown counts the connectors by the key id that sealed them.
	Unknown map[string]int
	// Current is the id of the keyring's current key.
	Current string
}

func (e *KeyMismatchError) Error() string {
	ids := make([]string, 0, len(e.Unknown))
	n := 0
	for id, c := range e.Unknown {
		ids = append(ids, id)
		n += c
	}
	sort.Strings(ids)
	return fmt.Sprintf("the secrets of %d saved connector(s) are sealed under key id(s) %s, but the configured key has id %s and no previous key matches",
		n, strings.Join(ids, ", "), e.Current)
}

// Is makes errors.Is(err, ErrUnknownKey) true.
func (e *KeyMismatchError) Is(target error) bool { return target == ErrUnknownKey }

// Verify checks that the keyring can open every stored secret (by key id): a wrong key is found
// at start, not at a connector's first use. It returns a *KeyMismatchError otherwise.
func (s *Service) Verify(ctx context.Context) error {
	ids, err := s.st.ConnectorKeyIDs(ctx)
	if err != nil {
		return fmt.Errorf("verify encryption key: %w", err)
	}
	unknown := map[string]int{}
	for id, n := range ids {
		if !s.keys.Has(id) {
			unknown[id] = n
		}
	}
	if len(unknown) > 0 {
		return &KeyMismatchError{Unknown: unknown, Current: s.keys.CurrentID()}
	}
	return nil
}

// RotateReport counts what Rotate did.
type RotateReport struct {
	// KeyID is the current key every secret is now sealed under.
	KeyID string
	// Resealed connectors had secrets under another key; Sealed had secrets in plain text (saved
	// by an earlier version); Current were already sealed under the current key; NoSecrets have
	// none.
	Resealed, Sealed, Current, NoSecrets int
	// Failed lists the connectors that could not be resealed, each error naming its connector.
	Failed []error
}

// Rotate reseals the secrets of every saved connector under the keyring's current key and seals
// secrets stored in plain text. It is safe while servers run: each row is replaced only if it
// did not change meanwhile (it is then read again), and every server that holds the old key
// (ENCRYPTION_KEY_PREVIOUS) keeps reading both forms. Rows that fail are reported in Failed and
// the others are still done; the error is for the store failing.
func (s *Service) Rotate(ctx context.Context) (RotateReport, error) {
	return s.walk(ctx, false)
}

// SealPlaintext seals the secrets that earlier versions stored in plain text in the config, and
// leaves sealed values as they are (servers call it at start; Rotate changes keys).
func (s *Service) SealPlaintext(ctx context.Context) (RotateReport, error) {
	return s.walk(ctx, true)
}

func (s *Service) walk(ctx context.Context, plaintextOnly bool) (RotateReport, error) {
	rep := RotateReport{KeyID: s.keys.CurrentID()}
	after := ""
	for {
		page, err := s.st.ConnectorsAfter(ctx, after, 100)
		if err != nil {
			return rep, fmt.Errorf("rotate: %w", err)
		}
		for _, c := range page {
			if plaintextOnly && c.Secrets != "" {
				continue
			}
			if err := s.rotateOne(ctx, c, &rep); err != nil {
				if ctx.Err() != nil {
					return rep, ctx.Err()
				}
				rep.Failed = append(rep.Failed, err)
			}
		}
		if len(page) < 100 {
			return rep, nil
		}
		after = page[len(page)-1].ID
	}
}

func (s *Service) rotateOne(ctx context.Context, c store.Connector, rep *RotateReport) error {
	for attempt := 0; ; attempt++ {
		outcome, rec, err := s.reseal(c)
		if err != nil {
			return err
		}
		switch outcome {
		case "current":
			rep.Current++
			return nil
		case "none":
			rep.NoSecrets++
			return nil
		}
		err = s.st.ResealConnector(ctx, c, rec.Config, rec.Secrets, rec.SecretsKeyID)
		if err == nil {
			if outcome == "sealed" {
				rep.Sealed++
			} else {
				rep.Resealed++
			}
			return nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 2 {
			return fmt.Errorf("saved connector %q: %w", c.Name, err)
		}
		// Changed meanwhile: read it again.
		if c, err = s.st.GetConnector(ctx, c.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil // deleted meanwhile: nothing left to seal
			}
			return fmt.Errorf("saved connector %q: %w", c.Name, err)
		}
	}
}

// reseal says what c needs ("current", "none", "resealed" or "sealed") and builds its new
// config and secrets.
func (s *Service) reseal(c store.Connector) (string, store.Connector, error) {
	if c.Secrets != "" {
		if c.SecretsKeyID == s.keys.CurrentID() {
			return "current", store.Connector{}, nil
		}
		plain, err := s.keys.Open(c.SecretsKeyID, c.Secrets, aad(c.ID))
		if err != nil {
			return "", store.Connector{}, fmt.Errorf("saved connector %q: open its secrets (key id %s): %w", c.Name, c.SecretsKeyID, err)
		}
		keyID, sealed, err := s.keys.Seal(plain, aad(c.ID))
		if err != nil {
			return "", store.Connector{}, err
		}
		return "resealed", store.Connector{Config: c.Config, Secrets: sealed, SecretsKeyID: keyID}, nil
	}
	// No sealed value: an earlier version may have kept secrets in the config itself.
	cfg := map[string]any{}
	if err := json.Unmarshal(c.Config, &cfg); err != nil {
		return "", store.Connector{}, fmt.Errorf("saved connector %q: config: %w", c.Name, err)
	}
	conn, err := s.typeOf(c.Type)
	if err != nil {
		return "", store.Connector{}, fmt.Errorf("saved connector %q: %w (cannot tell which fields are secret)", c.Name, err)
	}
	if !hasSecrets(conn.Spec().Config.Params, cfg) {
		return "none", store.Connector{}, nil
	}
	rec, err := s.seal(conn.Spec().Config, c.ID, cfg)
	if err != nil {
		return "", store.Connector{}, fmt.Errorf("saved connector %q: %w", c.Name, err)
	}
	return "sealed", rec, nil
}
