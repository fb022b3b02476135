package nginxtest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/internal/nginxtest"
)

func TestBalancerRoundRobin(t *testing.T) {
	var upstreams []string
	for _, name := range []string{"a", "b", "c"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name+r.Header.Get("Upgrade"))
		}))
		t.Cleanup(srv.Close)
		upstreams = append(upstreams, srv.URL)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // a server that died: its requests go to the next
	base := nginxtest.StartBalancer(t, append(upstreams, dead.URL))
	client := &http.Client{Timeout: 5 * time.Second}
	counts := map[string]int{}
	// One keep-alive connection: each request is balanced anyway.
	for range 30 {
		req, err := http.NewRequest(http.MethodGet, base+"/", nil)
		require.NoError(t, err)
		req.Header.Set("Upgrade", "websocket")
		res, err := client.Do(req)
		require.NoError(t, err)
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err)
		counts[string(b)]++
	}
	assert.Len(t, counts, 3, "%v", counts)
	for name, n := range counts {
		assert.GreaterOrEqual(t, n, 6, "upstream %s got %d of 30", name, n)
	}
	assert.Contains(t, counts, "awebsocket", "the Upgrade header is passed on")
}
