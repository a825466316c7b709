package pipeline

import (
	"fmt"
	"slices"
	"strings"
)

// ExpandEnv replaces ${NAME} and ${NAME:-default} in every string value of the sources',
// transforms' and destinations' configs (in nested objects and lists too) with the variable's value
// from lookup; ${NAME:-default} takes default when NAME is unset or empty, and $$ is a literal $.
// An unset variable without a default, or a malformed reference, is a Problem naming it at its
// path. Only the command line calls it, when it loads a pipeline file (so that tokens and
// passwords stay out of YAML); the server never does: a pipeline designer could otherwise read the
// server's environment.
func ExpandEnv(s *Spec, lookup func(string) (string, bool)) Problems {
	var ps Problems
	add := func(path, msg string) {
		p := Problem{Path: path, Message: msg}
		if pos, ok := s.PositionOf(path); ok {
			p.Line, p.Column = pos.Line, pos.Column
		}
		ps = append(ps, p)
	}
	var walk func(v any, path string) any
	walk = func(v any, path string) any {
		switch x := v.(type) {
		case string:
			out, err := expand(x, lookup)
			if err != nil {
				add(path, err.Error())
				return x
			}
			return out
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				x[k] = walk(x[k], path+"."+k)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e, fmt.Sprintf("%s[%d]", path, i))
			}
		}
		return v
	}
	for i := range s.Sources {
		walk(s.Sources[i].Config, fmt.Sprintf("sources[%d].config", i))
	}
	for i := range s.Transforms {
		walk(s.Transforms[i].Config, fmt.Sprintf("transforms[%d].config", i))
	}
	for i := range s.Destinations {
		walk(s.Destinations[i].Config, fmt.Sprintf("destinations[%d].config", i))
	}
	return ps
}

// expand replaces the references in one string.
// ExpandString replaces ${NAME} and ${NAME:-default} in one string as ExpandEnv does; the error
// names an unset variable or a malformed reference.
func ExpandString(s string, lookup func(string) (string, bool)) (string, error) {
	return expand(s, lookup)
}

func expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	var missing []string
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c != '$' || i+1 == len(s):
			b.WriteByte(c)
		case s[i+1] == '$':
			b.WriteByte('$')
			i++
		case s[i+1] == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ in %q: write ${NAME}, or $$ for a literal $", abbreviate(s))
			}
			ref := s[i+2 : i+2+end]
			name, def, hasDef := strings.Cut(ref, ":-")
			if !validName(name) {
				return "", fmt.Errorf("${%s}: %q is not an environment variable name (letters, digits and _, not starting with a digit)", ref, name)
			}
			v, ok := lookup(name)
			switch {
			case hasDef && (!ok || v == ""):
				v = def
			case !ok:
				missing = append(missing, name)
			}
			b.WriteString(v)
			i += 2 + end
		default:
			b.WriteByte(c)
		}
	}
	switch len(missing) {
	case 0:
		return b.String(), nil
	case 1:
		return "", fmt.Errorf("environment variable %s is not set (use ${%s:-default} for a default)", missing[0], missing[0])
	}
	return "", fmt.Errorf("environment variables %s are not set", strings.Join(missing, ", "))
}

func validName(n string) bool {
	if n == "" || (n[0] >= '0' && n[0] <= '9') {
		return false
	}
	for _, c := range n {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
