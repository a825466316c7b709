package connections

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
)

// SaveCredentials replaces secret fields of the saved connector id with values its connector
// refreshed (an OAuth refresh token that rotates) and seals them again. Fields are named by their
// dotted path ("auth.refresh_token"); only fields the type's config marks as secret may be saved;
// the config must stay valid. The connector's
// updated_by stays the last user's.
func (s *Service) SaveCredentials(ctx context.Context, id string, fields map[string]string) error {
	cur, err := s.st.GetConnector(ctx, id)
	if err != nil {
		return err
	}
	conn, cfg, err := s.saved(ctx, cur)
	if err != nil {
		return err
	}
	spec := conn.Spec().Config
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	var bad []string
	for _, name := range names {
		if p, ok := spec.ParamAt(name); !ok || !p.Secret || !configspec.SetValueAt(cfg, name, fields[name]) {
			bad = append(bad, fmt.Sprintf("%q is not a secret field of connector type %s", name, cur.Type))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("save refreshed credentials of connector %q: %s", cur.Name, strings.Join(bad, "; "))
	}
	if _, err := s.validate(cur.Type, cfg); err != nil {
		return fmt.Errorf("save refreshed credentials of connector %q: %w", cur.Name, err)
	}
	rec, err := s.seal(conn.Spec().Config, id, cfg)
	if err != nil {
		return err
	}
	rec.Name, rec.Type, rec.Description, rec.UpdatedBy = cur.Name, cur.Type, cur.Description, cur.UpdatedBy
	if _, err := s.st.UpdateConnector(ctx, rec); err != nil {
		return fmt.Errorf("save refreshed credentials of connector %q: %w", cur.Name, err)
	}
	return nil
}

// SaveCredentialsNamed is SaveCredentials for the saved connector called name (runs resolve
// saved connectors by name).
func (s *Service) SaveCredentialsNamed(ctx context.Context, name string, fields map[string]string) error {
	c, err := s.st.GetConnectorByName(ctx, name)
	if err != nil {
		return fmt.Errorf("save refreshed credentials of connector %q: %w", name, err)
	}
	return s.SaveCredentials(ctx, c.ID, fields)
}

// envFor is the connector environment for the saved connector id: refreshed credentials are
// saved into it.
func (s *Service) envFor(id string) connector.Env {
	env := s.env
	env.SaveCredentials = func(ctx context.Context, fields map[string]string) error {
		return s.SaveCredentials(ctx, id, fields)
	}
	return env
}
