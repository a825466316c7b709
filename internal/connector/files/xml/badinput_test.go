package xml_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	xmlconn "github.com/dataaggregator/aggregator/internal/connector/files/xml"
	"github.com/dataaggregator/aggregator/internal/record"
)

func TestFlattening(t *testing.T) {
	t.Parallel()
	doc := `<?xml version="1.0"?>
<orders>
  <meta><order id="999">not a record</order></meta>
  <order id="1" status="new">
    <customer vip="true"><name>Ann</name><since>2020-01-02</since></customer>
    <item>a</item><item>b</item>
    <note></note>
  </order>
  <order id="2"><customer><name>Bob &amp; Co</name></customer><total>12.50</total></order>
</orders>`
	env := filetest.Setup(t, "o.xml", []byte(doc))
	res, err := filetest.ReadAll(t, xmlconn.New(), env, map[string]any{"path": "o.xml", "record_path": "orders/order", "types": map[string]any{"total": "decimal"}}, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || len(res.Rejects) != 0 {
		t.Fatalf("rows %v rejects %v", res.Rows, res.Rejects)
	}
	want := []map[string]string{
		{"@id": "1", "@status": "new", "customer.@vip": "true", "customer.name": "Ann", "customer.since": "2020-01-02", "item": `["a","b"]`, "note": "", "total": "<null>"},
		{"@id": "2", "@status": "<null>", "customer.@vip": "<null>", "customer.name": "Bob & Co", "customer.since": "<null>", "item": "<null>", "note": "<null>", "total": "12.50"},
	}
	for i := range want {
		for k, v := range want[i] {
			if res.Rows[i][k] != v {
				t.Errorf("row %d %s = %q, want %q", i, k, res.Rows[i][k], v)
			}
		}
	}
	kinds := map[string]record.Kind{"@id": record.KindInt, "customer.@vip": record.KindBool, "customer.since": record.KindDate, "total": record.KindDecimal, "customer.name": record.KindString}
	for n, k := range kinds {
		if f, _ := res.Schema.Field(n); f.Kind != k {
			t.Errorf("field %s kind %s, want %s", n, f.Kind, k)
		}
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, doc string
		cfg       map[string]any
		rows      int
		reject    string // "line|field|reason"
		wantErr   string
	}{
		{name: "bad declared int", doc: "<r>\n<x><n>1</n></x>\n<x><n>one</n></x>\n<x><n>3</n></x></r>", cfg: map[string]any{"types": map[string]any{"n": "int"}}, rows: 2, reject: `3|n|invalid integer "one"`},
		{name: "bad declared date", doc: "<r><x><d>2024-02-30</d></x></r>", cfg: map[string]any{"types": map[string]any{"d": "date"}}, reject: `1|d|invalid date`},
		{name: "mismatched tags", doc: "<r>\n<x><n>1</n></x>\n<x><n>2</m></x></r>", rows: 1, wantErr: "d.xml: line 3: XML is not well-formed"},
		{name: "unclosed", doc: "<r><x><n>1</n></x>\n<x>", rows: 1, wantErr: "d.xml: line 2"},
		{name: "invalid utf-8", doc: "<r><x><n>caf\xe9</n></x></r>", wantErr: "XML is not well-formed"},
		{name: "latin-1 declared", doc: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r><x><n>caf\xe9</n></x></r>", rows: 1},
		{name: "empty file", doc: "", wantErr: "d.xml: the file is empty"},
		{name: "wrong root", doc: "<z><x/></z>", wantErr: "the root element is <z>, not <r>"},
		{name: "record over the cap", doc: "<r><x><n>" + strings.Repeat("y", 300<<10) + "</n></x></r>", cfg: map[string]any{"max_record_bytes": 1024}, wantErr: "exceeds max_record_bytes (1024)"},
		{name: "no records", doc: "<r></r>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := filetest.Setup(t, "d.xml", []byte(c.doc))
			cfg := map[string]any{"path": "d.xml", "record_path": "r/x", "infer_rows": 1}
			for k, v := range c.cfg {
				cfg[k] = v
			}
			res, err := filetest.ReadAll(t, xmlconn.New(), env, cfg, connector.ReadRequest{})
			if len(res.Rows) != c.rows {
				t.Errorf("rows %v, want %d", res.Rows, c.rows)
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.reject == "" {
				if len(res.Rejects) != 0 {
					t.Fatalf("rejects %+v", res.Rejects)
				}
				return
			}
			p := strings.SplitN(c.reject, "|", 3)
			if len(res.Rejects) != 1 {
				t.Fatalf("rejects %+v, want %s", res.Rejects, c.reject)
			}
			g := res.Rejects[0]
			if g.Source != "d.xml" || p[0] != strconv.FormatInt(g.Pos, 10) || g.Field != p[1] || !strings.Contains(g.Reason, p[2]) {
				t.Errorf("reject %+v, want %s", g, c.reject)
			}
		})
	}
}
