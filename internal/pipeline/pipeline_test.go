package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// fakeConn is a connector double: a source and destination with a required "path".
type fakeConn struct{ name string }

func (c fakeConn) Spec() connector.Spec {
	return connector.Spec{
		Name: c.name, Source: true, Destination: true, Incremental: c.name == "db",
		WriteModes: []connector.WriteMode{connector.Append, connector.Overwrite},
		Config: configspec.Spec{Params: []configspec.Param{
			{Name: "path", Type: configspec.String, Required: true},
			{Name: "delimiter", Type: configspec.String},
			{Name: "table", Type: configspec.String, Pattern: "^[a-z_]+$", PerPipeline: true},
		}},
	}
}
func (fakeConn) Open(context.Context, connector.Env, map[string]any, connector.ReadRequest) (connector.Reader, error) {
	return nil, errors.New("not used")
}
func (fakeConn) OpenWriter(context.Context, connector.Env, map[string]any, connector.WriteRequest) (connector.Writer, error) {
	return nil, errors.New("not used")
}

type passNode struct{}

func (passNode) Init(in []*record.Schema) (*record.Schema, error) { return in[0], nil }
func (passNode) Process(_ context.Context, _ int, b *record.Batch, out transform.Output) error {
	return out.Emit(b)
}
func (passNode) Flush(context.Context, transform.Output) error { return nil }

func filterDef(name string, minIn, maxIn int) transform.Definition {
	spec := configspec.Spec{Params: []configspec.Param{{Name: "expression", Type: configspec.String, Required: true}}}
	return transform.Definition{
		Spec: transform.Spec{Name: name, Config: spec, MinInputs: minIn, MaxInputs: maxIn},
		New: func(cfg map[string]any) (transform.Node, error) {
			if errs := spec.Validate(cfg); len(errs) > 0 {
				return nil, errs
			}
			if strings.Contains(cfg["expression"].(string), "x") {
				return nil, configspec.Errors{{Path: "expression", Message: `unknown name "x" at 1:5`}}
			}
			return passNode{}, nil
		},
	}
}

func testEnv(t *testing.T) Env {
	t.Helper()
	cr, err := connector.NewRegistry(fakeConn{"csv"}, fakeConn{"ndjson"}, fakeConn{"db"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transform.NewRegistry(filterDef("filter", 1, 1), filterDef("union", 2, 0))
	if err != nil {
		t.Fatal(err)
	}
	return Env{Connectors: cr, Transforms: tr}
}

const goodSpec = `version: 1
name: orders-clean
sources:
  - id: orders
    type: csv
    config: {path: data/orders.csv}
    sync: {mode: full_refresh}
    types: {amount: decimal}
transforms:
  - id: active
    type: filter
    inputs: [orders]
    config: {expression: "is_active"}
destinations:
  - id: out
    type: ndjson
    inputs: [active]
    config: {path: out/orders.ndjson}
    write: {mode: append}
schedule: {cron: "0 * * * *", timezone: Europe/Paris}
error_policy: {on_reject: dead_letter, max_reject_ratio: 0.05}
`

func TestParseAndValidateGood(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"yaml", "json"} {
		src := goodSpec
		if format == "json" {
			src = `{"version": 1, "name": "orders-clean",
			 "sources": [{"id": "orders", "type": "csv", "config": {"path": "data/orders.csv"}, "types": {"amount": "decimal"}}],
			 "transforms": [{"id": "active", "type": "filter", "inputs": ["orders"], "config": {"expression": "is_active"}}],
			 "destinations": [{"id": "out", "type": "ndjson", "inputs": ["active"], "config": {"path": "out/orders.ndjson"}}],
			 "schedule": {"cron": "0 * * * *", "timezone": "Europe/Paris"},
			 "error_policy": {"on_reject": "dead_letter", "max_reject_ratio": 0.05}}`
		}
		spec, err := Parse([]byte(src))
		if err != nil {
			t.Fatalf("%s: Parse: %v", format, err)
		}
		plan, err := Validate(context.Background(), spec, testEnv(t))
		if err != nil {
			t.Fatalf("%s: Validate: %v", format, err)
		}
		var ids []string
		for _, n := range plan.Nodes {
			ids = append(ids, n.ID)
		}
		if diff := cmp.Diff([]string{"orders", "active", "out"}, ids); diff != "" {
			t.Errorf("%s: order (-want +got):\n%s", format, diff)
		}
		if got := plan.Node("orders").Overrides["amount"]; got != record.KindDecimal {
			t.Errorf("%s: override = %v, want decimal", format, got)
		}
		if plan.Node("out").Write.Mode != connector.Append || plan.Node("orders").Sync.Mode != connector.FullRefresh {
			t.Errorf("%s: defaults not applied: %+v %+v", format, plan.Node("out").Write, plan.Node("orders").Sync)
		}
		if plan.Location.String() != "Europe/Paris" || plan.Schedule == nil {
			t.Errorf("%s: schedule not planned", format)
		}
		if *spec.ErrorPolicy.MaxRejectRatio != 0.05 || plan.OnReject() != DeadLetter {
			t.Errorf("%s: error policy = %+v", format, spec.ErrorPolicy)
		}
	}
}

func TestParseProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string // each a substring of one problem, in order
	}{
		{"empty", "  \n", []string{"empty document"}},
		{"not yaml", "version: [1\n", []string{"not valid YAML or JSON"}},
		{"missing version", "name: x\nsources: []\ndestinations: []\n", []string{"version: required"}},
		{"bad version", "version: 2\nname: x\n", []string{"version: unsupported version 2"}},
		{"top is a list", "- 1\n", []string{"must be a mapping"}},
		{"unknown keys with positions", "version: 1\nname: p\nsorces: []\nsources:\n  - id: a\n    typo: csv\n    inputs: [b]\n",
			[]string{`sorces: unknown field "sorces"`, `sources[0].inputs: a source has no inputs`, `sources[0].typo: unknown field "typo" (allowed: id, type`}},
		{"wrong types", "version: 1\nname: 5\nsources: {}\ndestinations:\n  - id: d\n    inputs: [1]\n    write: {key: k}\n",
			[]string{"name: must be a string", "sources: must be a list", "destinations[0].inputs[0]: must be a string"}},
		{"duplicate key", "version: 1\nversion: 1\n", []string{"already defined"}},
		{"two documents", "version: 1\n---\nversion: 1\n", []string{"2 YAML documents"}},
		{"ratio not a number", "version: 1\nerror_policy: {max_reject_ratio: lots}\n", []string{"error_policy.max_reject_ratio: must be a number"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.src))
			ps, ok := AsProblems(err)
			if !ok {
				t.Fatalf("Parse error = %v, want Problems", err)
			}
			if len(ps) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.Contains(ps[i].String(), w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, ps[i].String(), w)
				}
			}
		})
	}
}

