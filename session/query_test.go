package session

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestQueryValueAsParseQuery(t *testing.T) {
	// queryValue finds what url.ParseQuery(q).Get finds, for every key,
	// whatever the query holds: repeats, escapes, bad escapes, semicolons,
	// pairs without a value or without a key.
	queries := []string{
		"",
		"EIO=4&transport=polling",
		"EIO=4&transport=polling&sid=abc_DEF-123",
		"transport=websocket&transport=polling",
		"transport=web%73ocket&EIO=%34",
		"trans%70ort=polling",
		"transport=%zz&transport=polling",
		"%zz=1&sid=x",
		"sid=a;b&sid=c",
		"a=1;b=2&EIO=4",
		"&&EIO=4&",
		"EIO&sid=&transport",
		"=4&EIO=5",
		"sid=a+b&t=1%2B2",
		"EIO=4&EIO=3",
	}
	keys := []string{"EIO", "transport", "sid", "t", "a", "", "missing"}
	for _, q := range queries {
		want, _ := url.ParseQuery(q)
		for _, k := range keys {
			assert.Equal(t, want.Get(k), queryValue(q, k), "query %q, key %q", q, k)
		}
	}
}
