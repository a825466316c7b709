package connections

import (
	"context"
	"errors"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/store"
)

// ErrCannotQuery: the connector type cannot run SQL queries (it is not a database connector).
var ErrCannotQuery = errors.New("connector type cannot run SQL queries")

// QueryError is a failed Query that is not the database's own answer (a refused connection, a
// failed secret reference); its message never shows a secret value.
type QueryError struct{ Message string }

func (e *QueryError) Error() string { return e.Message }

// Query runs a read-only statement on the saved connector id (connector.Querier), opened as Check
// and Discover open it: secrets unsealed, secret references resolved, in the connector environment.
// The database's own errors (*connector.QueryError), timeouts (connector.ErrQueryTimeout) and
// cancels come back as they are, with the connector's secrets scrubbed from their messages.
func (s *Service) Query(ctx context.Context, id string, q connector.Query) (connector.QueryResult, error) {
	c, err := s.st.GetConnector(ctx, id)
	if err != nil {
		return nil, err
	}
	conn, cfg, err := s.saved(ctx, c)
	if err != nil {
		return nil, err
	}
	qr, ok := conn.(connector.Querier)
	if !ok {
		return nil, fmt.Errorf("%w: %s (connector %q)", ErrCannotQuery, conn.Spec().Name, c.Name)
	}
	res, err := qr.Query(ctx, s.envFor(c.ID), cfg, q)
	if err != nil {
		params := conn.Spec().Config.Params
		var dbErr *connector.QueryError
		switch {
		case errors.As(err, &dbErr):
			return nil, &connector.QueryError{Database: dbErr.Database, Code: dbErr.Code, Message: scrub(dbErr.Message, params, cfg)}
		case errors.Is(err, connector.ErrQueryTimeout), errors.Is(err, context.Canceled):
			return nil, err
		}
		return nil, &QueryError{Message: fmt.Sprintf("connector %q: %s", c.Name, scrub(err.Error(), params, cfg))}
	}
	return res, nil
}

// Queryable lists the saved connectors whose type can run SQL queries (id, name, type; no config).
func (s *Service) Queryable(ctx context.Context) ([]Connector, error) {
	var out []Connector
	for offset := 0; ; offset += store.MaxLimit {
		list, total, err := s.st.ListConnectors(ctx, store.ConnectorFilter{Page: store.Page{Limit: store.MaxLimit, Offset: offset}})
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			if conn, err := s.conns.Get(c.Type); err == nil {
				if _, ok := conn.(connector.Querier); ok {
					out = append(out, s.view(c, false))
				}
			}
		}
		if offset+len(list) >= total || len(list) == 0 {
			return out, nil
		}
	}
}
