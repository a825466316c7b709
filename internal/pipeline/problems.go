package pipeline

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dataaggregator/aggregator/internal/configspec"
)

// Problem is one thing wrong with a spec, at a path such as "transforms[0].config.expression".
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	// Line and Column locate the path in the document when it was parsed from text (0: unknown).
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Line > 0 {
		fmt.Fprintf(&b, " (line %d, column %d)", p.Line, p.Column)
	}
	return b.String()
}

// Problems is every problem found in a spec; it is the error Parse and Validate return.
type Problems []Problem

func (ps Problems) Error() string {
	if len(ps) == 1 {
		return "invalid pipeline: " + ps[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "invalid pipeline: %d problems:", len(ps))
	for _, p := range ps {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// AsProblems extracts the Problems from an error returned by Parse or Validate.
func AsProblems(err error) (Problems, bool) {
	var ps Problems
	if errors.As(err, &ps) {
		return ps, true
	}
	return nil, false
}

// collector gathers problems and places them in the document.
type collector struct {
	spec  *Spec
	probs Problems
}

func (c *collector) add(path, format string, args ...any) {
	p := Problem{Path: path, Message: fmt.Sprintf(format, args...)}
	if pos, ok := c.spec.PositionOf(path); ok {
		p.Line, p.Column = pos.Line, pos.Column
	}
	c.probs = append(c.probs, p)
}

// addErr records err at path; configspec errors keep their own paths below it.
func (c *collector) addErr(path string, err error) {
	var ces configspec.Errors
	if errors.As(err, &ces) {
		for _, e := range ces.Prefix(path) {
			c.add(e.Path, "%s", e.Message)
		}
		return
	}
	var fe configspec.FieldError
	if errors.As(err, &fe) {
		c.add(configspec.JoinPath(path, fe.Path), "%s", fe.Message)
		return
	}
	c.add(path, "%s", err.Error())
}

func (c *collector) err() error {
	if len(c.probs) == 0 {
		return nil
	}
	return c.probs
}
