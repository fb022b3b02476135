package jsclient

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// distFile reads a committed file from dist/ on disk, independently of the
// embedded copy the handler serves.
func distFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("dist", name))
	require.NoError(t, err)
	return b
}

// serve runs one request against a fresh Handler through a real 127.0.0.1
// server. Accept-Encoding is sent only as given, and responses are not
// decompressed by the client.
func serve(t *testing.T, method, target string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	srv := httptest.NewServer(http.StripPrefix("/socket.io", NewHandler()))
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+target, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(client.CloseIdleConnections)
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

func TestServeBundle(t *testing.T) {
	t.Parallel()
	want := distFile(t, "ferry.min.js")
	resp, body := serve(t, http.MethodGet, "/socket.io/ferry.min.js", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/javascript; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	assert.Empty(t, resp.Header.Get("Content-Encoding"))
	assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
	assert.Equal(t, "public, max-age=86400", resp.Header.Get("Cache-Control"))
	assert.Equal(t, strconv.Itoa(len(want)), resp.Header.Get("Content-Length"))
	assert.Regexp(t, `^"[0-9a-f]{32}"$`, resp.Header.Get("ETag"))
	assert.Equal(t, want, body)
}

func TestServeSourceMap(t *testing.T) {
	t.Parallel()
	want := distFile(t, "ferry.min.js.map")
	resp, body := serve(t, http.MethodGet, "/socket.io/ferry.min.js.map", http.Header{"Accept-Encoding": {"gzip"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Empty(t, resp.Header.Get("Content-Encoding"), "the map has no gzip variant")
	assert.Regexp(t, `^"[0-9a-f]{32}"$`, resp.Header.Get("ETag"))
	assert.Equal(t, want, body)
}

func TestServeMatchesBaseNameUnderAnyPrefix(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"/socket.io/ferry.min.js", "/socket.io/custom/path/ferry.min.js", "/socket.io/ferry.min.js?v=1"} {
		resp, _ := serve(t, http.MethodGet, target, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode, target)
	}
}

func TestServeGzip(t *testing.T) {
	t.Parallel()
	plain := distFile(t, "ferry.min.js")
	for _, accept := range []string{"gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "*", "x-gzip"} {
		t.Run(accept, func(t *testing.T) {
			t.Parallel()
			resp, body := serve(t, http.MethodGet, "/socket.io/ferry.min.js", http.Header{"Accept-Encoding": {accept}})
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
			assert.Equal(t, "application/javascript; charset=utf-8", resp.Header.Get("Content-Type"))
			assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
			assert.Equal(t, strconv.Itoa(len(body)), resp.Header.Get("Content-Length"))
			assert.Less(t, len(body), len(plain))
			zr, err := gzip.NewReader(bytes.NewReader(body))
			require.NoError(t, err)
			unzipped, err := io.ReadAll(zr)
			require.NoError(t, err)
			assert.Equal(t, plain, unzipped)
		})
	}
}

func TestServeGzipRefused(t *testing.T) {
	t.Parallel()
	for _, accept := range []string{"gzip;q=0", "deflate, br", "*;q=0", "gzip;q=0, *", "identity"} {
		t.Run(accept, func(t *testing.T) {
			t.Parallel()
			resp, body := serve(t, http.MethodGet, "/socket.io/ferry.min.js", http.Header{"Accept-Encoding": {accept}})
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Empty(t, resp.Header.Get("Content-Encoding"))
			assert.Equal(t, distFile(t, "ferry.min.js"), body)
		})
	}
}

func TestServeGzipHasItsOwnETag(t *testing.T) {
	t.Parallel()
	plain, _ := serve(t, http.MethodGet, "/socket.io/ferry.min.js", nil)
	zipped, _ := serve(t, http.MethodGet, "/socket.io/ferry.min.js", http.Header{"Accept-Encoding": {"gzip"}})
	require.NotEmpty(t, plain.Header.Get("ETag"))
	require.NotEmpty(t, zipped.Header.Get("ETag"))
	assert.NotEqual(t, plain.Header.Get("ETag"), zipped.Header.Get("ETag"))
}

func TestServeNotModified(t *testing.T) {
	t.Parallel()
	for _, accept := range []string{"", "gzip"} {
		t.Run("accept="+accept, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if accept != "" {
				h.Set("Accept-Encoding", accept)
			}
			first, _ := serve(t, http.MethodGet, "/socket.io/ferry.min.js", h)
			etag := first.Header.Get("ETag")
			require.NotEmpty(t, etag)

			for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
				h := h.Clone()
				h.Set("If-None-Match", inm)
				resp, body := serve(t, http.MethodGet, "/socket.io/ferry.min.js", h)
				assert.Equal(t, http.StatusNotModified, resp.StatusCode, inm)
				assert.Empty(t, body, inm)
				assert.Equal(t, etag, resp.Header.Get("ETag"), inm)
				assert.Equal(t, "public, max-age=86400", resp.Header.Get("Cache-Control"), inm)
				assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"), inm)
				assert.Empty(t, resp.Header.Get("Content-Encoding"), inm)
			}

			h = h.Clone()
			h.Set("If-None-Match", `"0123456789abcdef0123456789abcdef"`)
			resp, body := serve(t, http.MethodGet, "/socket.io/ferry.min.js", h)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.NotEmpty(t, body)
		})
	}
}

func TestServeHead(t *testing.T) {
	t.Parallel()
	get, getBody := serve(t, http.MethodGet, "/socket.io/ferry.min.js", http.Header{"Accept-Encoding": {"gzip"}})
	head, headBody := serve(t, http.MethodHead, "/socket.io/ferry.min.js", http.Header{"Accept-Encoding": {"gzip"}})
	require.Equal(t, http.StatusOK, head.StatusCode)
	assert.Empty(t, headBody)
	for _, name := range []string{"Content-Type", "Content-Encoding", "ETag", "Cache-Control", "Vary"} {
		assert.Equal(t, get.Header.Get(name), head.Header.Get(name), name)
	}
	assert.Equal(t, int64(len(getBody)), head.ContentLength)
}

func TestServeUnknownName(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"/socket.io/", "/socket.io/ferry.js", "/socket.io/ferry.min.js.gz", "/socket.io/socket.io.min.js", "/socket.io/ferry.min.js/x"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			resp, _ := serve(t, method, target, nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, method+" "+target)
		}
	}
}

