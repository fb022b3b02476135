package session

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// originAllowed applies the origin policy to r: no Origin header is
// allowed; with CORS unset only the request's own host is; with CORS set,
// the configured origins.
func (e *Engine) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if c := e.opts.CORS; c != nil {
		return c.allows(origin)
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func (c *CORSOptions) allows(origin string) bool {
	if slices.Contains(c.AllowedOrigins, "*") || slices.Contains(c.AllowedOrigins, origin) {
		return true
	}
	return c.AllowOriginFunc != nil && c.AllowOriginFunc(origin)
}

// applyCORS adds CORS headers for an allowed cross-origin request and
// answers a preflight with 204. It reports whether the request was a
// preflight and has been answered.
func (e *Engine) applyCORS(w http.ResponseWriter, r *http.Request) bool {
	c := e.opts.CORS
	origin := r.Header.Get("Origin")
	if c == nil || origin == "" || !c.allows(origin) {
		return false
	}
	h := w.Header()
	if slices.Contains(c.AllowedOrigins, "*") && !c.AllowCredentials {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	}
	if c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method != http.MethodOptions {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET,POST,OPTIONS")
	if len(c.AllowedHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowedHeaders, ","))
	} else if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.Seconds())))
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}
