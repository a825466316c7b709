package expr

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	exprlang "github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"

	"github.com/dataaggregator/aggregator/internal/record"
)

// Program is an expression compiled against a schema. It evaluates rows of that schema with a
// reused environment map and VM: only the fields the expression names are loaded per row.
// A Program is used by one goroutine at a time.
type Program struct {
	src  string
	prog *vm.Program
	// kind is the statically known result kind; known is false for untyped results.
	kind  record.Kind
	known bool
	refs  []fieldRef
	env   map[string]any
	vm    vm.VM
	// fast evaluates covered expressions without the VM (see exprfast.go); nil when not covered.
	fast fastEval
}

type fieldRef struct {
	name string
	idx  int
	// last is the value loaded for the previous row: when the next row has an equal value (a
	// status, a country, a flag), the boxed copy already in the environment is kept.
	last   record.Value
	loaded bool
}

// CheckSyntax parses src, so that a node's constructor reports syntax errors (and bad constant
// patterns) before any schema is known; names and types are checked by Compile once the schema is
// known. Positions are line:column, 1-based.
func CheckSyntax(src string) error {
	tree, err := parser.Parse(src)
	if err != nil {
		return errors.New(exprMessage(err))
	}
	return newFuncLib().checkConstPatterns(tree.Node)
}

// Compile compiles src against schema s. Errors read like
// `unknown field "x" at 1:5`.
func Compile(src string, s *record.Schema) (*Program, error) {
	typeEnv := make(types.Map, len(s.Fields))
	shadowed := aliasCalls{}
	for _, f := range s.Fields {
		typeEnv[f.Name] = typeSample(f.Kind)
		if isFunction(f.Name) {
			shadowed[f.Name] = true
		}
	}
	lib := newFuncLib()
	opts := append([]exprlang.Option{exprlang.Env(typeEnv)}, lib.options(shadowed)...)
	prog, err := exprlang.Compile(src, opts...)
	if err != nil {
		return nil, errors.New(exprMessage(err))
	}
	if err := lib.checkConstPatterns(prog.Node()); err != nil {
		return nil, err
	}
	p := &Program{src: src, prog: prog}
	p.kind, p.known = kindOfType(prog.Node().Type())
	p.fast = compileFast(prog.Node(), s)
	names := referencedFields(prog.Node(), s)
	p.env = make(map[string]any, len(names))
	for _, n := range names {
		p.refs = append(p.refs, fieldRef{name: n, idx: s.Index(n)})
	}
	return p, nil
}

// Run evaluates the program on row (of the schema it was compiled against). The result is a plain
// Go value (see convert.go); FromResult turns it into a record.Value.
func (p *Program) Run(row record.Row) (any, error) {
	if p.fast != nil {
		if v, ok := p.fast(row); ok {
			return v.box(), nil
		}
	}
	for i := range p.refs {
		r := &p.refs[i]
		v := row[r.idx]
		if r.loaded && v.Equal(r.last) {
			continue
		}
		p.env[r.name] = goValue(v)
		r.last, r.loaded = v, true
	}
	out, err := p.vm.Run(p.prog, p.env)
	if err != nil {
		return nil, errors.New(exprMessage(err))
	}
	return out, nil
}

// Source returns the expression's text.
func (p *Program) Source() string { return p.src }

// Kind returns the statically known result kind; known is false when the kind is only known at
// run time (untyped fields, json).
func (p *Program) Kind() (k record.Kind, known bool) { return p.kind, p.known }

// ReturnsDate reports whether the expression's outermost operation is parse_date, whose
// timestamp result is a date.
func (p *Program) ReturnsDate() bool {
	call, ok := p.prog.Node().(*ast.CallNode)
	if !ok {
		return false
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	return ok && id.Value == "parse_date"
}

// referencedFields lists the schema fields an expression names, as identifiers or as
// $env["name"]; a dynamic $env[...] index loads every field.
func referencedFields(root ast.Node, s *record.Schema) []string {
	seen := map[string]bool{}
	all := false
	ast.Find(root, func(n ast.Node) bool {
		switch t := n.(type) {
		case *ast.IdentifierNode:
			if s.Index(t.Value) >= 0 {
				seen[t.Value] = true
			}
		case *ast.MemberNode:
			if id, ok := t.Node.(*ast.IdentifierNode); ok && id.Value == "$env" {
				if str, ok := t.Property.(*ast.StringNode); ok {
					if s.Index(str.Value) >= 0 {
						seen[str.Value] = true
					}
				} else {
					all = true
				}
			}
		}
		return false
	})
	var out []string
	for _, f := range s.Fields {
		if all || seen[f.Name] {
			out = append(out, f.Name)
		}
	}
	return out
}

var unknownName = regexp.MustCompile(`^unknown name ([^\s]+)`)

// exprMessage turns an expr-lang error into one line: message at line:column.
func exprMessage(err error) string {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return err.Error()
	}
	msg := fe.Message
	if m := unknownName.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("unknown field %q", m[1])
	}
	msg = strings.ReplaceAll(msg, "\n", " ")
	if fe.Line == 0 {
		return msg
	}
	return fmt.Sprintf("%s at %d:%d", msg, fe.Line, fe.Column+1)
}
