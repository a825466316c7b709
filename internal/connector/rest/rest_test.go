package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// item is one record of the fake API.
type item struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	UpdatedAt string `json:"updated_at"`
	Owner     struct {
		Login string `json:"login"`
	} `json:"owner"`
}

// api is a JSON API over items that paginates each of the ways the connector knows: /page
// (?page=), /offset (?offset=&limit=), /cursor (body meta.next, ?cursor=), /next (body next URL),
// /link (Link header). ?updated_since= keeps items updated at or after it. Requests are recorded.
type api struct {
	mu       sync.Mutex
	items    []item
	requests []string
	size     int
}

func newAPI(t *testing.T, n int) (*api, *httptest.Server) {
	a := &api{size: 3}
	for i := 1; i <= n; i++ {
		it := item{ID: i, Name: fmt.Sprintf("item %d", i), UpdatedAt: fmt.Sprintf("2024-01-01T00:00:%02dZ", i)}
		it.Owner.Login = "u" + strconv.Itoa(i%3)
		a.items = append(a.items, it)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = append(a.requests, r.URL.RequestURI())
	q := r.URL.Query()
	var items []item
	for _, it := range a.items {
		if s := q.Get("updated_since"); s == "" || it.UpdatedAt >= s {
			items = append(items, it)
		}
	}
	from := 0
	switch r.URL.Path {
	case "/page":
		p, _ := strconv.Atoi(q.Get("page"))
		from = (p - 1) * a.size
	case "/offset":
		from, _ = strconv.Atoi(q.Get("offset"))
	case "/cursor", "/next", "/link", "/items":
		if c := q.Get("cursor") + q.Get("after"); c != "" {
			from, _ = strconv.Atoi(strings.TrimPrefix(c, "c"))
		}
	}
	end := min(from+a.size, len(items))
	page := items[min(from, end):end]
	body := map[string]any{"data": page}
	if end < len(items) {
		switch r.URL.Path {
		case "/cursor":
			body["meta"] = map[string]any{"next": fmt.Sprintf("c%d", end)}
		case "/next":
			body["next"] = fmt.Sprintf("/next?after=%d&updated_since=%s", end, q.Get("updated_since"))
		case "/link":
			w.Header().Set("Link", fmt.Sprintf(`</link?after=%d>; rel="next"`, end))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// read opens the connector with cfg and reads every batch; it returns the ids, the final state and
// the batch schema.
func read(t *testing.T, cfg map[string]any, req connector.ReadRequest) ([]int64, json.RawMessage, *record.Schema, error) {
	t.Helper()
	r, err := New().Open(t.Context(), guardEnv(t), cfg, req)
	if err != nil {
		return nil, nil, nil, err
	}
	defer r.Close()
	var ids []int64
	for {
		b, err := r.Next(t.Context())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return ids, nil, nil, err
		}
		for i := range b.Rows {
			ids = append(ids, b.Get(i, "id").AsInt())
		}
	}
	st, err := r.State()
	return ids, st, r.Schema(), err
}

func seq(from, to int) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, int64(i))
	}
	return out
}

func TestPaginationTypes(t *testing.T) {
	t.Parallel()
	_, srv := newAPI(t, 10)
	for _, tc := range []struct {
		path string
		p    map[string]any
	}{
		{"/page", map[string]any{"type": "page", "param": "page"}},
		{"/offset", map[string]any{"type": "offset", "param": "offset", "limit_param": "limit", "limit": 3}},
		{"/cursor", map[string]any{"type": "cursor", "path": "meta.next", "param": "cursor"}},
		{"/next", map[string]any{"type": "next_url", "path": "next"}},
		{"/link", map[string]any{"type": "link_header"}},
	} {
		t.Run(tc.p["type"].(string), func(t *testing.T) {
			t.Parallel()
			ids, _, s, err := read(t, map[string]any{"url": srv.URL + tc.path, "records_path": "data", "pagination": tc.p}, connector.ReadRequest{BatchSize: 2})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ids) != fmt.Sprint(seq(1, 10)) {
				t.Errorf("ids = %v", ids)
			}
			if f, _ := s.Field("owner"); f.Kind != record.KindJSON {
				t.Errorf("owner is %s, want json (a nested object)", f.Kind)
			}
			if f, _ := s.Field("updated_at"); f.Kind != record.KindTimestamp {
				t.Errorf("updated_at is %s, want timestamp", f.Kind)
			}
		})
	}
}

