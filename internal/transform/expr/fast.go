package expr

import (
	"github.com/expr-lang/expr/ast"

	"github.com/dataaggregator/aggregator/internal/record"
)

// A fast path for the commonest expressions: arithmetic, comparisons and logic over int, float,
// decimal and bool fields and number literals ("price * quantity", "active && quantity > 2"). It
// evaluates the type-checked tree straight from the row's values, without boxing them into the
// expr-lang environment, and gives exactly the results the expr-lang VM gives (the same Go types:
// int arithmetic in int, mixed in float64, "/" always float64). Any other node makes the whole
// expression use the VM; a row where a field is null (or of an unexpected kind) goes to the VM too,
// so errors and null semantics stay expr-lang's.

type fastKind uint8

const (
	fastInt   fastKind = iota + 1 // Go int (literals, int arithmetic)
	fastInt64                     // int64 (an int field as loaded by goValue)
	fastFloat
	fastBool
)

type fastVal struct {
	k fastKind
	i int64 // int, int64 and bool (0/1)
	f float64
}

// fastEval evaluates a node on a row; ok is false when the row needs the VM.
type fastEval func(row record.Row) (v fastVal, ok bool)

func isNum(k fastKind) bool { return k == fastInt || k == fastInt64 || k == fastFloat }

func (v fastVal) float() float64 {
	if v.k == fastFloat {
		return v.f
	}
	return float64(v.i)
}

// box returns the value as the VM would.
func (v fastVal) box() any {
	switch v.k {
	case fastInt:
		return int(v.i)
	case fastInt64:
		return v.i
	case fastFloat:
		return v.f
	}
	return v.i != 0
}

// compileFast returns a fast evaluator for the tree, or nil when some node is not covered.
func compileFast(root ast.Node, s *record.Schema) fastEval {
	ev, _, ok := fastNode(root, s)
	if !ok {
		return nil
	}
	return ev
}

func fastConst(v fastVal) (fastEval, fastKind, bool) {
	return func(record.Row) (fastVal, bool) { return v, true }, v.k, true
}

