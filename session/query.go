package session

import (
	"net/url"
	"strings"
)

// queryValue returns the first value of key in rawQuery, as
// url.ParseQuery(rawQuery).Get(key) does (pairs with a semicolon or a bad
// escape are skipped), without building the map: a request names its
// transport, sid and protocol version this way, and parsing the whole
// query for each costs more than the lookup.
func queryValue(rawQuery, key string) string {
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, ok := queryUnescape(k)
		if !ok || k != key {
			continue
		}
		if v, ok = queryUnescape(v); ok {
			return v
		}
	}
	return ""
}

// queryUnescape decodes s as url.QueryUnescape does, and reports whether
// it could; s is returned as it is when it holds nothing to decode.
func queryUnescape(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}
