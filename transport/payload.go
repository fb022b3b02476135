package transport

// RecordSeparator joins packets in a long-polling payload.
const RecordSeparator = 0x1e

// PayloadLen returns the number of bytes AppendPayload writes for pkts.
func PayloadLen(pkts []Packet) int {
	n := 0
	for i, p := range pkts {
		if i > 0 {
			n++
		}
		n += EncodedLen(p)
	}
	return n
}

// AppendPayload appends the long-polling payload form of pkts to dst: each
// packet's text form, separated by RecordSeparator. Binary messages are
// written as base64 records, since v4 polling bodies are text.
func AppendPayload(dst []byte, pkts []Packet) []byte {
	for i, p := range pkts {
		if i > 0 {
			dst = append(dst, RecordSeparator)
		}
		dst = AppendPacket(dst, p)
	}
	return dst
}

// EncodePayload returns the long-polling payload form of pkts.
func EncodePayload(pkts []Packet) []byte {
	return AppendPayload(make([]byte, 0, PayloadLen(pkts)), pkts)
}

// DecodePayload parses a long-polling body. It returns every packet before
// the first bad record along with the error, so that, as in the reference
// server, packets ahead of a malformed one are still delivered. An empty body
// and an empty record (such as a trailing separator) are errors. The error is
// a *DecodeError whose Offset is the byte offset of the bad record.
func DecodePayload(body []byte) ([]Packet, error) {
	var pkts []Packet
	start := 0
	for {
		end := start
		for end < len(body) && body[end] != RecordSeparator {
			end++
		}
		p, err := DecodePacket(body[start:end])
		if err != nil {
			de := err.(*DecodeError)
			de.Offset = start
			return pkts, de
		}
		pkts = append(pkts, p)
		if end == len(body) {
			return pkts, nil
		}
		start = end + 1
	}
}
