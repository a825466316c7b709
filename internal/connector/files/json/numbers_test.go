package json_test

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	jsonconn "github.com/dataaggregator/aggregator/internal/connector/files/json"
	"github.com/dataaggregator/aggregator/internal/connector/files/ndjson"
	"github.com/dataaggregator/aggregator/internal/record"
)

// jsonFormats are the two readers built on the shared JSON record code: a JSON array (positions are
// record numbers) and NDJSON (positions are line numbers; one object per line here, so the same).
var jsonFormats = []struct {
	name, file, unit string
	src              connector.Source
	encode           func(objs ...string) string
}{
	{"json", "data.json", "record", jsonconn.New(), func(objs ...string) string { return "[" + strings.Join(objs, ",\n") + "]" }},
	{"ndjson", "data.ndjson", "line", ndjson.New(), func(objs ...string) string { return strings.Join(objs, "\n") + "\n" }},
}

// A number that int64 or float64 cannot hold exactly is read as a decimal with its exact digits,
// never rounded: 2^64+1, a 30-digit integer, -1e-400 (not -0), 1 + 1e-23, and integers beyond 2^53
// mixed with fractions.
func TestNumbersInferredExactly(t *testing.T) {
	t.Parallel()
	objs := []string{
		`{"id":1,"big":18446744073709551617,"wide":123456789012345678901234567890,"tiny":-1e-400,"f":0.1,"long":1.00000000000000000000001,"mix":1.5,"i53":9007199254740992}`,
		`{"id":2,"big":3,"wide":1,"tiny":0,"f":5552541.819999999,"long":2,"mix":9007199254740993,"i53":-9007199254740993}`,
	}
	wantKinds := map[string]record.Kind{"id": record.KindInt, "big": record.KindDecimal, "wide": record.KindDecimal, "tiny": record.KindDecimal,
		"f": record.KindFloat, "long": record.KindDecimal, "mix": record.KindDecimal, "i53": record.KindInt}
	wantRows := []map[string]string{
		{"id": "1", "big": "18446744073709551617", "wide": "123456789012345678901234567890", "tiny": record.MustDecimal("-1e-400").String(),
			"f": "0.1", "long": "1.00000000000000000000001", "mix": "1.5", "i53": "9007199254740992"},
		{"id": "2", "big": "3", "wide": "1", "tiny": "0", "f": "5.552541819999999e+06", "long": "2", "mix": "9007199254740993", "i53": "-9007199254740993"},
	}
	for _, f := range jsonFormats {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			env := filetest.Setup(t, f.file, []byte(f.encode(objs...)))
			res, err := filetest.ReadAll(t, f.src, env, map[string]any{"path": f.file, "infer_rows": 2}, connector.ReadRequest{})
			if err != nil {
				t.Fatal(err)
			}
			for _, fl := range res.Schema.Fields {
				if fl.Kind != wantKinds[fl.Name] {
					t.Errorf("field %s inferred %s, want %s", fl.Name, fl.Kind, wantKinds[fl.Name])
				}
			}
			if len(res.Rows) != len(wantRows) || len(res.Rejects) != 0 {
				t.Fatalf("rows %v rejects %+v", res.Rows, res.Rejects)
			}
			for i, want := range wantRows {
				for k, v := range want {
					if res.Rows[i][k] != v {
						t.Errorf("row %d %s = %q, want %q", i+1, k, res.Rows[i][k], v)
					}
				}
			}
		})
	}
}

