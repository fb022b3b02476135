package chatserver

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what clients send, in characters (runes) after trimming.
const (
	maxNick = 24
	maxRoom = 32
	maxText = 500
)

// errNotJoined answers a message or typing event from a socket that has not
// joined a room yet.
var errNotJoined = errors.New("join a room first")

// cleanNick trims a nickname and checks it: 1 to maxNick printable
// characters.
func cleanNick(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText("nickname", s, maxNick, false); err != nil {
		return "", err
	}
	return s, nil
}

// cleanRoom normalises a room name: trimmed, without a leading '#',
// lower-case, inner spaces turned into '-'. What remains must be 1 to
// maxRoom letters, digits, '-' or '_'.
func cleanRoom(s string) (string, error) {
	s = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "#"))
	s = strings.Join(strings.Fields(s), "-")
	if err := checkText("room name", s, maxRoom, false); err != nil {
		return "", err
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' {
			return "", fmt.Errorf("room name may hold only letters, digits, '-' and '_', not %q", r)
		}
	}
	return s, nil
}

// cleanText trims a message and checks it: 1 to maxText characters, line
// breaks and tabs allowed.
func cleanText(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText("message", s, maxText, true); err != nil {
		return "", err
	}
	return s, nil
}

// checkText checks that s is valid UTF-8, non-empty, at most max
// characters, and free of control characters (but for '\n' and '\t' when
// multiline).
func checkText(what, s string, max int, multiline bool) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return fmt.Errorf("%s is empty", what)
	}
	if n > max {
		return fmt.Errorf("%s is too long: %d characters, at most %d", what, n, max)
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			return fmt.Errorf("%s holds a control character", what)
		}
	}
	return nil
}
