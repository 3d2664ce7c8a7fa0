package web

import (
	"embed"
	"io/fs"
	"net/http"
)

// The agent's softphone page: plain HTML, CSS and ES modules, no build
// step, embedded in the binary.
//
//go:embed static
var staticFiles embed.FS

// staticRoutes serves the agent page at /, the supervisors' wallboard at
// /wallboard, reports at /reports, learned answers at /answers, and
// their files under /static/.
func (s *Server) staticRoutes(mux *http.ServeMux) {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	files := http.FileServerFS(sub)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		http.ServeFileFS(w, r, sub, "index.html")
	})
	mux.HandleFunc("GET /wallboard", func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		http.ServeFileFS(w, r, sub, "wallboard.html")
	})
	mux.HandleFunc("GET /reports", func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		http.ServeFileFS(w, r, sub, "reports.html")
	})
	mux.HandleFunc("GET /answers", func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		http.ServeFileFS(w, r, sub, "answers.html")
	})
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		files.ServeHTTP(w, r)
	})))
}

// pageHeaders keeps the page fresh after an upgrade (the files are small)
// and confines it to its own origin: no inline script, no third party.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self'; media-src 'self' blob: mediastream:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
}
