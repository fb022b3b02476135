package jsclient

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientJSDir is client-js/ relative to this package's folder, where go test
// runs.
const clientJSDir = "../../client-js"

// requireClientDeps fails t unless node, npm and client-js/node_modules are
// installed.
func requireClientDeps(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run make deps (%v)", tool, err)
		}
	}
	for _, pkg := range []string{"esbuild", "typescript", "socket.io-client", "socket.io-msgpack-parser"} {
		if _, err := os.Stat(filepath.Join(clientJSDir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("client-js/node_modules/%s is missing: run make deps (%v)", pkg, err)
		}
	}
}

// TestBundleUpToDate rebuilds the browser bundle from client-js/ into a
// temporary folder and fails when the copies embedded from dist/ differ.
// The build is deterministic (client-js/test/build.test.ts checks that), so
// a difference means client-js changed without `npm run sync`.
func TestBundleUpToDate(t *testing.T) {
	t.Parallel()
	requireClientDeps(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "run", "--silent", "build")
	cmd.Dir = clientJSDir
	cmd.Env = append(os.Environ(), "FERRY_JS_OUTDIR="+out)
	output, err := cmd.CombinedOutput()
	require.NoError(t, err, "npm run build in client-js failed:\n%s", output)

	for _, name := range []string{bundleName, sourceMapName} {
		fresh, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err)
		committed, err := dist.ReadFile("dist/" + name)
		require.NoError(t, err)
		if !bytes.Equal(fresh, committed) {
			t.Errorf("internal/jsclient/dist/%s is stale (%d bytes, fresh build %d): run `npm run sync` in client-js and commit the result", name, len(committed), len(fresh))
		}
	}
}

// TestBundleGzipMatchesPlain checks that the embedded ferry.min.js.gz
// decompresses to the embedded ferry.min.js.
func TestBundleGzipMatchesPlain(t *testing.T) {
	t.Parallel()
	plain, err := dist.ReadFile("dist/" + bundleName)
	require.NoError(t, err)
	compressed, err := dist.ReadFile("dist/" + bundleName + ".gz")
	require.NoError(t, err)
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	require.NoError(t, err)
	unzipped, err := io.ReadAll(zr)
	require.NoError(t, err)
	if !bytes.Equal(plain, unzipped) {
		t.Errorf("internal/jsclient/dist/%s.gz does not decompress to %s: run `npm run sync` in client-js and commit the result", bundleName, bundleName)
	}
	assert.Less(t, len(compressed), len(plain)/2, "gzip should at least halve a minified bundle")
}
