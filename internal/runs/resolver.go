package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/store"
)

// SavedConnectors gives the type and full config (secrets opened) of a saved connector by name
// (connections.Service).
type SavedConnectors interface {
	Resolve(ctx context.Context, name string) (typ string, config map[string]any, err error)
}

// credentialSaver saves refreshed credentials into a saved connector by name
// (connections.Service); runs hand it to the connector of each node that names one.
type credentialSaver interface {
	SaveCredentialsNamed(ctx context.Context, name string, fields map[string]string) error
}

// Resolver resolves a spec's `connector: <name>` and `transformation: <name>` references
// (pipeline.Resolver): saved connectors through Connectors, which opens their sealed secrets,
// saved transformations through the store.
type Resolver struct {
	Store      *store.Store
	Connectors SavedConnectors
}

var _ pipeline.Resolver = Resolver{}

// Connector returns the type and full config of a saved connector. Without Connectors it reads
// the store and refuses a connector whose secrets are sealed.
func (r Resolver) Connector(ctx context.Context, name string) (pipeline.Saved, error) {
	if r.Connectors != nil {
		typ, cfg, err := r.Connectors.Resolve(ctx, name)
		if err != nil {
			return pipeline.Saved{}, describeMissing(err, "saved connector")
		}
		sv := pipeline.Saved{Type: typ, Config: cfg}
		if cs, ok := r.Connectors.(credentialSaver); ok {
			sv.SaveCredentials = func(ctx context.Context, fields map[string]string) error {
				return cs.SaveCredentialsNamed(ctx, name, fields)
			}
		}
		return sv, nil
	}
	c, err := r.Store.GetConnectorByName(ctx, name)
	if err != nil {
		return pipeline.Saved{}, describeMissing(err, "saved connector")
	}
	if c.Secrets != "" {
		return pipeline.Saved{}, fmt.Errorf("saved connector %q has encrypted secrets and this process has no key to open them", c.Name)
	}
	cfg, err := configMap(c.Config)
	if err != nil {
		return pipeline.Saved{}, fmt.Errorf("saved connector config: %w", err)
	}
	return pipeline.Saved{Type: c.Type, Config: cfg}, nil
}

// Transformation returns the type and config of a saved transformation.
func (r Resolver) Transformation(ctx context.Context, name string) (pipeline.Saved, error) {
	t, err := r.Store.GetTransformationByName(ctx, name)
	if err != nil {
		return pipeline.Saved{}, describeMissing(err, "saved transformation")
	}
	cfg, err := configMap(t.Config)
	if err != nil {
		return pipeline.Saved{}, fmt.Errorf("saved transformation config: %w", err)
	}
	return pipeline.Saved{Type: t.Type, Config: cfg}, nil
}

func describeMissing(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no %s with that name exists", what)
	}
	return err
}

func configMap(raw json.RawMessage) (map[string]any, error) {
	cfg := map[string]any{}
	if len(raw) == 0 {
		return cfg, nil
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}