// A number that does not fit the field's kind (inferred from an earlier sample, or declared) rejects
// its row, naming the file, the position and the field, instead of being rounded.
func TestNumbersThatDoNotFitAreRejected(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		objs   []string
		types  map[string]any
		reject string // "pos|field|reason substring"
		rows   int
	}{
		{"underflow into an inferred float", []string{`{"x":1.5}`, `{"x":-1e-400}`}, nil, "2|x|number -1e-400 does not fit a float exactly (it would become -0)", 1},
		{"overflow into an inferred float", []string{`{"x":1.5}`, `{"x":1e400}`}, nil, "2|x|number 1e400 does not fit a float exactly", 1},
		{"30 digits into an inferred float", []string{`{"x":1.5}`, `{"x":123456789012345678901234567890}`}, nil, "2|x|declare the field decimal in types", 1},
		{"2^53+1 into an inferred float", []string{`{"x":1.5}`, `{"x":9007199254740993}`}, nil, "2|x|it would become 9.007199254740992e+15", 1},
		{"2^64+1 into an inferred int", []string{`{"x":1}`, `{"x":18446744073709551617}`}, nil, "2|x|integer 18446744073709551617 is outside the int64 range", 1},
		{"2^64+1 into a declared int", []string{`{"x":18446744073709551617}`}, map[string]any{"x": "int"}, "1|x|outside the int64 range", 0},
		{"numeric string into a declared float", []string{`{"x":"0.1000000000000000000001"}`}, map[string]any{"x": "float"}, "1|x|does not fit a float exactly", 0},
		{"declared decimal keeps it", []string{`{"x":1.5}`, `{"x":-1e-400}`}, map[string]any{"x": "decimal"}, "", 2},
	}
	for _, f := range jsonFormats {
		for _, c := range cases {
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				env := filetest.Setup(t, f.file, []byte(f.encode(c.objs...)))
				cfg := map[string]any{"path": f.file, "infer_rows": 1}
				if c.types != nil {
					cfg["types"] = c.types
				}
				res, err := filetest.ReadAll(t, f.src, env, cfg, connector.ReadRequest{})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Rows) != c.rows {
					t.Errorf("rows %v, want %d", res.Rows, c.rows)
				}
				if c.reject == "" {
					if len(res.Rejects) != 0 {
						t.Errorf("rejects %+v", res.Rejects)
					}
					return
				}
				p := strings.SplitN(c.reject, "|", 3)
				if len(res.Rejects) != 1 {
					t.Fatalf("rejects %+v, want %s", res.Rejects, c.reject)
				}
				g := res.Rejects[0]
				if g.Source != f.file || p[0] != itoa(g.Pos) || g.Field != p[1] || !strings.Contains(g.Reason, p[2]) {
					t.Errorf("reject %+v, want %s", g, c.reject)
				}
			})
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Duplicate keys in one object: the last value wins; each of the first ones is logged with the file,
// the position and the key; the total is logged when the reader closes.
func TestDuplicateKeys(t *testing.T) {
	t.Parallel()
	objs := []string{`{"a":1,"b":"x","a":2}`, `{"a":3,"b":"y"}`, `{"b":"z","zz":1,"zz":2,"b":"w","a":4}`}
	for _, f := range jsonFormats {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			env := filetest.Setup(t, f.file, []byte(f.encode(objs...)))
			var logs bytes.Buffer
			env.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			res, err := filetest.ReadAll(t, f.src, env, map[string]any{"path": f.file, "infer_rows": 2}, connector.ReadRequest{})
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, r := range res.Rows {
				got = append(got, r["a"]+r["b"])
			}
			if strings.Join(got, ",") != "2x,3y,4w" {
				t.Errorf("rows %v; want the last value of each key (2x,3y,4w)", got)
			}
			out := logs.String()
			for _, want := range []string{
				`msg="duplicate key in one JSON object: the last value is kept" file=` + f.file + ` ` + f.unit + `=1 key=a`,
				`file=` + f.file + ` ` + f.unit + `=3 key=zz`,
				`file=` + f.file + ` ` + f.unit + `=3 key=b`,
				`msg="duplicate keys in JSON objects: the last value of each was kept" file=` + f.file + ` duplicate_keys=3`,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("logs lack %q:\n%s", want, out)
				}
			}
			if n := strings.Count(out, "duplicate_keys="); n != 1 {
				t.Errorf("summary logged %d times", n)
			}
		})
	}
}
