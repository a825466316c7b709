package configspec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// Describe returns the Spec of the configuration type T. bind declares T's parameters on b, each one
// tied to a field of c, in the order forms show them, with its documentation and rules:
//
//	type filterConfig struct{ Expression string }
//
//	var filterSpec = configspec.Describe(func(c *filterConfig, b *configspec.Builder) {
//		b.String(&c.Expression, "expression").Required().Min(1).Doc("A boolean expression.")
//	})
//
// This binding is the one description of the configuration: the parameter list (and with it the
// JSON Schema, the docs' option tables, validation and redaction) and the decoding into T both come
// from it, so the struct carries no tags and nothing repeats it. Describe calls bind once on a zero
// T to list the parameters; Spec.Decode calls it again on the destination to fill it. bind must
// therefore only declare parameters (the same ones on every call) and do nothing else.
func Describe[T any](bind func(c *T, b *Builder)) Spec {
	var zero T
	b := &Builder{}
	bind(&zero, b)
	return Spec{
		Params: b.list(),
		bind: func(dst any) (*Builder, error) {
			c, ok := dst.(*T)
			if !ok {
				return nil, fmt.Errorf("configspec: the spec describes %T, cannot decode into %T", (*T)(nil), dst)
			}
			nb := &Builder{}
			bind(c, nb)
			return nb, nil
		},
	}
}

// Builder collects the parameters of one configuration object and how to decode each into the
// field it is bound to. Describe hands one to a binding function; Object and List hand one to the
// binding of a nested object (Nested, List).
type Builder struct {
	params []*Param
	sets   []setter // sets[i] decodes params[i]
}

// setter stores a validated raw value (or the default) in the bound field; problems are added to
// errs with path.
type setter func(v any, path string, errs *Errors)

// Field is a declared parameter; its methods set the parameter's documentation and rules and return
// the Field, so that they chain. T is the bound field's Go type.
type Field[T any] struct{ p *Param }

func declare[T any](b *Builder, p Param, set setter) Field[T] {
	pp := &p
	b.params = append(b.params, pp)
	b.sets = append(b.sets, set)
	return Field[T]{pp}
}

func (b *Builder) list() []Param {
	out := make([]Param, len(b.params))
	for i, p := range b.params {
		out[i] = *p
	}
	return out
}

// decode fills the bound fields from raw (already validated): each parameter that raw lacks (or
// sets to null) takes its default, or keeps the field's zero value when it has none.
func (b *Builder) decode(raw map[string]any, path string, errs *Errors) {
	for i, p := range b.params {
		v, ok := raw[p.Name]
		if !ok || v == nil {
			if p.Default == nil {
				continue
			}
			v = p.Default
		}
		b.sets[i](v, JoinPath(path, p.Name), errs)
	}
}

// Doc sets the description shown in the docs, the JSON Schema and the UI.
func (f Field[T]) Doc(description string) Field[T] { f.p.Description = description; return f }

// Default sets the value a missing parameter takes (it is then never required).
func (f Field[T]) Default(v T) Field[T] { f.p.Default = v; return f }

// Required makes the parameter mandatory (unless it has a default).
func (f Field[T]) Required() Field[T] { f.p.Required = true; return f }

// Secret marks a credential: never returned by the API nor logged; the UI draws a password field.
func (f Field[T]) Secret() Field[T] { f.p.Secret = true; return f }

// PerPipeline lets a pipeline that uses a saved connector set the parameter beside `connector:`
// (Param.PerPipeline): only for what to read or write and how, never for connection settings.
func (f Field[T]) PerPipeline() Field[T] { f.p.PerPipeline = true; return f }

// Enum lists the allowed values of a string, or of the elements of a list or map of strings.
func (f Field[T]) Enum(values ...string) Field[T] {
	if f.p.Type != String && f.p.Items != nil {
		f.p.Items.Enum = values
	} else {
		f.p.Enum = values
	}
	return f
}

// Variants make a Nested object a tagged union (see Param.Variants): discriminator, one of its
// string fields, picks which of the other fields may be given.
func (f Field[T]) Variants(discriminator string, variants ...Variant) Field[T] {
	f.p.Discriminator, f.p.Variants = discriminator, variants
	return f
}

// Pattern sets a regular expression a string must match.
func (f Field[T]) Pattern(re string) Field[T] { f.p.Pattern = re; return f }

// Min sets the minimum of a number, the minimum length of a string, or the minimum number of items
// of a list.
func (f Field[T]) Min(v float64) Field[T] { f.p.Min = Ptr(v); return f }

// Max sets the maximum of a number.
func (f Field[T]) Max(v float64) Field[T] { f.p.Max = Ptr(v); return f }

