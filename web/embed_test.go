package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandlerServesTheApp(t *testing.T) {
	fsys := fstest.MapFS{
		"index.html":           {Data: []byte("<!doctype html><div id=root></div>")},
		"assets/index-abc1.js": {Data: []byte("console.log(1)")},
		"favicon.svg":          {Data: []byte("<svg/>")},
	}
	h := NewHandler(fsys)
	cases := []struct {
		method, path string
		status       int
		body         string
		cache        string
	}{
		{"GET", "/", 200, "<div id=root>", "no-cache"},
		{"GET", "/pipelines/p1/edit", 200, "<div id=root>", "no-cache"}, // deep link -> index.html
		{"GET", "/runs/abc", 200, "<div id=root>", "no-cache"},
		{"GET", "/assets/index-abc1.js", 200, "console.log", "public, max-age=31536000, immutable"},
		{"GET", "/favicon.svg", 200, "<svg/>", "no-cache"},
		{"GET", "/assets/index-old.js", 404, "", ""}, // a stale hash fails visibly
		{"GET", "/missing.png", 404, "", ""},
		{"POST", "/", 405, "", ""},
	}
	for _, c := range cases {
		t.Run(c.method+c.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d", rec.Code, c.status)
			}
			if !strings.Contains(rec.Body.String(), c.body) {
				t.Fatalf("body %q lacks %q", rec.Body.String(), c.body)
			}
			if c.cache != "" && rec.Header().Get("Cache-Control") != c.cache {
				t.Fatalf("Cache-Control %q, want %q", rec.Header().Get("Cache-Control"), c.cache)
			}
		})
	}
}

func TestHandlerWithoutBuildSaysHowToBuild(t *testing.T) {
	h := NewHandler(fstest.MapFS{".gitkeep": {}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/pipelines", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "make run") {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
}
