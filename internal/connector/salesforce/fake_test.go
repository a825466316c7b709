package salesforce

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/netguard"
)

// fakeOrg answers like a Salesforce org as the REST API and Bulk API 2.0 documentation shows
// it: the OAuth2 token endpoint (client credentials, refresh token, JWT bearer with the
// assertion's signature checked), sobjects and describe, query and queryAll with
// nextRecordsUrl pages, COUNT(), Bulk query jobs with CSV pages and Sforce-Locator, error bodies
// [{"message","errorCode"}], Sforce-Limit-Info.
type fakeOrg struct {
	mu        sync.Mutex
	srv       *httptest.Server
	key       *rsa.PrivateKey
	token     string
	accounts  []*account
	pageSize  int
	locators  map[string]*fakeJob
	jobs      map[string]*fakeJob
	requests  []string
	queries   []string
	spent     bool // answer REQUEST_LIMIT_EXCEEDED
	grants    []string
	polls     int
	jwtClaims jwt.MapClaims
}

type account struct {
	id       string
	name     string
	revenue  string
	staff    int
	active   bool
	founded  string
	modified time.Time
	deleted  bool
}

type fakeJob struct {
	rows  []*account
	polls int
	all   bool
	names []string
}

var t0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

var describeFields = []map[string]any{
	{"name": "Id", "type": "id", "nillable": false},
	{"name": "IsDeleted", "type": "boolean", "nillable": false},
	{"name": "Name", "type": "string", "nillable": false},
	{"name": "AnnualRevenue", "type": "currency", "nillable": true, "precision": 18, "scale": 2},
	{"name": "NumberOfEmployees", "type": "int", "nillable": true},
	{"name": "BillingAddress", "type": "address", "nillable": true},
	{"name": "Active__c", "type": "boolean", "nillable": false},
	{"name": "Founded__c", "type": "date", "nillable": true},
	{"name": "CreatedDate", "type": "datetime", "nillable": false},
	{"name": "SystemModstamp", "type": "datetime", "nillable": false},
}

func newOrg(t *testing.T) *fakeOrg {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	o := &fakeOrg{key: key, pageSize: 50, locators: map[string]*fakeJob{}, jobs: map[string]*fakeJob{}}
	o.srv = httptest.NewServer(o)
	t.Cleanup(o.srv.Close)
	return o
}

func (o *fakeOrg) pemKey() string {
	b := x509.MarshalPKCS1PrivateKey(o.key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: b}))
}

// add puts n accounts modified at t0 + i*step.
func (o *fakeOrg) add(n int, step time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for range n {
		i := len(o.accounts) + 1
		o.accounts = append(o.accounts, &account{id: fmt.Sprintf("001D%011d", i), name: fmt.Sprintf("Acme %d, \"Ltd\"", i), revenue: fmt.Sprintf("%d.50", i*1000),
			staff: i, active: i%3 == 0, founded: "2001-02-03", modified: t0.Add(time.Duration(i) * step)})
	}
}

func (o *fakeOrg) touch(i int, at time.Time, deleted bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.accounts[i-1].modified, o.accounts[i-1].deleted = at, deleted
}

func sfJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func sfError(w http.ResponseWriter, status int, code, msg string) {
	sfJSON(w, status, []map[string]any{{"message": msg, "errorCode": code}})
}

