package jsclient

import (
	"net/http"
	"path"
	"strconv"
)

// Cache lifetimes. The bundle's plain name carries no version, so browsers
// and shared caches keep it for a day: a longer lifetime would keep an old
// client in use long after a server upgrade, and after a day the ETag makes
// revalidation a 304. The hashed name changes whenever the bundle does, so
// what is stored under it never goes stale: it is kept for a year without
// revalidation.
const (
	cacheControl       = "public, max-age=86400"
	cacheControlHashed = "public, max-age=31536000, immutable"
)

// Handler serves the embedded browser bundle. It answers requests whose URL
// path has one of these base names, whatever the directory, so it can be
// mounted under any prefix; other names get 404:
//
//   - ferry.min.js (Content-Type application/javascript; charset=utf-8),
//     with Cache-Control "public, max-age=86400";
//   - the name HashedName returns, ferry.<hash>.min.js: the same bundle
//     with Cache-Control "public, max-age=31536000, immutable";
//   - ferry.min.js.map (application/json), the source map, with
//     "public, max-age=86400".
//
// GET and HEAD are served; other methods get 405 with an Allow header.
// Responses carry a strong ETag, and the bundle's "Vary: Accept-Encoding":
// when the request's Accept-Encoding allows gzip, the pre-compressed bundle
// is sent with Content-Encoding: gzip (and its own ETag). A request whose
// If-None-Match matches the ETag gets 304 with no body.
//
// A Handler is safe for concurrent use; its assets are never modified
// after NewHandler builds them.
type Handler struct {
	assets     map[string]*asset
	hashedName string
}

// NewHandler returns a Handler for the embedded files. It reads and hashes
// them once per call.
func NewHandler() *Handler {
	bundle := &asset{
		contentType:  "application/javascript; charset=utf-8",
		cacheControl: cacheControl,
		plain:        newRepresentation(bundleName),
		gzip:         ptr(newRepresentation(bundleName + ".gz")),
	}
	hashed := *bundle
	hashed.cacheControl = cacheControlHashed
	h := &Handler{
		assets: map[string]*asset{
			bundleName: bundle,
			sourceMapName: {
				contentType:  "application/json",
				cacheControl: cacheControl,
				plain:        newRepresentation(sourceMapName),
			},
		},
		hashedName: hashedBundleName(bundle.plain.body),
	}
	h.assets[h.hashedName] = &hashed
	return h
}

// HashedName returns the bundle's content-addressed name,
// "ferry.<hash>.min.js", where hash is the first 16 hex digits of the
// SHA-256 of the bundle: a page that loads the bundle under this name may
// let browsers cache it for good, since another bundle gets another name.
func (h *Handler) HashedName() string { return h.hashedName }

// ServeHTTP serves the file named by the base name of the request path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	header.Set("Cache-Control", a.cacheControl)
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
