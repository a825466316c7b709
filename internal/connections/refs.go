package connections

import (
	"context"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/secretref"
)

// References: a secret field may hold a reference (secretref.IsRef) instead of a value. It is
// stored as written in the non-secret config, shown as written, and resolved only when the
// connector is opened (Check, Discover, Resolve, TestRequest). Any other field, and any string
// without a known scheme, is a literal value.

// RefError is a secret reference of a saved connector that did not resolve; its message names
// the connector, the field and the reference, never a value.
type RefError struct {
	Connector string
	Field     string
	Err       error // a *secretref.Error
}

func (e *RefError) Error() string {
	return fmt.Sprintf("saved connector %q: %s: %v", e.Connector, e.Field, e.Err)
}

func (e *RefError) Unwrap() error { return e.Err }

// KeepingReferences returns a Service over the same store, keys and registry whose Resolve leaves
// secret references unresolved, for validating and saving pipeline specs where no connection is
// opened. Use it for Resolve only: its started OAuth flows are its own.
func (s *Service) KeepingReferences() *Service {
	return &Service{st: s.st, conns: s.conns, keys: s.keys, env: s.env, refs: s.refs, log: s.log, keepRefs: true}
}

// resolveRefs returns cfg with every reference in a secret field replaced by its value.
func (s *Service) resolveRefs(ctx context.Context, name string, params []configspec.Param, cfg map[string]any) (map[string]any, error) {
	if s.keepRefs {
		return cfg, nil
	}
	return s.resolveIn(ctx, name, "", params, cfg)
}

func (s *Service) resolveIn(ctx context.Context, name, prefix string, params []configspec.Param, cfg map[string]any) (map[string]any, error) {
	var out map[string]any // copied on the first change
	set := func(k string, v any) {
		if out == nil {
			out = make(map[string]any, len(cfg))
			for k, v := range cfg {
				out[k] = v
			}
		}
		out[k] = v
	}
	for _, p := range params {
		v, ok := cfg[p.Name]
		if !ok {
			continue
		}
		path := configspec.JoinPath(prefix, p.Name)
		switch {
		case p.Secret:
			ref, isStr := v.(string)
			if !isStr || !secretref.IsRef(ref) {
				continue
			}
			if s.refs == nil {
				return nil, &RefError{Connector: name, Field: path, Err: &secretref.Error{Ref: ref, Err: secretref.ErrNotConfigured}}
			}
			val, err := s.refs.Resolve(ctx, ref)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, &RefError{Connector: name, Field: path, Err: err}
			}
			set(p.Name, val)
		case p.Type == configspec.Object && len(p.Fields) > 0:
			m, isMap := v.(map[string]any)
			if !isMap {
				continue
			}
			nm, err := s.resolveIn(ctx, name, path, p.Fields, m)
			if err != nil {
				return nil, err
			}
			set(p.Name, nm)
		}
	}
	if out == nil {
		return cfg, nil
	}
	return out, nil
}

// showRefs puts back into redacted (a config with its secrets redacted) every reference that cfg
// holds in a secret field: a reference is not a secret and is shown as written.
func showRefs(params []configspec.Param, redacted, cfg map[string]any) map[string]any {
	if redacted == nil {
		return nil
	}
	for _, p := range params {
		v, ok := cfg[p.Name]
		if !ok {
			continue
		}
		switch {
		case p.Secret:
			if ref, isStr := v.(string); isStr && secretref.IsRef(ref) {
				redacted[p.Name] = ref
			}
		case p.Type == configspec.Object && len(p.Fields) > 0:
			m, ok1 := v.(map[string]any)
			rm, ok2 := redacted[p.Name].(map[string]any)
			if ok1 && ok2 {
				redacted[p.Name] = showRefs(p.Fields, rm, m)
			}
		}
	}
	return redacted
}

// badRefs lists the secret fields of cfg that hold a malformed reference.
func badRefs(params []configspec.Param, cfg map[string]any, prefix string) configspec.Errors {
	var errs configspec.Errors
	for _, p := range params {
		v, ok := cfg[p.Name]
		if !ok {
			continue
		}
		path := configspec.JoinPath(prefix, p.Name)
		switch {
		case p.Secret:
			if ref, isStr := v.(string); isStr && secretref.IsRef(ref) {
				if _, err := secretref.Parse(ref); err != nil {
					errs = append(errs, configspec.FieldError{Path: path, Message: err.Error()})
				}
			}
		case p.Type == configspec.Object && len(p.Fields) > 0:
			if m, isMap := v.(map[string]any); isMap {
				errs = append(errs, badRefs(p.Fields, m, path)...)
			}
		}
	}
	return errs
}
