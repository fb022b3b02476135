package ferry_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
)

// TestClientScriptPath checks that the bundle's content-hashed path is
// served under the server's Path with immutable caching, the same bytes as
// <Path>ferry.min.js, which keeps its one-day lifetime.
func TestClientScriptPath(t *testing.T) {
	srv := ferry.NewServer(&ferry.Options{Path: "/rt", Logger: quiet})
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	p := srv.ClientScriptPath()
	require.Regexp(t, regexp.MustCompile(`^/rt/ferry\.[0-9a-f]{16}\.min\.js$`), p)

	get := func(target string) (*httptest.ResponseRecorder, []byte) {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		body, err := io.ReadAll(rec.Result().Body)
		require.NoError(t, err)
		return rec, body
	}
	hashed, hashedBody := get(p)
	require.Equal(t, http.StatusOK, hashed.Code)
	assert.Equal(t, "public, max-age=31536000, immutable", hashed.Header().Get("Cache-Control"))
	assert.Equal(t, "application/javascript; charset=utf-8", hashed.Header().Get("Content-Type"))

	plain, plainBody := get("/rt/ferry.min.js")
	require.Equal(t, http.StatusOK, plain.Code)
	assert.Equal(t, "public, max-age=86400", plain.Header().Get("Cache-Control"))
	assert.Equal(t, plainBody, hashedBody)

	disabled := ferry.NewServer(&ferry.Options{DisableClient: true, Logger: quiet})
	t.Cleanup(func() { require.NoError(t, disabled.Close()) })
	assert.Empty(t, disabled.ClientScriptPath())
}