// Example adds examples, shown in the docs and the UI.
func (f Field[T]) Example(values ...any) Field[T] {
	f.p.Examples = append(f.p.Examples, values...)
	return f
}

// String declares a string parameter bound to p.
func (b *Builder) String(p *string, name string) Field[string] {
	return declare[string](b, Param{Name: name, Type: String}, func(v any, path string, errs *Errors) {
		if s, ok := v.(string); ok {
			*p = s
			return
		}
		errs.add(path, "must be a string, got %s", jsonKind(v))
	})
}

// Bool declares a boolean parameter bound to p.
func (b *Builder) Bool(p *bool, name string) Field[bool] {
	return declare[bool](b, Param{Name: name, Type: Boolean}, func(v any, path string, errs *Errors) {
		if t, ok := v.(bool); ok {
			*p = t
			return
		}
		errs.add(path, "must be true or false, got %s", jsonKind(v))
	})
}

// Int declares an integer parameter bound to p.
func (b *Builder) Int(p *int, name string) Field[int] {
	return declare[int](b, Param{Name: name, Type: Integer}, func(v any, path string, errs *Errors) {
		if i, ok := wholeNumber(v, path, errs); ok {
			if int64(int(i)) != i {
				errs.add(path, "%d is out of range", i)
				return
			}
			*p = int(i)
		}
	})
}

// IntPtr declares an integer parameter bound to p, which stays nil when the parameter is absent.
func (b *Builder) IntPtr(p **int, name string) Field[int] {
	return declare[int](b, Param{Name: name, Type: Integer}, func(v any, path string, errs *Errors) {
		if i, ok := wholeNumber(v, path, errs); ok {
			if int64(int(i)) != i {
				errs.add(path, "%d is out of range", i)
				return
			}
			n := int(i)
			*p = &n
		}
	})
}

// Int64 declares an integer parameter bound to p.
func (b *Builder) Int64(p *int64, name string) Field[int64] {
	return declare[int64](b, Param{Name: name, Type: Integer}, func(v any, path string, errs *Errors) {
		if i, ok := wholeNumber(v, path, errs); ok {
			*p = i
		}
	})
}

// Float declares a number parameter bound to p.
func (b *Builder) Float(p *float64, name string) Field[float64] {
	return declare[float64](b, Param{Name: name, Type: Number}, func(v any, path string, errs *Errors) {
		if f, ok := AsNumber(v); ok {
			*p = f
			return
		}
		errs.add(path, "must be a number, got %s", jsonKind(v))
	})
}

// Strings declares a list of strings bound to p.
func (b *Builder) Strings(p *[]string, name string) Field[[]string] {
	return declare[[]string](b, Param{Name: name, Type: Array, Items: &Param{Type: String}}, func(v any, path string, errs *Errors) {
		switch t := v.(type) {
		case []string:
			*p = append([]string(nil), t...)
		case []any:
			out := make([]string, len(t))
			for i, e := range t {
				s, ok := e.(string)
				if !ok {
					errs.add(fmt.Sprintf("%s[%d]", path, i), "must be a string, got %s", jsonKind(e))
					return
				}
				out[i] = s
			}
			*p = out
		default:
			errs.add(path, "must be a list, got %s", jsonKind(v))
		}
	})
}

// StringMap declares an object of string values (any keys) bound to p.
func (b *Builder) StringMap(p *map[string]string, name string) Field[map[string]string] {
	return declare[map[string]string](b, Param{Name: name, Type: Object, Items: &Param{Type: String}}, func(v any, path string, errs *Errors) {
		switch t := v.(type) {
		case map[string]string:
			out := make(map[string]string, len(t))
			for k, s := range t {
				out[k] = s
			}
			*p = out
		case map[string]any:
			out := make(map[string]string, len(t))
			for k, e := range t {
				s, ok := e.(string)
				if !ok {
					errs.add(JoinPath(path, k), "must be a string, got %s", jsonKind(e))
					return
				}
				out[k] = s
			}
			*p = out
		default:
			errs.add(path, "must be an object, got %s", jsonKind(v))
		}
	})
}

// Any declares a parameter of any JSON type bound to p. Numbers arrive as json.Number, so that no
// digit is lost; objects as map[string]any and lists as []any.
func (b *Builder) Any(p *any, name string) Field[any] {
	return declare[any](b, Param{Name: name, Type: Any}, func(v any, path string, errs *Errors) {
		if n, ok := normalise(v, path, errs); ok {
			*p = n
		}
	})
}

