package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestJSONLike(t *testing.T) {
	a, b := jsonLike(4096), jsonLike(4096)
	assert.Len(t, a, 4096)
	assert.Equal(t, a, b, "the same text every run")
	assert.True(t, strings.HasPrefix(a, `[{"id":1000,`), a[:40])
}

// TestAgainstFerry runs the command at a tiny size against a freshly built
// ferryserver: compression is negotiated only when on, and with it the
// echo costs fewer bytes each way.
func TestAgainstFerry(t *testing.T) {
	goTool, err := exec.LookPath("go")
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "ferryserver")
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/ferryio/ferry/bench/cmd/ferryserver").CombinedOutput()
	require.NoError(t, err, "%s", out)

	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := config{ferry: bin, clients: 3, payload: 4096, warmup: 100 * time.Millisecond, duration: 300 * time.Millisecond}
	require.NoError(t, run(ctx, cfg, &buf))

	text := buf.String()
	var rs []result
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "{") {
			continue // the table
		}
		var r result
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), sc.Text())
		rs = append(rs, r)
	}
	require.Len(t, rs, 3, text)
	off, on := rs[0], rs[1]
	assert.Equal(t, "off", off.Deflate)
	assert.False(t, off.Negotiated)
	assert.True(t, on.Negotiated)
	for _, r := range rs {
		assert.Positive(t, r.Msgs, r.Deflate)
		assert.Positive(t, r.ServerCPUUs, r.Deflate)
	}
	assert.Greater(t, off.DownBytes, 4096.0)
	assert.Greater(t, off.UpBytes, 4096.0)
	assert.Less(t, on.DownBytes, off.DownBytes/2)
	assert.Less(t, on.UpBytes, off.UpBytes/2)
	assert.Contains(t, text, "bytes/msg server→client")
}
