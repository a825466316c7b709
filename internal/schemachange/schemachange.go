package schemachange

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Policy is a destination's schema-change policy (write.schema_changes).
type Policy string

// Policies.
const (
	// Evolve applies the safe changes (a column added, a type widened), keeps writing when a column
	// was removed or a type narrowed (the destination still holds every value) and stops on the rest.
	Evolve Policy = "evolve"
	// Fail stops the run before anything is written when there is any change.
	Fail Policy = "fail"
	// Quarantine writes the rows that still fit and sends the rows that carry a value of a new column
	// or a value the destination column cannot hold to the dead letters, naming the change.
	Quarantine Policy = "quarantine"
	// Review pauses the run until a designer approves (the changes are applied) or rejects the changes.
	Review Policy = "review"
)

// Policies lists every policy, the default first.
var Policies = []Policy{Evolve, Fail, Quarantine, Review}

// OrDefault is p, or Evolve when p is empty.
func (p Policy) OrDefault() Policy {
	if p == "" {
		return Evolve
	}
	return p
}

// Valid reports whether p is empty or one of the policies.
func (p Policy) Valid() bool { return p == "" || slices.Contains(Policies, p) }

// Kind is the kind of a schema change.
type Kind string

// Kinds of change.
const (
	Added        Kind = "column_added"
	Removed      Kind = "column_removed"
	Widened      Kind = "type_widened"
	Narrowed     Kind = "type_narrowed"
	Incompatible Kind = "type_incompatible"
	KeyChanged   Kind = "key_changed"
)

// Kinds lists every kind a policy knows.
var Kinds = []Kind{Added, Removed, Widened, Narrowed, Incompatible, KeyChanged}

// Where a change was seen.
const (
	// AgainstPrevious: the schema of the destination's last successful run.
	AgainstPrevious = "previous_run"
	// AgainstDestination: the destination table as it is.
	AgainstDestination = "destination"
)

// Change is one classified difference.
type Change struct {
	// Column is the column changed ("" for a key change).
	Column string `json:"column"`
	Kind   Kind   `json:"kind"`
	// OldType and NewType are the types before and after ("" when there is none: a column added has
	// no old type); for a key change, the key columns joined by commas.
	OldType string `json:"old_type,omitempty"`
	NewType string `json:"new_type,omitempty"`
	// Against says what the run's schema was compared with: AgainstPrevious or AgainstDestination.
	Against string `json:"against"`
}

func (c Change) String() string {
	what := strings.ReplaceAll(string(c.Kind), "_", " ")
	switch {
	case c.Kind == KeyChanged:
		return fmt.Sprintf("key changed (%s) -> (%s)", c.OldType, c.NewType)
	case c.OldType != "" && c.NewType != "":
		return fmt.Sprintf("column %q: %s %s -> %s", c.Column, what, c.OldType, c.NewType)
	case c.NewType != "":
		return fmt.Sprintf("column %q: %s (%s)", c.Column, what, c.NewType)
	case c.OldType != "":
		return fmt.Sprintf("column %q: %s (was %s)", c.Column, what, c.OldType)
	}
	return fmt.Sprintf("column %q: %s", c.Column, what)
}

// Same reports whether two changes are the same change (an approval matches it).
func (c Change) Same(o Change) bool {
	return c.Column == o.Column && c.Kind == o.Kind && c.NewType == o.NewType
}

// Snapshot is the schema a destination received in a successful run, and its key.
type Snapshot struct {
	Schema *record.Schema `json:"schema"`
	Key    []string       `json:"key,omitempty"`
}

// Widens reports whether every value of kind from is a value of kind to without loss: null into
// anything; int into float or decimal; float into decimal; date into timestamp; anything but bytes
// into string.
func Widens(from, to record.Kind) bool {
	switch {
	case from == to:
		return false
	case from == record.KindNull:
		return true
	case to == record.KindString:
		return from != record.KindBytes
	case from == record.KindInt:
		return to == record.KindFloat || to == record.KindDecimal
	case from == record.KindFloat:
		return to == record.KindDecimal
	case from == record.KindDate:
		return to == record.KindTimestamp
	}
	return false
}

func typeName(f record.Field) string {
	if f.Native != "" && !strings.EqualFold(f.Native, f.Kind.String()) {
		return f.Kind.String() + " (" + f.Native + ")"
	}
	return f.Kind.String()
}

