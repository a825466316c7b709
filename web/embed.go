// Package web holds the React app (sources in this folder, npm project of its own) and exposes its
// built files to the binary. `npm run build` writes dist/; `go build` embeds whatever dist/ holds,
// which is only .gitkeep in a fresh clone, so that go build and go test never need npm. A binary
// built that way serves a page that says how to build the UI.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// Built reports whether the embedded dist/ holds a built app (an index.html).
func Built() bool { return built(files()) }

func files() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil { // cannot happen: dist is embedded
		panic(err)
	}
	return sub
}

func built(fsys fs.FS) bool {
	_, err := fs.Stat(fsys, "index.html")
	return err == nil
}

// Handler serves the embedded app.
func Handler() http.Handler { return NewHandler(files()) }

// NewHandler serves a built single-page app from fsys: files by path, hashed assets (under
// assets/) cached for a year as immutable, and index.html, never cached, for every other GET
// path so that the client-side router handles deep links. The caller mounts it at "/" below its
// own routes (/api, /docs, /metrics, /healthz keep their handlers). Without an index.html it
// serves a page that says how to build the UI.
func NewHandler(fsys fs.FS) http.Handler {
	if !built(fsys) {
		return http.HandlerFunc(notBuilt)
	}
	index, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		return http.HandlerFunc(notBuilt)
	}
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name != "" && name != "index.html" {
			if st, err := fs.Stat(fsys, name); err == nil && !st.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				} else {
					w.Header().Set("Cache-Control", "no-cache")
				}
				files.ServeHTTP(w, r)
				return
			}
			if strings.HasPrefix(name, "assets/") || path.Ext(name) != "" && !strings.Contains(name, "/") {
				// A missing asset is a 404, not the app: a stale page asking for an old hash must fail visibly.
				http.NotFound(w, r)
				return
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(index)
	})
}

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Data Aggregator: web app not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The web app is not built into this binary</h1>
<p>This binary was built with <code>go build</code> alone, so it holds the API but not the web UI.</p>
<p>Build both with <code>make run</code> (or <code>make build</code>) from the repository root; it needs Node.js 20 and npm.
The API works meanwhile: see <a href="/docs">the API docs</a>.</p>
</body></html>
`

func notBuilt(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write([]byte(notBuiltPage))
}
