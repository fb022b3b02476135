package transport

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"
)

// The seed corpora live in testdata/fuzz/FuzzDecodePacket and
// testdata/fuzz/FuzzDecodePayload: the wire examples of protocol.md §1 and
// malformed inputs.

// FuzzDecodePacket checks that DecodePacket never panics, that every error is
// a *DecodeError at offset 0, and that a decoded packet re-encodes to a form
// that decodes to the same packet (for text packets, to the same bytes).
func FuzzDecodePacket(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		text := bytes.Clone(in) // Data may alias its input; keep the fuzzer's buffer out of it
		p, err := DecodePacket(text)
		if err != nil {
			checkDecodeError(t, err, 0)
			return
		}
		checkValidPacket(t, p)
		enc := EncodePacket(p)
		if len(enc) != EncodedLen(p) {
			t.Fatalf("EncodedLen = %d, encoded %d bytes", EncodedLen(p), len(enc))
		}
		if !p.Binary && !bytes.Equal(enc, in) {
			t.Fatalf("text packet re-encoded as %q, input %q", enc, in)
		}
		again, err := DecodePacket(enc)
		if err != nil {
			t.Fatalf("re-encoded packet %q does not decode: %v", enc, err)
		}
		checkSamePacket(t, p, again)

		// The same bytes as a text WebSocket frame decode identically, and as
		// a binary frame they are one binary message holding them.
		frame, err := DecodeFrame(bytes.Clone(in), false)
		if err != nil {
			t.Fatalf("DecodeFrame(text) failed where DecodePacket succeeded: %v", err)
		}
		checkSamePacket(t, p, frame)
		raw, err := DecodeFrame(bytes.Clone(in), true)
		if err != nil || !raw.Binary || raw.Type != Message || !bytes.Equal(raw.Data, in) {
			t.Fatalf("DecodeFrame(binary) = %v, %v", raw, err)
		}
	})
}

// FuzzDecodePayload checks that DecodePayload never panics; that on error it
// returns exactly the packets of the records before the bad one, with the bad
// record's offset; and that a decoded payload re-encodes to one that decodes
// to the same packets.
func FuzzDecodePayload(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		body := bytes.Clone(in)
		pkts, err := DecodePayload(body)
		records := bytes.Split(in, []byte{RecordSeparator})
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			checkDecodeError(t, err, de.Offset)
			if de.Offset < 0 || de.Offset > len(in) || (de.Offset > 0 && in[de.Offset-1] != RecordSeparator) {
				t.Fatalf("offset %d is not the start of a record in %q", de.Offset, in)
			}
			if n := bytes.Count(in[:de.Offset], []byte{RecordSeparator}); len(pkts) != n {
				t.Fatalf("got %d packets before the bad record at %d, want %d", len(pkts), de.Offset, n)
			}
			bad := records[len(pkts)]
			if _, err := DecodePacket(bytes.Clone(bad)); err == nil {
				t.Fatalf("record %q at offset %d decodes on its own", bad, de.Offset)
			}
		} else if len(pkts) != len(records) {
			t.Fatalf("got %d packets from %d records", len(pkts), len(records))
		}
		for i, p := range pkts {
			checkValidPacket(t, p)
			if !p.Binary && bytes.IndexByte(p.Data, RecordSeparator) >= 0 {
				t.Fatalf("packet %d data holds a record separator", i)
			}
			alone, err := DecodePacket(bytes.Clone(records[i]))
			if err != nil {
				t.Fatalf("record %d %q fails alone: %v", i, records[i], err)
			}
			checkSamePacket(t, alone, p)
		}
		if err != nil {
			return
		}

		// Text data aliases body. Keep a deep copy, then wipe body before
		// decoding the re-encoding: it must not depend on the first buffer.
		want := make([]Packet, len(pkts))
		for i, p := range pkts {
			want[i] = Packet{Type: p.Type, Data: bytes.Clone(p.Data), Binary: p.Binary}
		}
		enc := EncodePayload(pkts)
		if len(enc) != PayloadLen(pkts) {
			t.Fatalf("PayloadLen = %d, encoded %d bytes", PayloadLen(pkts), len(enc))
		}
		clear(body)
		again, err := DecodePayload(enc)
		if err != nil {
			t.Fatalf("re-encoded payload %q does not decode: %v", enc, err)
		}
		if len(again) != len(want) {
			t.Fatalf("re-encoded payload has %d packets, want %d", len(again), len(want))
		}
		for i := range want {
			checkSamePacket(t, want[i], again[i])
		}
	})
}

func checkDecodeError(t *testing.T, err error, offset int) {
	t.Helper()
	if !errors.Is(err, ErrInvalidPacket) {
		t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v is not a *DecodeError", err)
	}
	if de.Offset != offset || de.Reason == "" {
		t.Fatalf("DecodeError{Offset: %d, Reason: %q}, want offset %d and a reason", de.Offset, de.Reason, offset)
	}
}

func checkValidPacket(t *testing.T, p Packet) {
	t.Helper()
	if p.Type > Noop {
		t.Fatalf("decoded type %d", p.Type)
	}
	if p.Binary && p.Type != Message {
		t.Fatalf("binary %v packet", p.Type)
	}
	if !p.Binary && !utf8.Valid(p.Data) {
		t.Fatalf("text packet with invalid UTF-8 %q", p.Data)
	}
	if p.Data == nil {
		t.Fatalf("decoded Data is nil, want empty")
	}
}

func checkSamePacket(t *testing.T, want, got Packet) {
	t.Helper()
	if want.Type != got.Type || want.Binary != got.Binary || !bytes.Equal(want.Data, got.Data) {
		t.Fatalf("packets differ: %v %q, %v %q", want, want.Data, got, got.Data)
	}
}
