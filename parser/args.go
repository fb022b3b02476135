package parser

import (
	"errors"
	"fmt"
)

// ErrArgCount is returned (wrapped) by Args.Decode when there are fewer
// arguments than targets.
var ErrArgCount = errors.New("parser: too few arguments")

// Args are the arguments of a received event (after its name) or of an
// acknowledgement, still encoded: decode them into your own types with
// Decode, or one at a time with Raw.Decode. Ferry's server and its Go client
// both hand arguments over as Args.
type Args []Raw

// Decode decodes the arguments in order into the pointers in targets, each
// as Raw.Decode does. A nil target skips its argument, and arguments beyond
// the targets are ignored. With fewer arguments than targets it decodes
// nothing and returns an error wrapping ErrArgCount.
func (a Args) Decode(targets ...any) error {
	if len(targets) > len(a) {
		return fmt.Errorf("%w: have %d, want %d", ErrArgCount, len(a), len(targets))
	}
	for i, t := range targets {
		if t == nil {
			continue
		}
		if err := a[i].Decode(t); err != nil {
			return fmt.Errorf("parser: argument %d: %w", i, err)
		}
	}
	return nil
}
