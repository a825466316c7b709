package salesforce

import (
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

func clone(cfg map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range cfg {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

type readResult struct {
	rows   map[string]record.Row
	schema *record.Schema
	state  json.RawMessage
}

func readAll(t *testing.T, env connector.Env, cfg map[string]any, req connector.ReadRequest) (readResult, error) {
	t.Helper()
	r, err := New().Open(t.Context(), env, cfg, req)
	if err != nil {
		return readResult{}, err
	}
	defer r.Close()
	res := readResult{rows: map[string]record.Row{}, schema: r.Schema()}
	for {
		b, err := r.Next(t.Context())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, err
		}
		if len(b.Rejects) > 0 {
			t.Fatalf("rejects: %+v", b.Rejects)
		}
		for _, row := range b.Rows {
			id := row[0].String()
			if _, dup := res.rows[id]; dup {
				t.Fatalf("record %s read twice", id)
			}
			res.rows[id] = row
		}
	}
	res.state, err = r.State()
	return res, err
}

func valueOf(res readResult, id, name string) record.Value {
	return res.rows[id][res.schema.Index(name)]
}

func TestQueryPagesWithTypes(t *testing.T) {
	t.Parallel()
	o, env, cfg := setup(t)
	o.add(120, time.Second)
	res, err := readAll(t, env, clone(cfg, "object", "Account"), connector.ReadRequest{BatchSize: 30})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.rows) != 120 {
		t.Fatalf("read %d, want 120", len(res.rows))
	}
	if n := o.count("GET /services/data/v62.0/query"); n != 3 {
		t.Errorf("query requests = %d, want 3 (the query and two nextRecordsUrl pages of 50)", n)
	}
	var kinds []string
	for _, f := range res.schema.Fields {
		kinds = append(kinds, f.Name+":"+f.Kind.String())
	}
	want := "Id:string IsDeleted:bool Name:string AnnualRevenue:decimal NumberOfEmployees:int Active__c:bool Founded__c:date CreatedDate:timestamp SystemModstamp:timestamp"
	if strings.Join(kinds, " ") != want {
		t.Errorf("schema %s\nwant   %s (no compound BillingAddress)", strings.Join(kinds, " "), want)
	}
	id := "001D00000000042"
	if v := valueOf(res, id, "Name").String(); v != `Acme 42, "Ltd"` {
		t.Errorf("Name = %q", v)
	}
	if v := valueOf(res, id, "AnnualRevenue").String(); v != "42000.5" {
		t.Errorf("AnnualRevenue = %s", v)
	}
	if v := valueOf(res, id, "SystemModstamp").AsTime(); !v.Equal(t0.Add(42 * time.Second)) {
		t.Errorf("SystemModstamp = %v (from 2025-03-01T00:00:42.000+0000)", v)
	}
	if v := valueOf(res, id, "Founded__c").String(); v != "2001-02-03" {
		t.Errorf("Founded__c = %s", v)
	}
}

func TestIncrementalReadsOnlyChanges(t *testing.T) {
	t.Parallel()
	for _, bulk := range []string{"never", "always"} {
		t.Run(bulk, func(t *testing.T) {
			t.Parallel()
			o, env, cfg := setup(t)
			o.add(80, time.Second)
			cfg = clone(cfg, "bulk", bulk, "bulk_page_records", 25, "fields", []any{"Id", "Name"})
			req := connector.ReadRequest{Stream: "Account", Mode: connector.Incremental}
			res, err := readAll(t, env, cfg, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.rows) != 80 || res.schema.Index("SystemModstamp") < 0 {
				t.Fatalf("first run read %d (schema %v)", len(res.rows), res.schema.Names())
			}
			o.touch(5, t0.Add(time.Hour), false)
			o.touch(6, t0.Add(80*time.Second), false) // the very time the first run ended on
			o.add(1, 2*time.Hour/81)
			req.State = res.state
			if res, err = readAll(t, env, cfg, req); err != nil {
				t.Fatal(err)
			}
			got := slices.Sorted(func(yield func(string) bool) {
				for id := range res.rows {
					yield(id)
				}
			})
			if want := []string{"001D00000000005", "001D00000000006", "001D00000000081"}; !slices.Equal(got, want) {
				t.Errorf("second run read %v, want %v", got, want)
			}
			last := o.queries[len(o.queries)-1]
			if !strings.Contains(last, "WHERE SystemModstamp >= 2025-03-01T00:01:20.000Z") {
				t.Errorf("second query: %s", last)
			}
			req.State = res.state
			if res, err = readAll(t, env, cfg, req); err != nil || len(res.rows) != 0 {
				t.Errorf("third run read %d (err %v), want nothing", len(res.rows), err)
			}
		})
	}
}

func TestDeletedRecordsThroughQueryAll(t *testing.T) {
	t.Parallel()
	for _, bulk := range []string{"never", "always"} {
		t.Run(bulk, func(t *testing.T) {
			t.Parallel()
			o, env, cfg := setup(t)
			o.add(10, time.Second)
			o.touch(3, t0.Add(time.Minute), true)
			o.touch(4, t0.Add(time.Minute), true)
			res, err := readAll(t, env, clone(cfg, "object", "Account", "include_deleted", true, "bulk", bulk), connector.ReadRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.rows) != 10 {
				t.Fatalf("read %d, want 10 with the deleted ones", len(res.rows))
			}
			var deleted []string
			for id, row := range res.rows {
				if row[res.schema.Index(OpField)].String() == "delete" {
					deleted = append(deleted, id)
				} else if row[res.schema.Index(OpField)].String() != "upsert" {
					t.Errorf("%s: _op = %v", id, row[res.schema.Index(OpField)])
				}
			}
			slices.Sort(deleted)
			if !slices.Equal(deleted, []string{"001D00000000003", "001D00000000004"}) {
				t.Errorf("deleted = %v", deleted)
			}
			plain, err := readAll(t, env, clone(cfg, "object", "Account", "bulk", bulk), connector.ReadRequest{})
			if err != nil || len(plain.rows) != 8 || plain.schema.Index(OpField) >= 0 {
				t.Errorf("without include_deleted: %d rows, schema %v, err %v", len(plain.rows), plain.schema.Names(), err)
			}
		})
	}
}

func TestBulkAPIForLargeObjects(t *testing.T) {
	t.Parallel()
	o, env, cfg := setup(t)
	o.add(120, time.Second)
	res, err := readAll(t, env, clone(cfg, "object", "Account", "bulk", "auto", "bulk_threshold", 100, "bulk_page_records", 50), connector.ReadRequest{BatchSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.rows) != 120 {
		t.Fatalf("read %d, want 120", len(res.rows))
	}
	if n := o.count("POST /services/data/v62.0/jobs/query"); n != 1 {
		t.Errorf("query jobs = %d, want 1 (120 records pass bulk_threshold 100)", n)
	}
	if n := o.count("GET /services/data/v62.0/jobs/query/750D00000000/results"); n != 3 {
		t.Errorf("result pages = %d, want 3 (Sforce-Locator)", n)
	}
	if o.polls < 2 {
		t.Errorf("polls = %d: the results were read before the job completed", o.polls)
	}
	id := "001D00000000007"
	if v := valueOf(res, id, "Name").String(); v != `Acme 7, "Ltd"` {
		t.Errorf("Name = %q", v)
	}
	if v := valueOf(res, id, "SystemModstamp").AsTime(); !v.Equal(t0.Add(7 * time.Second)) {
		t.Errorf("SystemModstamp = %v", v)
	}
	if v := valueOf(res, id, "Founded__c"); v.String() != "2001-02-03" {
		t.Errorf("Founded__c = %v", v)
	}
	// Below the threshold the REST query API reads.
	small, err := readAll(t, env, clone(cfg, "object", "Account", "bulk", "auto", "bulk_threshold", 1000), connector.ReadRequest{})
	if err != nil || len(small.rows) != 120 || o.count("POST /services/data/v62.0/jobs/query") != 1 {
		t.Errorf("below the threshold: %d rows, err %v, jobs %d", len(small.rows), err, o.count("POST /services/data/v62.0/jobs/query"))
	}
}

func TestAuthFlowsAndInstanceURL(t *testing.T) {
	t.Parallel()
	o, env, cfg := setup(t)
	o.add(3, time.Second)
	for _, tc := range []struct {
		name  string
		auth  map[string]any
		grant string
	}{
		{"client credentials", map[string]any{"type": "client_credentials", "login_url": o.srv.URL, "client_id": "3MVG9-key", "client_secret": "sf-secret"}, "client_credentials"},
		{"refresh token", map[string]any{"type": "refresh_token", "login_url": o.srv.URL, "client_id": "3MVG9-key", "client_secret": "sf-secret", "refresh_token": "5Aep-refresh"}, "refresh_token"},
		{"jwt bearer", map[string]any{"type": "jwt_bearer", "login_url": o.srv.URL, "client_id": "3MVG9-key", "username": "etl@acme.com", "private_key": o.pemKey()},
			"urn:ietf:params:oauth:grant-type:jwt-bearer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := readAll(t, env, clone(cfg, "auth", tc.auth, "object", "Account"), connector.ReadRequest{})
			if err != nil || len(res.rows) != 3 {
				t.Fatalf("rows %d, err %v", len(res.rows), err)
			}
			o.mu.Lock()
			last := o.grants[len(o.grants)-1]
			o.mu.Unlock()
			if last != tc.grant {
				t.Errorf("grant = %s, want %s", last, tc.grant)
			}
		})
	}
	exp, _ := o.jwtClaims.GetExpirationTime()
	if exp == nil || time.Until(exp.Time) > 3*time.Minute {
		t.Errorf("JWT exp = %v: Salesforce accepts at most 3 minutes", exp)
	}
}

func TestErrorsSayWhatIsWrong(t *testing.T) {
	t.Parallel()
	o, env, cfg := setup(t)
	o.add(3, time.Second)
	for _, tc := range []struct {
		name string
		cfg  map[string]any
		req  connector.ReadRequest
		want string
	}{
		{"wrong secret", clone(cfg, "object", "Account", "auth", map[string]any{"type": "client_credentials", "login_url": o.srv.URL, "client_id": "3MVG9-key", "client_secret": "nope-wrong"}),
			connector.ReadRequest{}, `OAuth2 token request to ` + o.srv.URL + `/services/oauth2/token failed: authentication failed: POST ` + o.srv.URL + `/services/oauth2/token: 400 Bad Request: {"error":"invalid_client","error_description":"invalid client credentials"}`},
		{"unknown field", clone(cfg, "object", "Account", "fields", []any{"Id", "Shoe_Size__c"}), connector.ReadRequest{}, "fields: Account has no field Shoe_Size__c"},
		{"compound field", clone(cfg, "object", "Account", "fields", []any{"BillingAddress"}), connector.ReadRequest{},
			"fields: Account.BillingAddress is a address field, which a query cannot read as a value"},
		{"unknown object", clone(cfg, "object", "Invoice__c"), connector.ReadRequest{}, "salesforce: NOT_FOUND: The requested resource does not exist"},
		{"no object", cfg, connector.ReadRequest{}, "object: required"},
		{"not connected", clone(cfg, "auth", map[string]any{"type": "refresh_token", "client_id": "x"}), connector.ReadRequest{},
			`auth.refresh_token: not connected: use "Connect with Salesforce"`},
		{"metadata address", clone(cfg, "object", "Account", "auth", map[string]any{"type": "client_credentials", "login_url": "http://169.254.169.254", "client_id": "a", "client_secret": "b"}),
			connector.ReadRequest{}, "not allowed for any connector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(t, env, tc.cfg, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), "nope-wrong") || strings.Contains(err.Error(), "sf-secret")) {
				t.Errorf("the error shows a secret: %v", err)
			}
		})
	}
}