func fastNode(n ast.Node, s *record.Schema) (fastEval, fastKind, bool) {
	switch t := n.(type) {
	case *ast.IntegerNode:
		return fastConst(fastVal{k: fastInt, i: int64(t.Value)})
	case *ast.FloatNode:
		return fastConst(fastVal{k: fastFloat, f: t.Value})
	case *ast.BoolNode:
		return fastConst(fastVal{k: fastBool, i: b2i(t.Value)})
	case *ast.ConstantNode:
		switch c := t.Value.(type) {
		case int:
			return fastConst(fastVal{k: fastInt, i: int64(c)})
		case int64:
			return fastConst(fastVal{k: fastInt64, i: c})
		case float64:
			return fastConst(fastVal{k: fastFloat, f: c})
		case bool:
			return fastConst(fastVal{k: fastBool, i: b2i(c)})
		}
	case *ast.IdentifierNode:
		return fastField(t.Value, s)
	case *ast.UnaryNode:
		return fastUnary(t, s)
	case *ast.BinaryNode:
		return fastBinary(t, s)
	}
	return nil, 0, false
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func fastField(name string, s *record.Schema) (fastEval, fastKind, bool) {
	idx := s.Index(name)
	if idx < 0 {
		return nil, 0, false
	}
	switch s.Fields[idx].Kind {
	case record.KindInt:
		return func(row record.Row) (fastVal, bool) {
			v := row[idx]
			return fastVal{k: fastInt64, i: v.AsInt()}, v.Kind() == record.KindInt
		}, fastInt64, true
	case record.KindFloat, record.KindDecimal:
		k := s.Fields[idx].Kind
		return func(row record.Row) (fastVal, bool) {
			v := row[idx]
			if v.Kind() != k {
				return fastVal{}, false
			}
			return fastVal{k: fastFloat, f: v.AsFloat()}, true
		}, fastFloat, true
	case record.KindBool:
		return func(row record.Row) (fastVal, bool) {
			v := row[idx]
			return fastVal{k: fastBool, i: b2i(v.AsBool())}, v.Kind() == record.KindBool
		}, fastBool, true
	}
	return nil, 0, false
}

func fastUnary(t *ast.UnaryNode, s *record.Schema) (fastEval, fastKind, bool) {
	x, k, ok := fastNode(t.Node, s)
	if !ok {
		return nil, 0, false
	}
	switch {
	case (t.Operator == "!" || t.Operator == "not") && k == fastBool:
		return func(row record.Row) (fastVal, bool) {
			v, ok := x(row)
			v.i ^= 1
			return v, ok
		}, k, true
	case t.Operator == "+" && isNum(k):
		return x, k, true
	case t.Operator == "-" && isNum(k):
		return func(row record.Row) (fastVal, bool) {
			v, ok := x(row)
			v.i, v.f = -v.i, -v.f
			return v, ok
		}, k, true
	}
	return nil, 0, false
}

func fastBinary(t *ast.BinaryNode, s *record.Schema) (fastEval, fastKind, bool) {
	l, lk, ok := fastNode(t.Left, s)
	if !ok {
		return nil, 0, false
	}
	r, rk, ok := fastNode(t.Right, s)
	if !ok {
		return nil, 0, false
	}
	switch t.Operator {
	case "&&", "and", "||", "or":
		if lk != fastBool || rk != fastBool {
			return nil, 0, false
		}
		or := t.Operator == "||" || t.Operator == "or"
		return func(row record.Row) (fastVal, bool) {
			a, ok := l(row)
			if !ok {
				return a, false
			}
			if (a.i != 0) == or { // short circuit, as the VM does
				return a, true
			}
			return r(row)
		}, fastBool, true
	}
	if !isNum(lk) || !isNum(rk) {
		if (t.Operator == "==" || t.Operator == "!=") && lk == fastBool && rk == fastBool {
			ne := t.Operator == "!="
			return func(row record.Row) (fastVal, bool) {
				a, ok1 := l(row)
				b, ok2 := r(row)
				return fastVal{k: fastBool, i: b2i((a.i == b.i) != ne)}, ok1 && ok2
			}, fastBool, true
		}
		return nil, 0, false
	}
	ints := lk != fastFloat && rk != fastFloat
	type op2 struct {
		i  func(a, b int64) int64
		f  func(a, b float64) float64
		c  func(a, b float64) bool
		ci func(a, b int64) bool
	}
	var o op2
	switch t.Operator {
	case "+":
		o = op2{i: func(a, b int64) int64 { return a + b }, f: func(a, b float64) float64 { return a + b }}
	case "-":
		o = op2{i: func(a, b int64) int64 { return a - b }, f: func(a, b float64) float64 { return a - b }}
	case "*":
		o = op2{i: func(a, b int64) int64 { return a * b }, f: func(a, b float64) float64 { return a * b }}
	case "/":
		o = op2{f: func(a, b float64) float64 { return a / b }}
		ints = false
	case "<":
		o = op2{c: func(a, b float64) bool { return a < b }, ci: func(a, b int64) bool { return a < b }}
	case ">":
		o = op2{c: func(a, b float64) bool { return a > b }, ci: func(a, b int64) bool { return a > b }}
	case "<=":
		o = op2{c: func(a, b float64) bool { return a <= b }, ci: func(a, b int64) bool { return a <= b }}
	case ">=":
		o = op2{c: func(a, b float64) bool { return a >= b }, ci: func(a, b int64) bool { return a >= b }}
	case "==":
		o = op2{c: func(a, b float64) bool { return a == b }, ci: func(a, b int64) bool { return a == b }}
	case "!=":
		o = op2{c: func(a, b float64) bool { return a != b }, ci: func(a, b int64) bool { return a != b }}
	default:
		return nil, 0, false
	}
	switch {
	case o.ci != nil && ints:
		return func(row record.Row) (fastVal, bool) {
			a, ok1 := l(row)
			b, ok2 := r(row)
			return fastVal{k: fastBool, i: b2i(o.ci(a.i, b.i))}, ok1 && ok2
		}, fastBool, true
	case o.c != nil:
		return func(row record.Row) (fastVal, bool) {
			a, ok1 := l(row)
			b, ok2 := r(row)
			return fastVal{k: fastBool, i: b2i(o.c(a.float(), b.float()))}, ok1 && ok2
		}, fastBool, true
	case ints:
		return func(row record.Row) (fastVal, bool) {
			a, ok1 := l(row)
			b, ok2 := r(row)
			return fastVal{k: fastInt, i: o.i(a.i, b.i)}, ok1 && ok2
		}, fastInt, true
	default:
		return func(row record.Row) (fastVal, bool) {
			a, ok1 := l(row)
			b, ok2 := r(row)
			return fastVal{k: fastFloat, f: o.f(a.float(), b.float())}, ok1 && ok2
		}, fastFloat, true
	}
}