func TestServeOtherMethods(t *testing.T) {
	t.Parallel()
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions, http.MethodPatch} {
		resp, _ := serve(t, method, "/socket.io/ferry.min.js", nil)
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, method)
		assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"), method)
	}
}

func TestHandlerServesConcurrently(t *testing.T) {
	t.Parallel()
	h := NewHandler()
	want := distFile(t, "ferry.min.js")
	done := make(chan []byte)
	for range 8 {
		go func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ferry.min.js", nil))
			done <- rec.Body.Bytes()
		}()
	}
	for range 8 {
		assert.Equal(t, want, <-done)
	}
}

func TestHashedName(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256(distFile(t, "ferry.min.js"))
	want := "ferry." + hex.EncodeToString(sum[:])[:16] + ".min.js"
	assert.Equal(t, want, NewHandler().HashedName())
}

func TestServeHashedBundle(t *testing.T) {
	t.Parallel()
	name := NewHandler().HashedName()
	plain, plainBody := serve(t, http.MethodGet, "/socket.io/ferry.min.js", nil)
	for _, accept := range []string{"", "gzip"} {
		t.Run("accept="+accept, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if accept != "" {
				h.Set("Accept-Encoding", accept)
			}
			resp, body := serve(t, http.MethodGet, "/socket.io/"+name, h)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "public, max-age=31536000, immutable", resp.Header.Get("Cache-Control"))
			assert.Equal(t, "application/javascript; charset=utf-8", resp.Header.Get("Content-Type"))
			assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
			assert.Equal(t, accept, resp.Header.Get("Content-Encoding"))
			if accept == "" {
				assert.Equal(t, plainBody, body, "the same bundle as ferry.min.js")
				assert.Equal(t, plain.Header.Get("ETag"), resp.Header.Get("ETag"))
			}

			h.Set("If-None-Match", resp.Header.Get("ETag"))
			again, _ := serve(t, http.MethodGet, "/socket.io/"+name, h)
			assert.Equal(t, http.StatusNotModified, again.StatusCode)
			assert.Equal(t, "public, max-age=31536000, immutable", again.Header.Get("Cache-Control"))
		})
	}
	// The plain names keep their short lifetime.
	assert.Equal(t, "public, max-age=86400", plain.Header.Get("Cache-Control"))
	mapResp, _ := serve(t, http.MethodGet, "/socket.io/ferry.min.js.map", nil)
	assert.Equal(t, "public, max-age=86400", mapResp.Header.Get("Cache-Control"))
}

func TestServeOtherHashNotFound(t *testing.T) {
	t.Parallel()
	// A page naming another bundle's hash must not get this bundle under
	// an immutable name.
	name := NewHandler().HashedName()
	other := "ferry.0000000000000000.min.js"
	require.NotEqual(t, name, other)
	for _, target := range []string{other, "ferry." + name[len("ferry."):len(name)-len(".min.js")] + ".js"} {
		resp, _ := serve(t, http.MethodGet, "/socket.io/"+target, nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, target)
	}
}