func (o *fakeOrg) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests = append(o.requests, r.Method+" "+r.URL.Path)
	if r.URL.Path == "/services/oauth2/token" {
		o.tokenEndpoint(w, r)
		return
	}
	if o.token == "" || r.Header.Get("Authorization") != "Bearer "+o.token {
		sfError(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
		return
	}
	if o.spent {
		sfError(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return
	}
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/15000", len(o.requests)))
	p, ok := strings.CutPrefix(r.URL.Path, "/services/data/v62.0")
	if !ok {
		sfError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	switch {
	case p == "/sobjects":
		sfJSON(w, http.StatusOK, map[string]any{"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": []map[string]any{
			{"name": "Account", "label": "Account", "queryable": true, "replicateable": true, "deprecatedAndHidden": false},
			{"name": "AccountHistory", "label": "Account History", "queryable": true, "replicateable": false, "deprecatedAndHidden": false},
		}})
	case p == "/sobjects/Account/describe":
		sfJSON(w, http.StatusOK, map[string]any{"name": "Account", "label": "Account", "fields": describeFields})
	case strings.HasPrefix(p, "/sobjects/"):
		sfError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	case p == "/query" || p == "/queryAll":
		o.query(w, r.URL.Query().Get("q"), p == "/queryAll")
	case strings.HasPrefix(p, "/query/"):
		o.page(w, strings.TrimPrefix(p, "/query/"))
	case p == "/jobs/query" && r.Method == http.MethodPost:
		o.createJob(w, r)
	case strings.HasPrefix(p, "/jobs/query/") && strings.HasSuffix(p, "/results"):
		o.results(w, r, strings.TrimSuffix(strings.TrimPrefix(p, "/jobs/query/"), "/results"))
	case strings.HasPrefix(p, "/jobs/query/"):
		o.pollJob(w, strings.TrimPrefix(p, "/jobs/query/"))
	default:
		sfError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
}

func (o *fakeOrg) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	bad := func() {
		sfJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_description": "authentication failure"})
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
	}
	grant := r.Form.Get("grant_type")
	switch grant {
	case "client_credentials":
		if id != "3MVG9-key" || secret != "sf-secret" {
			sfJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_client", "error_description": "invalid client credentials"})
			return
		}
	case "refresh_token":
		if id != "3MVG9-key" || r.Form.Get("refresh_token") != "5Aep-refresh" {
			bad()
			return
		}
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(r.Form.Get("assertion"), claims, func(*jwt.Token) (any, error) { return &o.key.PublicKey, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience("https://login.salesforce.com"), jwt.WithIssuer("3MVG9-key"), jwt.WithExpirationRequired())
		if err != nil || claims["sub"] != "etl@acme.com" {
			bad()
			return
		}
		o.jwtClaims = claims
	default:
		sfJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type", "error_description": "grant type not supported"})
		return
	}
	o.grants = append(o.grants, grant)
	o.token = fmt.Sprintf("00DD0000000!AQ-%d", len(o.grants))
	sfJSON(w, http.StatusOK, map[string]any{"access_token": o.token, "instance_url": o.srv.URL, "id": o.srv.URL + "/id/00DD0000000/005D0000001",
		"token_type": "Bearer", "issued_at": strconv.FormatInt(time.Now().UnixMilli(), 10), "signature": "c2ln"})
}

var soqlRE = regexp.MustCompile(`^SELECT (.+?) FROM (\w+)(?: WHERE (.+?))?(?: ORDER BY (\w+) ASC)?$`)

// run evaluates the SOQL this connector sends.
func (o *fakeOrg) run(q string, all bool) ([]string, []*account, bool, string) {
	o.queries = append(o.queries, q)
	m := soqlRE.FindStringSubmatch(q)
	if m == nil || m[2] != "Account" {
		return nil, nil, false, "unexpected token: " + q
	}
	var names []string
	count := m[1] == "COUNT()"
	if !count {
		names = strings.Split(m[1], ", ")
		for _, n := range names {
			if !slices.ContainsFunc(describeFields, func(f map[string]any) bool { return f["name"] == n }) || n == "BillingAddress" {
				return nil, nil, false, fmt.Sprintf("\nSELECT %s FROM Account\nERROR at Row:1:Column:8\nNo such column '%s' on entity 'Account'.", m[1], n)
			}
		}
	}
	var from time.Time
	if m[3] != "" {
		for _, c := range strings.Split(m[3], " AND ") {
			if strings.HasPrefix(c, "(") {
				continue // a user condition: passed through as written
			}
			v, ok := strings.CutPrefix(c, "SystemModstamp >= ")
			t, err := time.Parse("2006-01-02T15:04:05.000Z", v)
			if !ok || err != nil {
				return nil, nil, false, "unexpected condition " + c
			}
			from = t
		}
	}
	var rows []*account
	for _, a := range o.accounts {
		if (a.deleted && !all) || a.modified.Before(from) {
			continue
		}
		rows = append(rows, a)
	}
	if m[4] == "SystemModstamp" {
		slices.SortStableFunc(rows, func(a, b *account) int { return a.modified.Compare(b.modified) })
	}
	return names, rows, count, ""
}

func (a *account) value(n string, csvStyle bool) any {
	ts := func(t time.Time) string {
		if csvStyle {
			return t.Format("2006-01-02T15:04:05.000Z")
		}
		return t.Format("2006-01-02T15:04:05.000-0700")
	}
	switch n {
	case "Id":
		return a.id
	case "IsDeleted":
		return a.deleted
	case "Name":
		return a.name
	case "AnnualRevenue":
		f, _ := strconv.ParseFloat(a.revenue, 64)
		return f
	case "NumberOfEmployees":
		return a.staff
	case "Active__c":
		return a.active
	case "Founded__c":
		return a.founded
	case "CreatedDate":
		return ts(t0)
	case "SystemModstamp":
		return ts(a.modified)
	}
	return nil
}

func (o *fakeOrg) query(w http.ResponseWriter, q string, all bool) {
	names, rows, count, bad := o.run(q, all)
	if bad != "" {
		code := "MALFORMED_QUERY"
		if strings.Contains(bad, "No such column") {
			code = "INVALID_FIELD"
		}
		sfError(w, http.StatusBadRequest, code, bad)
		return
	}
	if count {
		sfJSON(w, http.StatusOK, map[string]any{"totalSize": len(rows), "done": true, "records": []any{}})
		return
	}
	loc := fmt.Sprintf("01gD000000%d", len(o.locators))
	o.locators[loc] = &fakeJob{rows: rows, names: names}
	o.writePage(w, loc, 0)
}

func (o *fakeOrg) page(w http.ResponseWriter, ref string) {
	loc, off, ok := strings.Cut(ref, "-")
	n, err := strconv.Atoi(off)
	if _, known := o.locators[loc]; !ok || err != nil || !known {
		sfError(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	o.writePage(w, loc, n)
}

func (o *fakeOrg) writePage(w http.ResponseWriter, loc string, off int) {
	rows, names := o.locators[loc].rows, o.locators[loc].names
	end := min(len(rows), off+o.pageSize)
	var recs []map[string]any
	for _, a := range rows[off:end] {
		rec := map[string]any{"attributes": map[string]any{"type": "Account", "url": "/services/data/v62.0/sobjects/Account/" + a.id}}
		for _, n := range names {
			rec[n] = a.value(n, false)
		}
		recs = append(recs, rec)
	}
	out := map[string]any{"totalSize": len(rows), "done": end >= len(rows), "records": recs}
	if end < len(rows) {
		out["nextRecordsUrl"] = fmt.Sprintf("/services/data/v62.0/query/%s-%d", loc, end)
	}
	sfJSON(w, http.StatusOK, out)
}

func (o *fakeOrg) createJob(w http.ResponseWriter, r *http.Request) {
	var in struct{ Operation, Query, ContentType string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || (in.Operation != "query" && in.Operation != "queryAll") || in.ContentType != "CSV" {
		sfError(w, http.StatusBadRequest, "INVALIDJOB", "bad job")
		return
	}
	names, rows, _, bad := o.run(in.Query, in.Operation == "queryAll")
	if bad != "" {
		sfError(w, http.StatusBadRequest, "INVALID_FIELD", bad)
		return
	}
	id := fmt.Sprintf("750D0000000%d", len(o.jobs))
	o.jobs[id] = &fakeJob{rows: rows, names: names, all: in.Operation == "queryAll"}
	sfJSON(w, http.StatusOK, map[string]any{"id": id, "operation": in.Operation, "object": "Account", "state": "UploadComplete", "contentType": "CSV", "apiVersion": 62.0})
}

func (o *fakeOrg) pollJob(w http.ResponseWriter, id string) {
	j, ok := o.jobs[id]
	if !ok {
		sfError(w, http.StatusNotFound, "NOT_FOUND", "job not found")
		return
	}
	o.polls++
	j.polls++
	state := "InProgress"
	if j.polls >= 2 {
		state = "JobComplete"
	}
	sfJSON(w, http.StatusOK, map[string]any{"id": id, "state": state, "numberRecordsProcessed": len(j.rows)})
}

func (o *fakeOrg) results(w http.ResponseWriter, r *http.Request, id string) {
	j, ok := o.jobs[id]
	if !ok || j.polls < 2 {
		sfError(w, http.StatusBadRequest, "INVALIDJOBSTATE", "job not complete")
		return
	}
	maxRecords, _ := strconv.Atoi(r.URL.Query().Get("maxRecords"))
	off, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Query().Get("locator"), "loc"))
	end := min(len(j.rows), off+maxRecords)
	w.Header().Set("Content-Type", "text/csv")
	w.Header().Set("Sforce-NumberOfRecords", strconv.Itoa(end-off))
	if end < len(j.rows) {
		w.Header().Set("Sforce-Locator", "loc"+strconv.Itoa(end))
	} else {
		w.Header().Set("Sforce-Locator", "null")
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(j.names)
	for _, a := range j.rows[off:end] {
		rec := make([]string, len(j.names))
		for i, n := range j.names {
			rec[i] = fmt.Sprint(a.value(n, true))
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
}

func (o *fakeOrg) count(prefix string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, r := range o.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

// setup returns an org with the test's guard and a client-credentials config for it.
func setup(t *testing.T) (*fakeOrg, connector.Env, map[string]any) {
	t.Helper()
	o := newOrg(t)
	g, err := netguard.New(netguard.Options{Allowed: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{"auth": map[string]any{"type": "client_credentials", "login_url": o.srv.URL, "client_id": "3MVG9-key", "client_secret": "sf-secret"},
		"retry_backoff_ms": 1, "bulk_poll_interval": 0.01, "bulk": "never"}
	return o, connector.Env{HTTPClient: g.HTTPClient()}, cfg
}
