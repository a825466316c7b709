package alerts

import (
	"context"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/secrets"
	"github.com/dataaggregator/aggregator/internal/store"
)

// ChannelStore is what ResealChannels needs from the store.
type ChannelStore interface {
	ListAlertChannels(ctx context.Context) ([]store.AlertChannel, error)
	UpdateAlertChannel(ctx context.Context, c store.AlertChannel) (store.AlertChannel, error)
}

// ResealChannels reseals, under the keyring's current key, the secrets of every alert channel
// sealed under another key (`aggregator secrets rotate`). Channels whose secrets cannot be opened
// are listed in failed, each error naming its channel; the others are still done. err is for the
// store failing.
func ResealChannels(ctx context.Context, st ChannelStore, keys *secrets.Keyring) (resealed int, failed []error, err error) {
	chans, err := st.ListAlertChannels(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("reseal alert channels: %w", err)
	}
	for _, c := range chans {
		if c.Secrets == "" || c.SecretsKeyID == keys.CurrentID() {
			continue
		}
		plain, err := keys.Open(c.SecretsKeyID, c.Secrets, aad(c.ID))
		if err != nil {
			failed = append(failed, fmt.Errorf("alert channel %q: open its secrets: %w", c.Name, err))
			continue
		}
		c.SecretsKeyID, c.Secrets, err = keys.Seal(plain, aad(c.ID))
		if err != nil {
			failed = append(failed, fmt.Errorf("alert channel %q: seal its secrets: %w", c.Name, err))
			continue
		}
		if _, err := st.UpdateAlertChannel(ctx, c); err != nil {
			return resealed, failed, fmt.Errorf("reseal alert channel %q: %w", c.Name, err)
		}
		resealed++
	}
	return resealed, failed, nil
}