// AnyList declares a list of values of any JSON type bound to p (numbers as json.Number).
func (b *Builder) AnyList(p *[]any, name string) Field[[]any] {
	return declare[[]any](b, Param{Name: name, Type: Array, Items: &Param{Type: Any}}, func(v any, path string, errs *Errors) {
		n, ok := normalise(v, path, errs)
		if !ok {
			return
		}
		l, ok := n.([]any)
		if !ok {
			errs.add(path, "must be a list, got %s", jsonKind(v))
			return
		}
		*p = l
	})
}

// AnyMap declares an object of values of any JSON type bound to p (numbers as json.Number).
func (b *Builder) AnyMap(p *map[string]any, name string) Field[map[string]any] {
	return declare[map[string]any](b, Param{Name: name, Type: Object, Items: &Param{Type: Any}}, func(v any, path string, errs *Errors) {
		n, ok := normalise(v, path, errs)
		if !ok {
			return
		}
		m, ok := n.(map[string]any)
		if !ok {
			errs.add(path, "must be an object, got %s", jsonKind(v))
			return
		}
		*p = m
	})
}

// Nested declares a nested object whose parameters bind declares on the fields of a T; p is
// allocated when the object is given (or has a default), and stays nil otherwise. The nested
// parameters' defaults apply whenever the object is given.
func Nested[T any](b *Builder, p **T, name string, bind func(c *T, b *Builder)) Field[map[string]any] {
	var zero T
	child := &Builder{}
	bind(&zero, child)
	return declare[map[string]any](b, Param{Name: name, Type: Object, Fields: child.list()}, func(v any, path string, errs *Errors) {
		m, ok := v.(map[string]any)
		if !ok {
			errs.add(path, "must be an object, got %s", jsonKind(v))
			return
		}
		c := new(T)
		nb := &Builder{}
		bind(c, nb)
		nb.decode(m, path, errs)
		*p = c
	})
}

// List declares a list of objects whose parameters bind declares on the fields of each T.
func List[T any](b *Builder, p *[]T, name string, bind func(c *T, b *Builder)) Field[[]any] {
	var zero T
	child := &Builder{}
	bind(&zero, child)
	items := &Param{Type: Object, Fields: child.list()}
	return declare[[]any](b, Param{Name: name, Type: Array, Items: items}, func(v any, path string, errs *Errors) {
		l, ok := v.([]any)
		if !ok {
			errs.add(path, "must be a list, got %s", jsonKind(v))
			return
		}
		out := make([]T, len(l))
		for i, e := range l {
			ipath := fmt.Sprintf("%s[%d]", path, i)
			m, ok := e.(map[string]any)
			if !ok {
				errs.add(ipath, "must be an object, got %s", jsonKind(e))
				continue
			}
			nb := &Builder{}
			bind(&out[i], nb)
			nb.decode(m, ipath, errs)
		}
		*p = out
	})
}

func (es *Errors) add(path, format string, args ...any) {
	*es = append(*es, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// wholeNumber reads v as an int64, exactly: a fraction or a value outside int64 is an error.
func wholeNumber(v any, path string, errs *Errors) (int64, bool) {
	i, msg := exactInt(v)
	if msg != "" {
		errs.add(path, "%s", msg)
		return 0, false
	}
	return i, true
}

// exactInt reads a decoded JSON or YAML number as an int64; msg says why it cannot be one.
func exactInt(v any) (i int64, msg string) {
	switch n := v.(type) {
	case int:
		return int64(n), ""
	case int64:
		return n, ""
	case uint64:
		if n <= math.MaxInt64 {
			return int64(n), ""
		}
		return 0, fmt.Sprintf("must be at most %d, got %d", int64(math.MaxInt64), n)
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, ""
		}
	}
	f, ok := AsNumber(v)
	if !ok {
		return 0, "must be a number, got " + jsonKind(v)
	}
	switch {
	case f != math.Trunc(f):
		return 0, fmt.Sprintf("must be a whole number, got %v", v)
	case f < math.MinInt64 || f >= math.MaxInt64:
		return 0, fmt.Sprintf("must be a whole number between %d and %d, got %v", int64(math.MinInt64), int64(math.MaxInt64), v)
	}
	return int64(f), ""
}

// normalise returns v as encoding/json decodes it with UseNumber: maps as map[string]any, lists as
// []any, numbers as json.Number. Configs come from JSON or YAML, whose decoders differ.
func normalise(v any, path string, errs *Errors) (any, bool) {
	b, err := json.Marshal(v)
	if err != nil {
		errs.add(path, "is not a JSON value: %v", err)
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		errs.add(path, "is not a JSON value: %v", err)
		return nil, false
	}
	return out, true
}
