package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/netguard"
	"github.com/dataaggregator/aggregator/internal/record"
)

// fakeHub answers like HubSpot's CRM v3 API as its documentation shows it: properties, list
// (paging.next.after), search (filterGroups, sorts, after, the 10,000-result window), the OAuth2
// token endpoint, rate-limit headers and error bodies.
type fakeHub struct {
	mu       sync.Mutex
	token    string
	objects  map[string][]*hubObj
	requests []string
	// throttle answers the next requests 429 with this policy ("TEN_SECONDLY_ROLLING", "DAILY").
	throttle      int
	policy        string
	remaining0    bool // say the window's quota is spent on every answer
	refreshTokens map[string]bool
	maxAfter      int
}

type hubObj struct {
	id       int
	props    map[string]string
	created  time.Time
	modified time.Time
}

var testProps = []property{
	{Name: "email", Label: "Email", Type: "string", FieldType: "text"},
	{Name: "amount", Label: "Amount", Type: "number", FieldType: "number"},
	{Name: "vip", Label: "VIP", Type: "bool", FieldType: "booleancheckbox"},
	{Name: "birthday", Label: "Birthday", Type: "date", FieldType: "date"},
	{Name: "stage", Label: "Stage", Type: "enumeration", FieldType: "select"},
	{Name: "createdate", Label: "Create date", Type: "datetime", FieldType: "date"},
	{Name: "lastmodifieddate", Label: "Last modified", Type: "datetime", FieldType: "date"},
	{Name: "hs_lastmodifieddate", Label: "Last modified", Type: "datetime", FieldType: "date"},
}

var t0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

func newFake() *fakeHub {
	return &fakeHub{token: "pat-na1-secret", objects: map[string][]*hubObj{}, refreshTokens: map[string]bool{}}
}

// add puts n objects modified at t0 + i*step (step 0: all at t0).
func (f *fakeHub) add(object string, n int, step time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		id := len(f.objects[object]) + 1
		m := t0.Add(time.Duration(id) * step)
		f.objects[object] = append(f.objects[object], &hubObj{id: id, created: t0, modified: m, props: map[string]string{
			"email": fmt.Sprintf("u%d@example.com", id), "amount": fmt.Sprintf("%d.25", id), "vip": strconv.FormatBool(id%2 == 0),
			"birthday": "1990-05-17", "stage": "lead"}})
	}
}

func (f *fakeHub) touch(object string, id int, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.objects[object][id-1]
	o.modified = at
	o.props["stage"] = "customer"
}

func (o *hubObj) json(names []string) map[string]any {
	p := map[string]any{}
	for _, n := range names {
		switch n {
		case "createdate":
			p[n] = o.created.Format("2006-01-02T15:04:05.000Z")
		case "lastmodifieddate", "hs_lastmodifieddate":
			p[n] = o.modified.Format("2006-01-02T15:04:05.000Z")
		default:
			if v, ok := o.props[n]; ok {
				p[n] = v
			} else {
				p[n] = nil
			}
		}
	}
	return map[string]any{"id": strconv.Itoa(o.id), "properties": p, "createdAt": o.created.Format("2006-01-02T15:04:05.000Z"),
		"updatedAt": o.modified.Format("2006-01-02T15:04:05.000Z"), "archived": false}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	if r.URL.Path == "/oauth/v1/token" {
		_ = r.ParseForm()
		if r.Form.Get("grant_type") != "refresh_token" || r.Form.Get("client_id") != "cid" || r.Form.Get("client_secret") != "csecret" || !f.refreshTokens[r.Form.Get("refresh_token")] {
			writeJSON(w, http.StatusBadRequest, map[string]any{"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"})
			return
		}
		f.token = "oauth-access-" + strconv.Itoa(len(f.requests))
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "bearer", "refresh_token": r.Form.Get("refresh_token"), "access_token": f.token, "expires_in": 1800})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"status": "error", "message": "Authentication credentials not found.", "correlationId": "c-1", "category": "INVALID_AUTHENTICATION"})
		return
	}
	if f.throttle > 0 {
		f.throttle--
		w.Header().Set("X-HubSpot-RateLimit-Interval-Milliseconds", "100")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"status": "error", "message": "You have reached your " + strings.ToLower(f.policy) + " limit.",
			"errorType": "RATE_LIMIT", "correlationId": "c-2", "policyName": f.policy, "category": "RATE_LIMITS"})
		return
	}
	w.Header().Set("X-HubSpot-RateLimit-Daily", "250000")
	w.Header().Set("X-HubSpot-RateLimit-Interval-Milliseconds", "50")
	w.Header().Set("X-HubSpot-RateLimit-Max", "100")
	if f.remaining0 {
		w.Header().Set("X-HubSpot-RateLimit-Remaining", "0")
	} else {
		w.Header().Set("X-HubSpot-RateLimit-Remaining", "99")
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 4 && parts[1] == "v3" && parts[2] == "properties":
		writeJSON(w, http.StatusOK, map[string]any{"results": testProps})
	case len(parts) == 4 && parts[2] == "objects" && r.Method == http.MethodGet:
		f.list(w, r, parts[3])
	case len(parts) == 5 && parts[2] == "objects" && parts[4] == "search" && r.Method == http.MethodPost:
		f.search(w, r, parts[3])
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"status": "error", "message": "Resource not found", "category": "OBJECT_NOT_FOUND"})
	}
}