func colType(c connector.TargetColumn) string {
	if c.Native != "" {
		return c.Kind.String() + " (" + c.Native + ")"
	}
	return c.Kind.String()
}

// Classify compares the schema a run reads (cur, written with key) with the snapshot of the last
// successful run (prev; nil: none) and with the destination table (target; nil or not Exists:
// none). fold is how the destination compares column names (nil: exactly). The changes come in the
// order of the run's fields, then removed columns, then a key change; a column changed in both
// comparisons is reported once, as the destination sees it.
//
// Against the table: a field the table lacks is a column added; a field whose kind the column does
// not hold is a type widened when the column's type can be widened to it, else incompatible. A
// string field into a typed column is a change only when the last run's field was typed too (an
// untyped source, such as CSV, is parsed row by row as before). Against the last run: fields added
// and removed, kinds widened, narrowed or incompatible (see Widens), and the key.
func Classify(prev *Snapshot, cur *record.Schema, key []string, target *connector.Target, fold func(string) string) []Change {
	if fold == nil {
		fold = func(s string) string { return s }
	}
	var out []Change
	seen := map[string]bool{}
	add := func(c Change) {
		k := fold(c.Column) + "\x00" + string(c.Kind)
		if !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	var prevField map[string]record.Field
	if prev != nil && prev.Schema != nil {
		prevField = make(map[string]record.Field, len(prev.Schema.Fields))
		for _, f := range prev.Schema.Fields {
			prevField[fold(f.Name)] = f
		}
	}
	var cols map[string]connector.TargetColumn
	if target != nil && target.Exists {
		cols = make(map[string]connector.TargetColumn, len(target.Columns))
		for _, c := range target.Columns {
			cols[fold(c.Name)] = c
		}
	}
	skip := map[string]bool{}
	if target != nil {
		for _, n := range target.Skip {
			skip[fold(n)] = true
		}
	}
	var fromPrev []Change
	for _, f := range cur.Fields {
		name := fold(f.Name)
		if skip[name] {
			continue
		}
		pf, hadPrev := prevField[name]
		if cols != nil {
			c, ok := cols[name]
			switch {
			case !ok:
				add(Change{Column: f.Name, Kind: Added, NewType: typeName(f), Against: AgainstDestination})
			case f.Kind == c.Kind || f.Kind == record.KindNull || Widens(f.Kind, c.Kind):
			case f.Kind == record.KindString && (prevField == nil || !hadPrev || pf.Kind == record.KindString):
				// an untyped source: values are parsed into the column row by row, as always
			case Widens(c.Kind, f.Kind):
				add(Change{Column: f.Name, Kind: Widened, OldType: colType(c), NewType: typeName(f), Against: AgainstDestination})
			default:
				add(Change{Column: f.Name, Kind: Incompatible, OldType: colType(c), NewType: typeName(f), Against: AgainstDestination})
			}
		}
		if prevField == nil {
			continue
		}
		switch {
		case !hadPrev:
			fromPrev = append(fromPrev, Change{Column: f.Name, Kind: Added, NewType: typeName(f), Against: AgainstPrevious})
		case pf.Kind == f.Kind || f.Kind == record.KindNull || pf.Kind == record.KindNull:
		case Widens(pf.Kind, f.Kind):
			fromPrev = append(fromPrev, Change{Column: f.Name, Kind: Widened, OldType: typeName(pf), NewType: typeName(f), Against: AgainstPrevious})
		case Widens(f.Kind, pf.Kind):
			fromPrev = append(fromPrev, Change{Column: f.Name, Kind: Narrowed, OldType: typeName(pf), NewType: typeName(f), Against: AgainstPrevious})
		default:
			fromPrev = append(fromPrev, Change{Column: f.Name, Kind: Incompatible, OldType: typeName(pf), NewType: typeName(f), Against: AgainstPrevious})
		}
	}
	for _, c := range fromPrev {
		if c.Kind == Widened || c.Kind == Incompatible || c.Kind == Narrowed {
			// the destination's view of a type change wins (it names the column's real type)
			if seen[fold(c.Column)+"\x00"+string(Widened)] || seen[fold(c.Column)+"\x00"+string(Incompatible)] {
				continue
			}
		}
		add(c)
	}
	if prevField != nil {
		for _, f := range prev.Schema.Fields {
			if skip[fold(f.Name)] {
				continue
			}
			if cur.Index(f.Name) < 0 && !hasFolded(cur, f.Name, fold) {
				add(Change{Column: f.Name, Kind: Removed, OldType: typeName(f), Against: AgainstPrevious})
			}
		}
		if prev.Key != nil && !slices.Equal(foldAll(prev.Key, fold), foldAll(key, fold)) {
			add(Change{Kind: KeyChanged, OldType: strings.Join(prev.Key, ", "), NewType: strings.Join(key, ", "), Against: AgainstPrevious})
		}
	}
	return out
}

func hasFolded(s *record.Schema, name string, fold func(string) string) bool {
	for _, f := range s.Fields {
		if fold(f.Name) == fold(name) {
			return true
		}
	}
	return false
}

func foldAll(names []string, fold func(string) string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fold(n)
	}
	return out
}

