// Package apitest is a small JSON API for the REST connector's tests and benchmark: an in-memory
// record store per collection (POST appends a JSON array, an NDJSON body or one object, a repeated
// Idempotency-Key is answered without storing again; GET pages through the records with offset and
// limit and a next URL), served by httptest on 127.0.0.1.
package apitest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Store is the API's data.
type Store struct {
	mu      sync.Mutex
	colls   map[string][]json.RawMessage
	keys    map[string]bool
	Posts   int // requests that stored records
	Repeats int // requests answered from their idempotency key
}

// Serve starts the API; it stops with the test.
func Serve(t testing.TB) (*Store, *httptest.Server) {
	s := &Store{colls: map[string][]json.RawMessage{}, keys: map[string]bool{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

// Records returns a collection's records.
func (s *Store) Records(coll string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.colls[coll]...)
}

func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	coll := strings.Trim(r.URL.Path, "/")
	switch r.Method {
	case http.MethodPost:
		s.post(w, r, coll)
	case http.MethodGet:
		s.get(w, r, coll)
	default:
		http.Error(w, `{"error":"method not allowed"}`, http.StatusMethodNotAllowed)
	}
}

func (s *Store) post(w http.ResponseWriter, r *http.Request, coll string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var recs []json.RawMessage
	switch {
	case strings.Contains(r.Header.Get("Content-Type"), "ndjson"):
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 1<<26)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				recs = append(recs, json.RawMessage(bytes.Clone(sc.Bytes())))
			}
		}
	case len(bytes.TrimSpace(body)) > 0 && bytes.TrimSpace(body)[0] == '[':
		err = json.Unmarshal(body, &recs)
	default:
		recs = []json.RawMessage{body}
	}
	if err != nil {
		http.Error(w, `{"error":"bad body"}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		if s.keys[k] {
			s.Repeats++
			w.WriteHeader(http.StatusOK)
			return
		}
		s.keys[k] = true
	}
	s.Posts++
	s.colls[coll] = append(s.colls[coll], recs...)
	w.WriteHeader(http.StatusCreated)
}

func (s *Store) get(w http.ResponseWriter, r *http.Request, coll string) {
	q := r.URL.Query()
	off, _ := strconv.Atoi(q.Get("offset"))
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 {
		limit = 100
	}
	s.mu.Lock()
	recs := s.colls[coll]
	end := min(len(recs), off+limit)
	page := recs[min(off, end):end]
	s.mu.Unlock()
	var b bytes.Buffer
	b.WriteString(`{"data":[`)
	for i, rec := range page {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(rec)
	}
	b.WriteString(`],"next":`)
	if end < len(recs) {
		fmt.Fprintf(&b, `"/%s?offset=%d&limit=%d"`, coll, end, limit)
	} else {
		b.WriteString("null")
	}
	b.WriteString("}")
	w.Header().Set("Content-Type", "application/json")
	w.Write(b.Bytes())
}

// Pages is an API of n generated records served by offset and limit, each page with the next
// page's URL (the benchmark's shape): {"data":[{"id","name","email","amount","active","updated_at"}...],"next":...}.
func Pages(t testing.TB, n int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		off, _ := strconv.Atoi(q.Get("offset"))
		limit, err := strconv.Atoi(q.Get("limit"))
		if err != nil || limit <= 0 {
			limit = 1000
		}
		end := min(off+limit, n)
		b := make([]byte, 0, limit*160)
		b = append(b, `{"data":[`...)
		for i := off; i < end; i++ {
			if i > off {
				b = append(b, ',')
			}
			b = fmt.Appendf(b, `{"id":%d,"name":"customer %d","email":"c%d@example.com","amount":%.2f,"active":%t,"updated_at":"2024-01-01T00:00:%02dZ"}`,
				i+1, i+1, i+1, float64(i%10000)/100, i%3 != 0, i%60)
		}
		b = append(b, `],"next":`...)
		if end < n {
			b = fmt.Appendf(b, `"/items?offset=%d&limit=%d"`, end, limit)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, '}')
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}