func TestParsePositions(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("version: 1\nname: p\nsources:\n  - id: a\n    typo: csv\n"))
	ps, _ := AsProblems(err)
	if len(ps) != 1 || ps[0].Line != 5 || ps[0].Column != 5 {
		t.Fatalf("problems = %+v, want one at 5:5", ps)
	}
	if !strings.HasSuffix(ps[0].String(), "(line 5, column 5)") {
		t.Errorf("String() = %q", ps[0].String())
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	src := `version: 1
name: bad name!
sources:
  - id: orders
    type: csv
    config: {path: a.csv, delimter: ";"}
    sync: {mode: incremental}
  - id: orders
    type: ftp
  - id: saved
    connector: crm
  - id: inc
    type: db
    config: {path: x}
    sync: {mode: full_refresh, cursor_field: updated_at}
    types: {a: money}
transforms:
  - id: f
    type: filter
    inputs: [orders, nowhere]
    config: {expression: "x > 1"}
  - id: g
    type: sorter
    inputs: [f]
  - id: c1
    type: filter
    inputs: [c2]
    config: {expression: "a"}
  - id: c2
    type: filter
    inputs: [c1]
    config: {expression: "a"}
  - id: t
    transformation: my-saved
    inputs: [inc]
  - id: u
    type: union
    inputs: [c1]
destinations:
  - id: out
    type: ndjson
    config: {path: o.ndjson}
    write: {mode: upsert}
  - id: out2
    type: ndjson
    inputs: [out, t, g, u, c2]
    config: {path: o2.ndjson}
    write: {mode: replace}
schedule: {cron: "61 * * * *", timezone: Mars/Olympus}
error_policy: {on_reject: ignore, max_reject_ratio: 2}
`
	spec, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	_, err = Validate(context.Background(), spec, testEnv(t))
	ps, ok := AsProblems(err)
	if !ok {
		t.Fatalf("Validate error = %v, want Problems", err)
	}
	got := make([]string, len(ps))
	for i, p := range ps {
		got[i] = p.Path + ": " + p.Message
	}
	want := []string{
		`name: "bad name!": use letters`,
		`sources[0].config.delimter: unknown field (did you mean "delimiter"?)`,
		`sources[0].sync.cursor_field: required with mode: incremental`,
		`sources[0].sync.mode: connector type "csv" cannot read incrementally`,
		`sources[1].type: unknown connector type "ftp" (known: csv, db, ndjson)`,
		`sources[1].id: duplicate id "orders" (also sources[0])`,
		`sources[2].connector: saved connector "crm" cannot be used here: saved connectors live on the server`,
		`sources[3].sync.cursor_field: only used with mode: incremental`,
		`sources[3].types.a: unknown type "money"`,
		`transforms[0].config.expression: unknown name "x" at 1:5`,
		`transforms[0].inputs: filter takes at most 1 input(s), got 2`,
		`transforms[1].type: unknown transformation type "sorter" (known: filter, union)`,
		`transforms[4].transformation: saved transformation "my-saved" cannot be used here`,
		`transforms[5].config.expression: required`,
		`transforms[5].inputs: union needs at least 2 input(s), got 1`,
		`destinations[0].write.mode: connector type "ndjson" does not support upsert (supported: append, overwrite)`,
		`destinations[0].write.key: required with mode: upsert`,
		`destinations[0].inputs: required`,
		`destinations[1].write.mode: must be append, overwrite or upsert, got "replace"`,
		`transforms[0].inputs[1]: unknown input "nowhere" (ids are: c1, c2, f, g, inc, orders, saved, t, u)`,
		`destinations[1].inputs[0]: "out" is a destination; destinations have no output`,
		`transforms[2].inputs: cycle: c1 -> c2 -> c1`,
		`sources[2]: "saved" is not used: no transform or destination lists it in inputs`,
		`schedule.cron: minute: "61": end of range (61) above maximum (59)`,
		`schedule.timezone: unknown time zone "Mars/Olympus"`,
		`error_policy.on_reject: must be dead_letter, drop or fail, got "ignore"`,
		`error_policy.max_reject_ratio: must be between 0 and 1`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d:\n got  %s\n want %s...", i, got[i], want[i])
		}
	}
	// Problems found in the config carry the config's position in the file.
	if ps[1].Line != 6 {
		t.Errorf("config problem at line %d, want 6", ps[1].Line)
	}
}

