package chatserver

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCleanNick(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "alice", want: "alice"},
		{in: "  bob\t", want: "bob"},
		{in: "Zoë 🦀", want: "Zoë 🦀"},
		{in: strings.Repeat("é", maxNick), want: strings.Repeat("é", maxNick)},
		{in: strings.Repeat("é", maxNick+1), err: "nickname is too long: 25 characters, at most 24"},
		{in: "", err: "nickname is empty"},
		{in: " \n ", err: "nickname is empty"},
		{in: "a\nb", err: "nickname holds a control character"},
		{in: "a\x00b", err: "nickname holds a control character"},
		{in: "bad\xffutf8", err: "nickname is not valid UTF-8"},
	} {
		got, err := cleanNick(tc.in)
		if tc.err != "" {
			assert.EqualError(t, err, tc.err, "cleanNick(%q)", tc.in)
			continue
		}
		require.NoError(t, err, "cleanNick(%q)", tc.in)
		assert.Equal(t, tc.want, got, "cleanNick(%q)", tc.in)
	}
}

func TestCleanRoom(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "general", want: "general"},
		{in: " #General ", want: "general"},
		{in: "Team   Blue", want: "team-blue"},
		{in: "café_2", want: "café_2"},
		{in: strings.Repeat("r", maxRoom), want: strings.Repeat("r", maxRoom)},
		{in: strings.Repeat("r", maxRoom+1), err: "room name is too long: 33 characters, at most 32"},
		{in: "#", err: "room name is empty"},
		{in: "", err: "room name is empty"},
		{in: "a/b", err: `room name may hold only letters, digits, '-' and '_', not '/'`},
		{in: "<script>", err: `room name may hold only letters, digits, '-' and '_', not '<'`},
		{in: "x\x7fy", err: "room name holds a control character"},
	} {
		got, err := cleanRoom(tc.in)
		if tc.err != "" {
			assert.EqualError(t, err, tc.err, "cleanRoom(%q)", tc.in)
			continue
		}
		require.NoError(t, err, "cleanRoom(%q)", tc.in)
		assert.Equal(t, tc.want, got, "cleanRoom(%q)", tc.in)
	}
}

func TestCleanText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "  hello  ", want: "hello"},
		{in: "two\nlines\tand a tab", want: "two\nlines\tand a tab"},
		{in: strings.Repeat("é", maxText), want: strings.Repeat("é", maxText)},
		{in: strings.Repeat("é", maxText+1), err: "message is too long: 501 characters, at most 500"},
		{in: "\n\t ", err: "message is empty"},
		{in: "beep\a", err: "message holds a control character"},
		{in: "\xc3", err: "message is not valid UTF-8"},
	} {
		got, err := cleanText(tc.in)
		if tc.err != "" {
			assert.EqualError(t, err, tc.err, "cleanText(%q)", tc.in)
			continue
		}
		require.NoError(t, err, "cleanText(%q)", tc.in)
		assert.Equal(t, tc.want, got, "cleanText(%q)", tc.in)
	}
}