func TestFlattenAndPlaceholders(t *testing.T) {
	t.Parallel()
	a, srv := newAPI(t, 2)
	_, _, s, err := read(t, map[string]any{"url": srv.URL + "/{coll}", "params": map[string]any{"coll": "items", "limit": 50},
		"records_path": "data", "flatten": true}, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Names(), ","); got != "id,name,updated_at,owner_login" {
		t.Errorf("fields = %s", got)
	}
	if a.requests[0] != "/items?limit=50" {
		t.Errorf("request = %s, want /items?limit=50", a.requests[0])
	}
}

// A resumed read continues after the last batch, inside a page or at a page boundary.
func TestResumeFromCheckpoint(t *testing.T) {
	t.Parallel()
	_, srv := newAPI(t, 10)
	cfg := map[string]any{"url": srv.URL + "/cursor", "records_path": "data", "pagination": map[string]any{"type": "cursor", "path": "meta.next", "param": "cursor"}}
	for _, batches := range []int{1, 2, 3} {
		r, err := New().Open(t.Context(), guardEnv(t), cfg, connector.ReadRequest{BatchSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for range batches {
			b, err := r.Next(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for i := range b.Rows {
				ids = append(ids, b.Get(i, "id").AsInt())
			}
		}
		st, _ := r.State()
		r.Close()
		rest, _, _, err := read(t, cfg, connector.ReadRequest{BatchSize: 2, State: st})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(append(ids, rest...)); got != fmt.Sprint(seq(1, 10)) {
			t.Errorf("after %d batches (state %s): ids = %s", batches, st, got)
		}
	}
}

// The second incremental run asks for what changed since the first and keeps only that.
func TestIncremental(t *testing.T) {
	t.Parallel()
	a, srv := newAPI(t, 5)
	cfg := map[string]any{"url": srv.URL + "/next", "records_path": "data", "pagination": map[string]any{"type": "next_url", "path": "next"},
		"incremental": map[string]any{"param": "updated_since"}}
	req := connector.ReadRequest{Mode: connector.Incremental, CursorField: "updated_at"}
	ids, st, _, err := read(t, cfg, req)
	if err != nil || len(ids) != 5 {
		t.Fatalf("first run: ids %v, %v", ids, err)
	}
	a.mu.Lock()
	a.items[1].UpdatedAt, a.items[1].Name = "2024-01-02T00:00:00Z", "changed"
	a.items = append(a.items, item{ID: 6, UpdatedAt: "2024-01-02T00:00:01Z"})
	a.requests = nil
	a.mu.Unlock()
	req.State = st
	ids, st2, _, err := read(t, cfg, req)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids) != "[2 6]" {
		t.Errorf("second run: ids %v, want [2 6]", ids)
	}
	if !strings.Contains(a.requests[0], "updated_since=2024-01-01T00%3A00%3A05Z") {
		t.Errorf("second run asked %s, want updated_since the first run's highest cursor", a.requests[0])
	}
	// A third run with nothing changed reads nothing (the last record, at the cursor, is not read again).
	req.State = st2
	if ids, _, _, err := read(t, cfg, req); err != nil || len(ids) != 0 {
		t.Errorf("third run: ids %v, %v; want none", ids, err)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/html":
			fmt.Fprint(w, "<html>maintenance</html>")
		case "/truncated":
			fmt.Fprint(w, `{"data":[{"id":1},{"id":`)
		case "/loop": // a cursor that never ends
			fmt.Fprintf(w, `{"data":[{"id":%d}],"next":"same"}`, len(r.URL.Query().Get("cursor")))
		case "/loop-url": // a next URL back to the first page
			if r.URL.Query().Get("p") == "2" {
				fmt.Fprint(w, `{"data":[{"id":2}],"next":"/loop-url"}`)
				return
			}
			fmt.Fprint(w, `{"data":[{"id":1}],"next":"/loop-url?p=2"}`)
		default:
			fmt.Fprint(w, `{"items":[]}`)
		}
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"not JSON", map[string]any{"url": srv.URL + "/html"}, "response of " + srv.URL + "/html: the body is not valid JSON: invalid character '<'"},
		{"truncated", map[string]any{"url": srv.URL + "/truncated"}, "the body is truncated JSON"},
		{"records path matching nothing", map[string]any{"url": srv.URL + "/x", "records_path": "data"}, `records_path matches nothing in the body: "data"; the body has the keys items`},
		{"cursor repeating", map[string]any{"url": srv.URL + "/loop", "records_path": "data", "pagination": map[string]any{"type": "cursor", "path": "next", "param": "cursor"}},
			`pagination loop: the cursor "same" at next repeats`},
		{"next URL seen before", map[string]any{"url": srv.URL + "/loop-url", "records_path": "data", "pagination": map[string]any{"type": "next_url", "path": "next"}},
			"pagination loop: the next page " + srv.URL + "/loop-url was already read"},
		{"guarded address", map[string]any{"url": "http://169.254.169.254/latest/meta-data/"}, "not allowed for any connector"},
		{"unknown placeholder", map[string]any{"url": srv.URL + "/{nope}"}, "url: placeholder {nope} is neither a key of params nor {cursor}"},
		{"auth field of another type", map[string]any{"url": srv.URL, "auth": map[string]any{"type": "bearer", "token": "t", "username": "u"}},
			`auth.username: is not used when type is "bearer"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := read(t, tc.cfg, connector.ReadRequest{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDiscoverAndTestRequest(t *testing.T) {
	t.Parallel()
	_, srv := newAPI(t, 5)
	cfg := map[string]any{"url": srv.URL + "/v1/cursor", "records_path": "data", "pagination": map[string]any{"type": "cursor", "path": "meta.next", "param": "cursor"}}
	cat, err := New().Discover(t.Context(), guardEnv(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := cat.Streams[0]
	if st.Name != "cursor" || fmt.Sprint(st.PrimaryKey) != "[id]" || fmt.Sprint(st.CursorCandidates) != "[updated_at]" {
		t.Errorf("stream = %+v", st)
	}
	s, err := New().TestRequest(t.Context(), guardEnv(t), cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != 200 || s.Total != 3 || len(s.Records) != 2 || s.Records[0]["name"] != "item 1" || s.Schema.Len() != 4 {
		t.Errorf("sample = %+v", s)
	}
}

// capture is an API that records every request the destination sends.
type capture struct {
	mu   sync.Mutex
	reqs []captured
}

type captured struct {
	method, ctype, key, body string
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.reqs = append(c.reqs, captured{r.Method, r.Header.Get("Content-Type"), r.Header.Get("Idempotency-Key"), string(b)})
	c.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

func rows(from, to int) *record.Batch {
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString, Nullable: true})
	b := record.NewBatch(s, 0)
	for i := from; i <= to; i++ {
		b.Rows = append(b.Rows, record.Row{record.Int(int64(i)), record.String(fmt.Sprintf("n%d", i))})
	}
	return b
}

func TestDestinationBodies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		cfg    map[string]any
		method string
		ctype  string
		bodies []string
	}{
		{"one by one", map[string]any{"batch_size": 1, "method": "PUT"}, "PUT", "application/json",
			[]string{`{"id":1,"name":"n1"}`, `{"id":2,"name":"n2"}`, `{"id":3,"name":"n3"}`}},
		{"JSON array batches", map[string]any{"batch_size": 2}, "POST", "application/json",
			[]string{`[{"id":1,"name":"n1"},{"id":2,"name":"n2"}]`, `[{"id":3,"name":"n3"}]`}},
		{"NDJSON batches", map[string]any{"batch_size": 2, "body_format": "ndjson", "method": "PATCH"}, "PATCH", "application/x-ndjson",
			[]string{"{\"id\":1,\"name\":\"n1\"}\n{\"id\":2,\"name\":\"n2\"}\n", "{\"id\":3,\"name\":\"n3\"}\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &capture{}
			srv := httptest.NewServer(c)
			t.Cleanup(srv.Close)
			tc.cfg["url"] = srv.URL + "/in"
			w, err := New().OpenWriter(t.Context(), guardEnv(t), tc.cfg, connector.WriteRequest{Mode: connector.Append, RunID: "r1", Node: "out"})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(t.Context(), rows(1, 3)); err != nil {
				t.Fatal(err)
			}
			if len(c.reqs) != 0 {
				t.Fatalf("%d requests before Commit", len(c.reqs))
			}
			if err := w.Commit(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			var bodies []string
			for _, r := range c.reqs {
				bodies = append(bodies, r.body)
				if r.method != tc.method || r.ctype != tc.ctype || len(r.key) != 32 {
					t.Errorf("request %+v, want %s %s with an idempotency key", r, tc.method, tc.ctype)
				}
			}
			if fmt.Sprint(bodies) != fmt.Sprint(tc.bodies) {
				t.Errorf("bodies = %q, want %q", bodies, tc.bodies)
			}
		})
	}
}

// A resumed run sends the records after its checkpoint with the keys they had: the API can drop
// the ones it already has.
func TestIdempotencyKeysAreStableAcrossAResume(t *testing.T) {
	t.Parallel()
	c := &capture{}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	cfg := map[string]any{"url": srv.URL, "batch_size": 2}
	open := func(resume bool) connector.ResumableWriter {
		w, err := New().OpenWriter(t.Context(), guardEnv(t), cfg, connector.WriteRequest{Mode: connector.Append, RunID: "run-1", Node: "out", Resume: resume})
		if err != nil {
			t.Fatal(err)
		}
		return w.(connector.ResumableWriter)
	}
	w := open(false)
	_ = w.Write(t.Context(), rows(1, 2))
	_ = w.Commit(t.Context())
	tok, _ := w.CommitState()
	_ = w.Write(t.Context(), rows(3, 4))
	_ = w.Commit(t.Context()) // committed, but the checkpoint naming it was never saved: the process died
	first := append([]captured(nil), c.reqs...)

	w2 := open(true)
	if err := w2.ResumeAt(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	_ = w2.Write(t.Context(), rows(3, 4))
	_ = w2.Commit(t.Context())
	again := c.reqs[len(first):]
	if len(again) != 1 || again[0].key != first[1].key || again[0].body != first[1].body {
		t.Errorf("resumed request %+v, want the key and body of %+v", again, first[1])
	}
	// Another run sends the same records with other keys.
	w3, _ := New().OpenWriter(t.Context(), guardEnv(t), cfg, connector.WriteRequest{Mode: connector.Append, RunID: "run-2", Node: "out"})
	_ = w3.Write(t.Context(), rows(1, 2))
	_ = w3.Commit(t.Context())
	if last := c.reqs[len(c.reqs)-1]; last.key == first[0].key {
		t.Error("two runs derived the same key")
	}
}

func TestDestinationErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"error":"name is required"}`)
	}))
	t.Cleanup(srv.Close)
	w, err := New().OpenWriter(t.Context(), guardEnv(t), map[string]any{"url": srv.URL + "/in"}, connector.WriteRequest{Mode: connector.Append})
	if err != nil {
		t.Fatal(err)
	}
	_ = w.Write(t.Context(), rows(1, 3))
	err = w.Commit(t.Context())
	if err == nil || !strings.Contains(err.Error(), "send records 1-3 of the run: POST "+srv.URL+`/in: 422 Unprocessable Entity: {"error":"name is required"}`) {
		t.Errorf("err = %v", err)
	}
	for _, cfg := range []map[string]any{{"url": srv.URL, "method": "GET"}, {"url": srv.URL, "pagination": map[string]any{"type": "page", "param": "p"}}} {
		if _, err := New().OpenWriter(t.Context(), guardEnv(t), cfg, connector.WriteRequest{}); !errors.Is(err, connector.ErrConfig) {
			t.Errorf("%v: err = %v, want a config error", cfg, err)
		}
	}
	if _, err := New().OpenWriter(t.Context(), guardEnv(t), map[string]any{"url": srv.URL}, connector.WriteRequest{Mode: connector.Upsert}); !errors.Is(err, connector.ErrUnsupported) {
		t.Errorf("upsert: err = %v", err)
	}
}

// A destination is checked without sending anything (validate must not POST or GET the endpoint).
func TestCheckDestinationSendsNothing(t *testing.T) {
	t.Parallel()
	c := &capture{}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	if err := New().CheckDestination(t.Context(), guardEnv(t), map[string]any{"url": srv.URL + "/in"}, connector.WriteRequest{Mode: connector.Append}); err != nil {
		t.Fatal(err)
	}
	if err := New().CheckDestination(t.Context(), guardEnv(t), map[string]any{"url": srv.URL, "method": "GET"}, connector.WriteRequest{}); !errors.Is(err, connector.ErrConfig) {
		t.Errorf("GET destination: err = %v", err)
	}
	if len(c.reqs) != 0 {
		t.Errorf("%d requests sent", len(c.reqs))
	}
}