func TestErrorBodies(t *testing.T) {
	t.Parallel()
	o, env, cfg := setup(t)
	o.add(3, time.Second)
	o.mu.Lock()
	o.spent = true
	o.mu.Unlock()
	_, err := readAll(t, env, clone(cfg, "object", "Account"), connector.ReadRequest{})
	if err == nil || !strings.Contains(err.Error(), "the org's API request limit is spent (REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.)") {
		t.Errorf("err = %v", err)
	}
	o.mu.Lock()
	o.spent = false
	o.mu.Unlock()
	if _, err = readAll(t, env, clone(cfg, "object", "Account", "where", "Active__c = true", "fields", []any{"Id", "Name"}), connector.ReadRequest{}); err != nil {
		t.Fatal(err)
	}
	if last := o.queries[len(o.queries)-1]; last != "SELECT Id, Name FROM Account WHERE (Active__c = true)" {
		t.Errorf("query = %s", last)
	}
}

func TestDiscoverAndCheck(t *testing.T) {
	t.Parallel()
	_, env, cfg := setup(t)
	cat, err := New().Discover(t.Context(), env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Streams) != 1 || cat.Streams[0].Name != "Account" {
		t.Fatalf("streams = %+v (AccountHistory is not replicateable)", cat.Streams)
	}
	st := cat.Streams[0]
	if !slices.Equal(st.PrimaryKey, []string{"Id"}) || !slices.Equal(st.CursorCandidates, []string{"SystemModstamp"}) || st.Schema.Index("BillingAddress") >= 0 {
		t.Errorf("stream = %+v", st)
	}
	if err := New().Check(t.Context(), env, clone(cfg, "object", "Account")); err != nil {
		t.Errorf("check: %v", err)
	}
	if err := New().Check(t.Context(), env, clone(cfg, "object", "Invoice__c")); err == nil || !strings.Contains(err.Error(), "object: Invoice__c is not a queryable object of this org") {
		t.Errorf("check of an unknown object: %v", err)
	}
	if _, err := New().Discover(t.Context(), env, clone(cfg, "discover_objects", []any{"Nope__c"})); err == nil || !strings.Contains(err.Error(), "discover_objects: Nope__c is not an object of this org") {
		t.Errorf("discover of an unknown object: %v", err)
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Time{
		"2025-03-01T10:20:30.000+0000": time.Date(2025, 3, 1, 10, 20, 30, 0, time.UTC),
		"2025-03-01T10:20:30.500Z":     time.Date(2025, 3, 1, 10, 20, 30, 5e8, time.UTC),
		"2025-03-01T12:20:30.000+0200": time.Date(2025, 3, 1, 10, 20, 30, 0, time.UTC),
	} {
		got, err := parseTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%s) = %v, %v", in, got, err)
		}
	}
}

// FuzzCSVPage: a Bulk result page of any bytes is a page or an error, never a panic, and never
// more rows than lines.
func FuzzCSVPage(f *testing.F) {
	f.Add([]byte("Id,Name\n001,\"Acme, \"\"Ltd\"\"\"\n002,\n"))
	f.Add([]byte("Id\n"))
	f.Add([]byte("Name,Id\n\"unterminated\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := csvPage(b, []string{"Id", "Name"})
		if err != nil {
			return
		}
		if n := strings.Count(string(b), "\n") + 1; len(p.rows) > n {
			t.Fatalf("%d rows from %d lines", len(p.rows), n)
		}
		for _, r := range p.rows {
			if len(r) != 2 {
				t.Fatalf("row of %d values", len(r))
			}
		}
	})
}
