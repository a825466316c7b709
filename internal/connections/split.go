package connections

import (
	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/secretref"
)

// split returns cfg with each secret value replaced by configspec.Redacted (so the stored config
// says which secrets are set, and reads need no decryption), and the secret values alone (nil when
// there are none). Secrets in nested objects (a param of type object with Fields) are split at
// their path. A secret already equal to configspec.Redacted is not a secret value.
func split(params []configspec.Param, cfg map[string]any) (plain, secret map[string]any) {
	plain = make(map[string]any, len(cfg))
	for k, v := range cfg {
		plain[k] = v
	}
	for _, p := range params {
		v, ok := plain[p.Name]
		if !ok {
			continue
		}
		switch {
		case p.Secret:
			if v == nil || v == configspec.Redacted {
				delete(plain, p.Name) // a placeholder with nothing behind it
				continue
			}
			if ref, ok := v.(string); ok && secretref.IsRef(ref) {
				continue // a reference is not a secret: it stays in the config as written
			}
			plain[p.Name] = configspec.Redacted
			if secret == nil {
				secret = map[string]any{}
			}
			secret[p.Name] = v
		case p.Type == configspec.Object && len(p.Fields) > 0:
			m, isMap := v.(map[string]any)
			if !isMap {
				continue
			}
			np, ns := split(p.Fields, m)
			plain[p.Name] = np
			if ns != nil {
				if secret == nil {
					secret = map[string]any{}
				}
				secret[p.Name] = ns
			}
		}
	}
	return plain, secret
}

// join returns plain with the secret values put back at their paths.
func join(plain, secret map[string]any) map[string]any {
	out := make(map[string]any, len(plain)+len(secret))
	for k, v := range plain {
		out[k] = v
	}
	for k, sv := range secret {
		sm, secretIsMap := sv.(map[string]any)
		pm, plainIsMap := out[k].(map[string]any)
		if secretIsMap && plainIsMap {
			out[k] = join(pm, sm)
			continue
		}
		out[k] = sv
	}
	return out
}

// hasSecrets reports whether cfg holds a value for a secret field.
func hasSecrets(params []configspec.Param, cfg map[string]any) bool {
	_, s := split(params, cfg)
	return s != nil
}

// mergeSecrets fills each secret that update leaves out or sends as configspec.Redacted with its
// stored value, in nested objects too, so that a client can send back what it read.
func mergeSecrets(params []configspec.Param, update, stored map[string]any) map[string]any {
	out := make(map[string]any, len(update))
	for k, v := range update {
		out[k] = v
	}
	for _, p := range params {
		v, given := out[p.Name]
		sv, has := stored[p.Name]
		switch {
		case p.Secret:
			if (!given || v == configspec.Redacted) && has {
				out[p.Name] = sv
			}
		case p.Type == configspec.Object && len(p.Fields) > 0:
			um, uok := v.(map[string]any)
			sm, sok := sv.(map[string]any)
			if uok && sok {
				out[p.Name] = mergeSecrets(p.Fields, um, sm)
			}
		}
	}
	return out
}