// Action is what a policy does with one change.
type Action string

// Actions.
const (
	// Apply: the destination is changed (a column added, a column's type changed).
	Apply Action = "apply"
	// Accept: nothing to change; rows are written as they are (a removed column gets NULL, a narrowed
	// type still fits, an approved key change).
	Accept Action = "accept"
	// Quarantined: rows carrying values the destination cannot take go to the dead letters.
	Quarantined Action = "quarantine"
	// Refuse: the run stops naming the change.
	Refuse Action = "refuse"
	// Pending: the run waits for a review of the change.
	Pending Action = "pending"
)

// Decision is what a policy decided for one destination.
type Decision struct {
	Node    string   `json:"node"`
	Target  string   `json:"target"`
	Policy  Policy   `json:"policy"`
	Changes []Change `json:"changes"`
	Actions []Action `json:"actions"` // one per change
}

// Of lists the changes with action a.
func (d Decision) Of(a Action) []Change {
	var out []Change
	for i, c := range d.Changes {
		if d.Actions[i] == a {
			out = append(out, c)
		}
	}
	return out
}

// Decide applies policy to the changes of one destination; approved are the changes a reviewer
// approved for this run (review). A change of a kind the policy does not know is refused.
func Decide(node, target string, policy Policy, changes []Change, approved []Change) Decision {
	d := Decision{Node: node, Target: target, Policy: policy.OrDefault(), Changes: changes, Actions: make([]Action, len(changes))}
	for i, c := range changes {
		d.Actions[i] = decide(d.Policy, c, approved)
	}
	return d
}

func decide(p Policy, c Change, approved []Change) Action {
	if !slices.Contains(Kinds, c.Kind) {
		return Refuse
	}
	switch p {
	case Evolve:
		switch c.Kind {
		case Added, Widened:
			return Apply
		case Removed, Narrowed:
			return Accept
		}
		return Refuse
	case Fail:
		return Refuse
	case Quarantine:
		switch c.Kind {
		case Added, Widened, Incompatible, Narrowed:
			return Quarantined
		case Removed:
			return Accept
		}
		return Refuse
	case Review:
		if !slices.ContainsFunc(approved, c.Same) {
			return Pending
		}
		switch c.Kind {
		case Added, Widened, Incompatible:
			return Apply
		}
		return Accept
	}
	return Refuse
}

// Error stops a run because of schema changes a policy refuses (Kind Refuse) or that wait for a
// review (Kind Pending); errors.As finds it through the engine's wrapping.
type Error struct {
	Decision Decision
	Action   Action // Refuse or Pending
}

func (e *Error) Error() string {
	cs := e.Decision.Of(e.Action)
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	if e.Action == Pending {
		return fmt.Sprintf("destination %s (%s): %d schema change(s) await approval (schema_changes: review): %s",
			e.Decision.Node, e.Decision.Target, len(cs), strings.Join(parts, "; "))
	}
	return fmt.Sprintf("destination %s (%s): schema change(s) refused by schema_changes: %s: %s",
		e.Decision.Node, e.Decision.Target, e.Decision.Policy, strings.Join(parts, "; "))
}

// Err is the error that stops the run for d: refused changes first, then changes waiting for a
// review; nil when the run may write.
func (d Decision) Err() error {
	if len(d.Of(Refuse)) > 0 {
		return &Error{Decision: d, Action: Refuse}
	}
	if len(d.Of(Pending)) > 0 {
		return &Error{Decision: d, Action: Pending}
	}
	return nil
}