func (f *fakeHub) list(w http.ResponseWriter, r *http.Request, object string) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit < 1 || limit > 100 {
		limit = 10
	}
	after, _ := strconv.Atoi(q.Get("after")) // the id after which the page starts
	var names []string
	if p := q.Get("properties"); p != "" {
		names = strings.Split(p, ",")
	}
	var out []any
	objs := f.objects[object]
	i := sort.Search(len(objs), func(i int) bool { return objs[i].id > after })
	for ; i < len(objs) && len(out) < limit; i++ {
		out = append(out, objs[i].json(names))
	}
	body := map[string]any{"results": out}
	if i < len(objs) {
		next := strconv.Itoa(objs[i-1].id)
		body["paging"] = map[string]any{"next": map[string]any{"after": next, "link": "https://api.hubapi.com/crm/v3/objects/" + object + "?after=" + next}}
	}
	writeJSON(w, http.StatusOK, body)
}

func (f *fakeHub) search(w http.ResponseWriter, r *http.Request, object string) {
	var req struct {
		FilterGroups []struct {
			Filters []struct{ PropertyName, Operator, Value string }
		}
		Sorts      []struct{ PropertyName, Direction string }
		Properties []string
		Limit      int
		After      string
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "message": err.Error(), "category": "VALIDATION_ERROR"})
		return
	}
	mod := modifiedProperty(object)
	if len(req.Sorts) != 1 || req.Sorts[0].PropertyName != mod || req.Sorts[0].Direction != "ASCENDING" || req.Limit > 200 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "message": "unexpected sorts or limit", "category": "VALIDATION_ERROR"})
		return
	}
	after, _ := strconv.Atoi(req.After)
	f.maxAfter = max(f.maxAfter, after)
	if after >= SearchWindow {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "message": "There was a problem with the request.", "category": "VALIDATION_ERROR"})
		return
	}
	objs := slices.Clone(f.objects[object])
	for _, g := range req.FilterGroups {
		for _, fl := range g.Filters {
			ms, err := strconv.ParseInt(fl.Value, 10, 64)
			if fl.PropertyName != mod || fl.Operator != "GTE" || err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "message": "unexpected filter", "category": "VALIDATION_ERROR"})
				return
			}
			objs = slices.DeleteFunc(objs, func(o *hubObj) bool { return o.modified.UnixMilli() < ms })
		}
	}
	slices.SortStableFunc(objs, func(a, b *hubObj) int { return a.modified.Compare(b.modified) })
	var out []any
	for i := after; i < len(objs) && i < after+req.Limit; i++ {
		out = append(out, objs[i].json(req.Properties))
	}
	body := map[string]any{"total": len(objs), "results": out}
	if after+req.Limit < len(objs) {
		body["paging"] = map[string]any{"next": map[string]any{"after": strconv.Itoa(after + req.Limit)}}
	}
	writeJSON(w, http.StatusOK, body)
}

