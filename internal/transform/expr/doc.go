// Package expr is the expression language of the transformation nodes: expr-lang
// (github.com/expr-lang/expr) compiled against a record schema, the function library
// (docs/expressions.md lists every function; a test keeps the page in step), and a fast path
// that evaluates plain arithmetic, comparisons and logic over numeric and boolean fields without
// the VM and gives exactly the VM's results.
//
// CheckSyntax parses an expression before any schema is known; Compile type-checks it against a
// schema and returns a Program, whose Run evaluates one row and returns a plain Go value
// (convert.go says how values map) that FromResult turns into a record.Value of the wanted kind.
// Errors name the problem and its line:column ("unknown field \"x\" at 1:5"). A Program is used by
// one goroutine at a time; compile one per node per run. No function panics, and every function
// bounds what it allocates (pad widths, the per-program pattern cache).
package expr
