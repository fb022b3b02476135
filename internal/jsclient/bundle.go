package jsclient

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"path"
)

// dist holds the copies of client-js/dist made by `npm run sync`. go:embed
// names each file, so a missing one fails the build.
//
//go:embed dist/ferry.min.js dist/ferry.min.js.map dist/ferry.min.js.gz
var dist embed.FS

// Names of the served files, matched against the base name of the request
// path.
const (
	bundleName    = "ferry.min.js"
	sourceMapName = "ferry.min.js.map"
)

// representation is one encoding of a served file with its strong ETag.
type representation struct {
	body []byte
	etag string
}

// asset is a served file: its plain bytes and, when one was embedded, its
// gzip-compressed variant. Assets are read-only once built.
type asset struct {
	contentType  string
	cacheControl string
	plain        representation
	gzip         *representation // nil: no compressed variant
}

// hashedBundleName returns the bundle's content-addressed name,
// ferry.<16 hex digits of its SHA-256>.min.js.
func hashedBundleName(bundle []byte) string {
	sum := sha256.Sum256(bundle)
	return "ferry." + hex.EncodeToString(sum[:8]) + ".min.js"
}

func newRepresentation(name string) representation {
	body, err := dist.ReadFile(path.Join("dist", name))
	if err != nil {
		// Unreachable: go:embed lists every file, so the build fails
		// when one is missing.
		panic("jsclient: embedded file missing: " + err.Error())
	}
	sum := sha256.Sum256(body)
	return representation{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

func ptr[T any](v T) *T { return &v }