func (f *fakeHub) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func setup(t *testing.T) (*fakeHub, connector.Env, map[string]any) {
	t.Helper()
	f := newFake()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	g, err := netguard.New(netguard.Options{Allowed: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{"base_url": srv.URL, "auth": map[string]any{"type": "private_app", "token": "pat-na1-secret"}, "retry_backoff_ms": 1}
	return f, connector.Env{HTTPClient: g.HTTPClient()}, cfg
}

// readAll reads a whole stream and returns its rows by id, the batches' rejects and the final state.
func readAll(t *testing.T, env connector.Env, cfg map[string]any, req connector.ReadRequest) (map[string]record.Row, *record.Schema, json.RawMessage, error) {
	t.Helper()
	r, err := New().Open(t.Context(), env, cfg, req)
	if err != nil {
		return nil, nil, nil, err
	}
	defer r.Close()
	rows := map[string]record.Row{}
	for {
		b, err := r.Next(t.Context())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rows, r.Schema(), nil, err
		}
		if len(b.Rejects) > 0 {
			t.Fatalf("rejects: %+v", b.Rejects)
		}
		if req.BatchSize > 0 && len(b.Rows) > req.BatchSize {
			t.Fatalf("batch of %d rows, asked for %d", len(b.Rows), req.BatchSize)
		}
		for _, row := range b.Rows {
			id := row[0].String()
			if _, dup := rows[id]; dup {
				t.Fatalf("record %s read twice", id)
			}
			rows[id] = row
		}
	}
	st, err := r.State()
	return rows, r.Schema(), st, err
}

func TestFullReadListsEveryPageWithTypedProperties(t *testing.T) {
	t.Parallel()
	f, env, cfg := setup(t)
	f.add("contacts", 250, time.Minute)
	cfg["properties"] = []any{"email", "amount", "vip", "birthday"}
	rows, s, _, err := readAll(t, env, cfg, connector.ReadRequest{Stream: "contacts", Mode: connector.FullRefresh, BatchSize: 40})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 250 {
		t.Fatalf("read %d contacts, want 250", len(rows))
	}
	if got := f.count("GET /crm/v3/objects/contacts"); got != 3 {
		t.Errorf("list requests = %d, want 3 (pages of 100)", got)
	}
	want := "id:string email:string amount:decimal vip:bool birthday:date createdAt:timestamp updatedAt:timestamp archived:bool"
	var got []string
	for _, fl := range s.Fields {
		got = append(got, fl.Name+":"+fl.Kind.String())
	}
	if strings.Join(got, " ") != want {
		t.Errorf("schema = %s\nwant     %s", strings.Join(got, " "), want)
	}
	row := rows["42"]
	if row[1].String() != "u42@example.com" || row[2].String() != "42.25" || row[3].String() != "true" || row[4].String() != "1990-05-17" {
		t.Errorf("row 42 = %v", row)
	}
	if ts := row[6].AsTime(); !ts.Equal(t0.Add(42 * time.Minute)) {
		t.Errorf("updatedAt = %v", ts)
	}
}

func TestIncrementalReadsOnlyChanges(t *testing.T) {
	t.Parallel()
	f, env, cfg := setup(t)
	f.add("deals", 120, time.Second)
	cfg["object"] = "deals"
	req := connector.ReadRequest{Mode: connector.Incremental, CursorField: "updatedAt", BatchSize: 1000}
	rows, _, st, err := readAll(t, env, cfg, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 120 {
		t.Fatalf("first run read %d, want 120", len(rows))
	}
	// Two changes, one of them at the very time the first run ended on, and a new deal.
	f.touch("deals", 7, t0.Add(time.Hour))
	f.touch("deals", 9, t0.Add(120*time.Second))
	f.add("deals", 1, 2*time.Hour/121)
	req.State = st
	rows, _, st, err = readAll(t, env, cfg, req)
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(func(yield func(string) bool) {
		for id := range rows {
			if !yield(id) {
				return
			}
		}
	})
	if !slices.Equal(got, []string{"121", "7", "9"}) {
		t.Errorf("second run read %v, want the changed 7, 9 and the new 121", got)
	}
	req.State = st
	if rows, _, _, err = readAll(t, env, cfg, req); err != nil || len(rows) != 0 {
		t.Errorf("third run read %d (err %v), want nothing", len(rows), err)
	}
}

func TestSearchReanchorsBeforeTheWindowEnds(t *testing.T) {
	t.Parallel()
	f, env, cfg := setup(t)
	// 10,230 contacts, three per millisecond: the re-anchored query starts on a shared time.
	f.add("contacts", 10_230, time.Millisecond/3)
	cfg["properties"] = []any{"email"}
	rows, _, _, err := readAll(t, env, cfg, connector.ReadRequest{Stream: "contacts", Mode: connector.Incremental, BatchSize: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 10_230 {
		t.Errorf("read %d contacts, want 10,230 (each once)", len(rows))
	}
	if f.maxAfter >= SearchWindow {
		t.Errorf("asked for after=%d: past the search window", f.maxAfter)
	}
}

func TestSearchCannotPassTenThousandEqualTimes(t *testing.T) {
	t.Parallel()
	f, env, cfg := setup(t)
	f.add("tickets", 10_050, 0)
	cfg["object"] = "tickets"
	_, _, _, err := readAll(t, env, cfg, connector.ReadRequest{Mode: connector.Incremental})
	if err == nil || !strings.Contains(err.Error(), "more than 10000 tickets share hs_lastmodifieddate 2025-03-01T00:00:00Z") {
		t.Errorf("err = %v", err)
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	t.Run("rolling limit waits and retries", func(t *testing.T) {
		t.Parallel()
		f, env, cfg := setup(t)
		f.add("companies", 5, time.Second)
		f.throttle, f.policy = 2, "TEN_SECONDLY_ROLLING"
		cfg["object"] = "companies"
		start := time.Now()
		rows, _, _, err := readAll(t, env, cfg, connector.ReadRequest{})
		if err != nil || len(rows) != 5 {
			t.Fatalf("rows %d, err %v", len(rows), err)
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Errorf("two 429s with a 100 ms interval were retried after %s", d)
		}
	})
	t.Run("daily limit fails at once", func(t *testing.T) {
		t.Parallel()
		f, env, cfg := setup(t)
		f.throttle, f.policy = 10, "DAILY"
		cfg["object"] = "companies"
		_, _, _, err := readAll(t, env, cfg, connector.ReadRequest{})
		if err == nil || !strings.Contains(err.Error(), "daily API limit is spent") {
			t.Fatalf("err = %v", err)
		}
		if n := f.count("GET"); n != 1 {
			t.Errorf("requests = %d, want 1", n)
		}
	})
	t.Run("a spent window delays the next request", func(t *testing.T) {
		t.Parallel()
		f, env, cfg := setup(t)
		f.add("contacts", 3, time.Second)
		f.remaining0 = true
		cfg["object"], cfg["page_size"] = "contacts", 1
		start := time.Now()
		if _, _, _, err := readAll(t, env, cfg, connector.ReadRequest{}); err != nil {
			t.Fatal(err)
		}
		// properties + 3 pages: three waits of the 50 ms interval.
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("read in %s: the spent window was not waited for", d)
		}
	})
}

func TestOAuth2RefreshToken(t *testing.T) {
	t.Parallel()
	f, env, cfg := setup(t)
	f.add("contacts", 2, time.Second)
	f.token = "not-yet"
	f.refreshTokens["rt-granted"] = true
	cfg["auth"] = map[string]any{"type": "oauth2", "client_id": "cid", "client_secret": "csecret", "refresh_token": "rt-granted"}
	rows, _, _, err := readAll(t, env, cfg, connector.ReadRequest{Stream: "contacts"})
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows %d, err %v", len(rows), err)
	}
	if n := f.count("POST /oauth/v1/token"); n < 1 {
		t.Errorf("token requests = %d", n)
	}
	cfg["auth"] = map[string]any{"type": "oauth2", "client_id": "cid", "client_secret": "csecret"}
	if err := New().Check(t.Context(), env, cfg); err == nil || !strings.Contains(err.Error(), `auth.refresh_token: not connected: use "Connect with HubSpot"`) {
		t.Errorf("err = %v", err)
	}
}

func TestErrorsSayWhatIsWrong(t *testing.T) {
	t.Parallel()
	_, env, cfg := setup(t)
	for _, tc := range []struct {
		name string
		set  func(map[string]any)
		req  connector.ReadRequest
		want string
	}{
		{"token refused", func(c map[string]any) { c["auth"] = map[string]any{"type": "private_app", "token": "wrong-token"} }, connector.ReadRequest{Stream: "contacts"},
			"hubspot: the token was refused (Authentication credentials not found.)"},
		{"unknown property", func(c map[string]any) { c["properties"] = []any{"email", "shoe_size"} }, connector.ReadRequest{Stream: "contacts"},
			"properties: contacts has no property shoe_size"},
		{"no object", func(map[string]any) {}, connector.ReadRequest{}, "object: required (one of contacts, companies, deals, tickets)"},
		{"unknown object", func(c map[string]any) { c["object"] = "invoices" }, connector.ReadRequest{}, `object: must be one of contacts, companies, deals, tickets, got "invoices"`},
		{"other cursor", func(map[string]any) {}, connector.ReadRequest{Stream: "deals", Mode: connector.Incremental, CursorField: "amount"},
			"sync.cursor_field: hubspot reads changes by last-modified date only (updatedAt or hs_lastmodifieddate)"},
		{"metadata address", func(c map[string]any) { c["base_url"] = "http://169.254.169.254" }, connector.ReadRequest{Stream: "contacts"}, "not allowed for any connector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := map[string]any{}
			for k, v := range cfg {
				c[k] = v
			}
			tc.set(c)
			_, _, _, err := readAll(t, env, c, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "wrong-token") {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

func TestDiscoverAndCheck(t *testing.T) {
	t.Parallel()
	f, env, cfg := setup(t)
	f.add("contacts", 1, time.Second)
	cat, err := New().Discover(t.Context(), env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range cat.Streams {
		names = append(names, s.Name)
		if s.Schema.Index("amount") < 0 || s.Schema.Fields[s.Schema.Index("amount")].Kind != record.KindDecimal || s.PrimaryKey[0] != "id" {
			t.Errorf("%s: schema %v, key %v", s.Name, s.Schema.Names(), s.PrimaryKey)
		}
	}
	if !slices.Equal(names, Objects) {
		t.Errorf("streams = %v", names)
	}
	if err := New().Check(context.Background(), env, cfg); err != nil {
		t.Errorf("check: %v", err)
	}
}
