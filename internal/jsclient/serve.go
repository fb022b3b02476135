package jsclient

import (
	"net/http"
	"path"
	"strconv"
)

// cacheControl lets browsers and shared caches keep the bundle for a day.
// The URL carries no version, so a longer lifetime would keep an old client
// in use long after a server upgrade; after a day, the ETag makes
// revalidation a 304.
const cacheControl = "public, max-age=86400"

// Handler returns an http.Handler that serves the embedded browser bundle.
// It answers requests whose URL path has the base name ferry.min.js
// (Content-Type application/javascript; charset=utf-8) or ferry.min.js.map
// (application/json), whatever the directory, so it can be mounted under any
// prefix; other names get 404.
//
// GET and HEAD are served; other methods get 405 with an Allow header.
// Responses carry a strong ETag, Cache-Control "public, max-age=86400", and
// for ferry.min.js "Vary: Accept-Encoding": when the request's
// Accept-Encoding allows gzip, the pre-compressed bundle is sent with
// Content-Encoding: gzip (and its own ETag). A request whose If-None-Match
// matches the ETag gets 304 with no body.
//
// Handler reads and hashes the embedded files once per call; the returned
// handler is safe for concurrent use.
func Handler() http.Handler {
	return &handler{assets: loadAssets()}
}

// handler serves assets; the map and the assets are never modified after
// Handler builds them.
type handler struct {
	assets map[string]*asset
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets[path.Base(r.URL.Path)]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}

	header := w.Header()
	rep := &a.plain
	if a.gzip != nil {
		header.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			rep = a.gzip
		}
	}
	header.Set("ETag", rep.etag)
	header.Set("Cache-Control", cacheControl)
	if noneMatch(r.Header.Values("If-None-Match"), rep.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}

	header.Set("Content-Type", a.contentType)
	header.Set("X-Content-Type-Options", "nosniff")
	if rep != &a.plain {
		header.Set("Content-Encoding", "gzip")
	}
	header.Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	// A write error means the client went away; there is no one to tell.
	_, _ = w.Write(rep.body)
}
