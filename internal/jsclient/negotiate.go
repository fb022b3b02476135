package jsclient

import (
	"strconv"
	"strings"
)

// acceptsGzip reports whether the Accept-Encoding field values allow a gzip
// response (RFC 9110 §12.5.3): "gzip" or "x-gzip" with a non-zero q, or "*"
// with a non-zero q when gzip is not listed itself. A q value that does not
// parse counts as zero.
func acceptsGzip(values []string) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, value := range values {
		for element := range strings.SplitSeq(value, ",") {
			coding, params, _ := strings.Cut(element, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding == "" {
				continue
			}
			q := qValue(params)
			switch coding {
			case "gzip", "x-gzip":
				gzipQ = max(gzipQ, q)
			case "*":
				starQ = max(starQ, q)
			}
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}

// qValue returns the weight in the parameters following a coding
// (";q=0.5"): 1 when absent, 0 when malformed.
func qValue(params string) float64 {
	for param := range strings.SplitSeq(params, ";") {
		name, value, ok := strings.Cut(param, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}

// noneMatch reports whether the If-None-Match field values match etag, so
// that the response is 304 (RFC 9110 §13.1.2): "*", or an entity tag equal
// to etag by weak comparison (a W/ prefix is ignored).
func noneMatch(values []string, etag string) bool {
	for _, value := range values {
		rest := value
		for {
			rest = strings.TrimLeft(rest, " \t,")
			if rest == "" {
				break
			}
			if rest[0] == '*' {
				return true
			}
			rest = strings.TrimPrefix(rest, "W/")
			if rest == "" || rest[0] != '"' {
				break // malformed: ignore the rest of this field value
			}
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				break
			}
			if rest[:end+2] == etag {
				return true
			}
			rest = rest[end+2:]
		}
	}
	return false
}