type mapResolver map[string]Saved

func (m mapResolver) Connector(_ context.Context, name string) (Saved, error) {
	if s, ok := m["c:"+name]; ok {
		return s, nil
	}
	return Saved{}, errors.New("no such saved connector")
}
func (m mapResolver) Transformation(_ context.Context, name string) (Saved, error) {
	if s, ok := m["t:"+name]; ok {
		return s, nil
	}
	return Saved{}, errors.New("no such saved transformation")
}

func TestValidateResolvesSavedReferences(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	env.Resolver = mapResolver{
		"c:crm":    {Type: "db", Config: map[string]any{"path": "secret-db"}},
		"t:active": {Type: "filter", Config: map[string]any{"expression": "active"}},
	}
	spec, err := Parse([]byte(`version: 1
name: p
sources: [{id: s, connector: crm}, {id: s2, connector: nope}]
transforms: [{id: t, transformation: active, inputs: [s, s2]}]
destinations: [{id: d, type: csv, inputs: [t], config: {path: o.csv}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Validate(context.Background(), spec, env)
	ps, _ := AsProblems(err)
	if len(ps) != 2 || ps[0].Path != "sources[1].connector" || !strings.Contains(ps[0].Message, "no such saved connector") ||
		ps[1].Path != "transforms[0].inputs" {
		t.Fatalf("problems = %v", err)
	}
	spec.Sources = spec.Sources[:1]
	spec.Transforms[0].Inputs = []string{"s"}
	// `type:` may name a saved transformation too.
	spec.Transforms[0].Transformation, spec.Transforms[0].Type = "", "active"
	plan, err := Validate(context.Background(), spec, env)
	if err != nil {
		t.Fatal(err)
	}
	if n := plan.Node("s"); n.Type != "db" || n.Config["path"] != "secret-db" {
		t.Errorf("source resolved to %q %v", n.Type, n.Config)
	}
	if n := plan.Node("t"); n.Type != "filter" || n.Definition.Spec.Name != "filter" {
		t.Errorf("transform resolved to %q", n.Type)
	}
}

// A pipeline may set, beside `connector:`, the parameters the connector type marks PerPipeline
// (what to read or write: a table); a connection setting is refused at its path, so a pipeline cannot
// point a saved connector's credentials elsewhere; a bad setting is reported where it is written.
func TestSettingsBesideASavedConnector(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	env.Resolver = mapResolver{"c:crm": {Type: "db", Config: map[string]any{"path": "secret-db", "table": "accounts"}}}
	for _, tc := range []struct {
		name, source, dest string
		problems           []string // path: part of the message
		table              string   // the source's resolved table
	}{
		{name: "none", source: `{id: s, connector: crm}`, table: "accounts"},
		{name: "table", source: `{id: s, connector: crm, config: {table: orders}}`, table: "orders"},
		{name: "destination table", source: `{id: s, connector: crm}`, dest: `{id: d, connector: crm, inputs: [s], config: {table: copy}}`, table: "accounts"},
		{name: "connection setting", source: `{id: s, connector: crm, config: {path: /elsewhere, table: orders}}`,
			problems: []string{`sources[0].config.path: "path" cannot be set beside a saved connector: it is a connection setting or a secret, kept in the saved connector (a pipeline may set table)`}},
		{name: "bad setting", source: `{id: s, connector: crm, config: {table: "Bad-Name"}}`,
			problems: []string{`sources[0].config.table: `}},
		{name: "destination connection", source: `{id: s, connector: crm}`, dest: `{id: d, connector: crm, inputs: [s], config: {delimiter: ";"}}`,
			problems: []string{`destinations[0].config.delimiter: "delimiter" cannot be set`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := tc.dest
			if dest == "" {
				dest = `{id: d, type: csv, inputs: [s], config: {path: o.csv}}`
			}
			spec, err := Parse([]byte("version: 1\nname: p\nsources: [" + tc.source + "]\ndestinations: [" + dest + "]\n"))
			if err != nil {
				t.Fatal(err)
			}
			plan, err := Validate(context.Background(), spec, env)
			ps, _ := AsProblems(err)
			if len(ps) != len(tc.problems) {
				t.Fatalf("problems = %v, want %d", err, len(tc.problems))
			}
			for i, want := range tc.problems {
				if got := ps[i].Path + ": " + ps[i].Message; !strings.HasPrefix(got, want) {
					t.Errorf("problem %d = %q, want it to start with %q", i, got, want)
				}
			}
			if len(tc.problems) > 0 {
				return
			}
			n := plan.Node("s")
			if n.Config["table"] != tc.table || n.Config["path"] != "secret-db" {
				t.Errorf("source config = %v, want table %q on the saved path", n.Config, tc.table)
			}
			if tc.dest != "" {
				if d := plan.Node("d"); d.Config["table"] != "copy" || d.Config["path"] != "secret-db" {
					t.Errorf("destination config = %v", d.Config)
				}
			}
			// The saved connector's own config is not changed by a pipeline's settings.
			if saved, _ := env.Resolver.Connector(context.Background(), "crm"); saved.Config["table"] != "accounts" {
				t.Errorf("saved connector changed: %v", saved.Config)
			}
		})
	}
}

func TestParseValueMatchesParse(t *testing.T) {
	t.Parallel()
	a, err := Parse([]byte(goodSpec))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseValue(map[string]any{
		"version": float64(1), "name": "orders-clean",
		"sources":      []any{map[string]any{"id": "orders", "type": "csv", "config": map[string]any{"path": "data/orders.csv"}, "sync": map[string]any{"mode": "full_refresh"}, "types": map[string]any{"amount": "decimal"}}},
		"transforms":   []any{map[string]any{"id": "active", "type": "filter", "inputs": []any{"orders"}, "config": map[string]any{"expression": "is_active"}}},
		"destinations": []any{map[string]any{"id": "out", "type": "ndjson", "inputs": []any{"active"}, "config": map[string]any{"path": "out/orders.ndjson"}, "write": map[string]any{"mode": "append"}}},
		"schedule":     map[string]any{"cron": "0 * * * *", "timezone": "Europe/Paris"},
		"error_policy": map[string]any{"on_reject": "dead_letter", "max_reject_ratio": 0.05},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b, cmp.AllowUnexported(Spec{}), cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".pos" }, cmp.Ignore())); diff != "" {
		t.Errorf("ParseValue differs from Parse (-parse +value):\n%s", diff)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(goodSpec))
	f.Add([]byte(`{"version":1,"sources":[{"id":"a","inputs":[1]}]}`))
	f.Add([]byte("version: 1\nsources: &a [*a]\n"))
	f.Add([]byte("- [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := Parse(data)
		if err == nil {
			if spec == nil {
				t.Fatal("nil spec without error")
			}
			return
		}
		if _, ok := AsProblems(err); !ok {
			t.Fatalf("error is not Problems: %v", err)
		}
	})
}
