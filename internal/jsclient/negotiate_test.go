package jsclient

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZIP"}, true},
		{[]string{"x-gzip"}, true},
		{[]string{"deflate, gzip;q=0.5"}, true},
		{[]string{"deflate", "gzip"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"gzip;q=abc"}, false},
		{[]string{"gzip;q=2"}, false},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"gzip;q=0, *;q=1"}, false},
		{[]string{"gzip;q=0.2, *;q=0"}, true},
		{[]string{"br, identity"}, false},
		{[]string{" , ,gzip"}, true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, acceptsGzip(tt.values), "%q", tt.values)
	}
}

func TestNoneMatch(t *testing.T) {
	t.Parallel()
	const etag = `"abc"`
	tests := []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{`"abc"`}, true},
		{[]string{`W/"abc"`}, true},
		{[]string{`"x", "abc"`}, true},
		{[]string{`"x"`, `"abc"`}, true},
		{[]string{`"x,abc", "y"`}, false},
		{[]string{`*`}, true},
		{[]string{`"abcd"`}, false},
		{[]string{`abc`}, false},
		{[]string{`"abc`}, false},
		{[]string{`W/`}, false},
		{[]string{`"x", junk, "abc"`}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, noneMatch(tt.values, etag), "%q", tt.values)
	}
}
