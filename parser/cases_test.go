package parser_test

import "strings"

// decodeCase is one input for both a Go decoder and, in the interop test,
// the npm decoder of the same codec.
type decodeCase struct {
	name   string
	codec  string // "msgpack" or "json"
	frames []frame
	// want is the tagged JSON (see tagMessages) of the messages the input
	// decodes to, or "" when it must be rejected.
	want string
	// nodeDiffers, when set, says why the npm decoder gives a different
	// outcome; the interop test checks that it really does.
	nodeDiffers string
}

const (
	ph0 = `{"_placeholder":true,"num":0}`
	ph1 = `{"_placeholder":true,"num":1}`
)

func msgpackCase(name, spec, want string) decodeCase {
	return decodeCase{name: name, codec: "msgpack", frames: []frame{binSpec(spec)}, want: want}
}

func jsonCase(name, want string, frames ...frame) decodeCase {
	return decodeCase{name: name, codec: "json", frames: frames, want: want}
}

func differs(c decodeCase, why string) decodeCase {
	c.nodeDiffers = why
	return c
}

var decodeCases = func() []decodeCase {
	deep := strings.Repeat("91 ", 10001)
	cs := []decodeCase{
		// protocol.md §3.4, as captured from the real encoders.
		msgpackCase("client CONNECT without auth", `83 'type' 00 'data' d4 00 00 'nsp' '/'`,
			`[{"type":0,"nsp":"/"}]`),
		msgpackCase("client CONNECT with auth", `83 'type' 00 'data' 81 'token' '123' 'nsp' '/'`,
			`[{"type":0,"nsp":"/","data":{"token":"123"}}]`),
		msgpackCase("server CONNECT reply", `83 'type' 00 'data' 82 'sid' 'dTQXwKatdF2Z1CB4AAAD' 'pid' d4 00 00 'nsp' '/'`,
			`[{"type":0,"nsp":"/","data":{"sid":"dTQXwKatdF2Z1CB4AAAD","pid":null}}]`),
		msgpackCase("server EVENT", `83 a4 74 79 70 65 02 a4 64 61 74 61 92 a2 68 69 01 a3 6e 73 70 a1 2f`,
			`[{"type":2,"nsp":"/","data":["hi",1]}]`),
		msgpackCase("client EVENT with options", `84 'type' 02 'data' 92 'hi' 01 'options' 81 'compress' c3 'nsp' '/'`,
			`[{"type":2,"nsp":"/","data":["hi",1]}]`),
		msgpackCase("client EVENT with ack and binary", `85 'type' 02 'data' 93 'message-with-ack' 'hi' c4 02 01 02 'options' 81 'compress' c3 'id' 00 'nsp' '/'`,
			`[{"type":2,"nsp":"/","id":0,"data":["message-with-ack","hi",{"$bin":"0102"}]}]`),
		msgpackCase("server ACK", `84 'id' 00 'type' 03 'data' 92 'hi' c4 02 01 02 'nsp' '/'`,
			`[{"type":3,"nsp":"/","id":0,"data":["hi",{"$bin":"0102"}]}]`),
		msgpackCase("CONNECT_ERROR from middleware", `83 'type' 04 'data' 82 'message' 'not authorized' 'data' 81 'reason' 'demo' 'nsp' '/admin'`,
			`[{"type":4,"nsp":"/admin","data":{"message":"not authorized","data":{"reason":"demo"}}}]`),
		msgpackCase("DISCONNECT", `82 a4 74 79 70 65 01 a3 6e 73 70 a1 2f`,
			`[{"type":1,"nsp":"/"}]`),

		// Accepted variations.
		msgpackCase("keys in any order", `83 'nsp' '/chat' 'data' 91 'x' 'type' 02`,
			`[{"type":2,"nsp":"/chat","data":["x"]}]`),
		msgpackCase("int64 type and uint64 id", `84 'type' d3 00 00 00 00 00 00 00 02 'data' 91 'x' 'id' cf 00 00 00 00 00 00 00 05 'nsp' '/'`,
			`[{"type":2,"nsp":"/","id":5,"data":["x"]}]`),
		msgpackCase("integral float type and id", `84 'type' cb 40 00 00 00 00 00 00 00 'data' 91 'x' 'id' ca 40 40 00 00 'nsp' '/'`,
			`[{"type":2,"nsp":"/","id":3,"data":["x"]}]`),
		msgpackCase("undefined id is absent", `84 'type' 02 'data' 91 'x' 'id' d4 00 00 'nsp' '/'`,
			`[{"type":2,"nsp":"/","data":["x"]}]`),
		msgpackCase("binary as ext type 0", `83 'type' 02 'data' 94 'typed' c7 03 00 01 02 03 c8 00 02 00 09 08 c9 00 00 00 01 00 05 'nsp' '/'`,
			`[{"type":2,"nsp":"/","data":["typed",{"$bin":"010203"},{"$bin":"0908"},{"$bin":"05"}]}]`),
		msgpackCase("Date and another ext type", `83 'type' 02 'data' 93 'ext' d7 00 00 00 01 8b cf e5 68 7b d5 05 aa bb 'nsp' '/'`,
			`[{"type":2,"nsp":"/","data":["ext",{"$date":1700000000123},[5,{"$bin":"aabb"}]]}]`),
		msgpackCase("integer event name", `83 'type' 02 'data' 92 2a 'x' 'nsp' '/'`,
			`[{"type":2,"nsp":"/","data":["42","x"]}]`),
		msgpackCase("float event name", `83 'type' 02 'data' 91 cb 3f f8 00 00 00 00 00 00 'nsp' '/'`,
			`[{"type":2,"nsp":"/","data":["1.5"]}]`),
		msgpackCase("ACK without id, no arguments", `83 'type' 03 'data' 90 'nsp' '/'`,
			`[{"type":3,"nsp":"/","data":[]}]`),
		msgpackCase("CONNECT_ERROR with a string", `83 'type' 04 'data' 'nope' 'nsp' '/'`,
			`[{"type":4,"nsp":"/","data":"nope"}]`),
		msgpackCase("duplicate key: last wins", `84 'type' 05 'type' 02 'data' 91 'x' 'nsp' '/'`,
			`[{"type":2,"nsp":"/","data":["x"]}]`),
		msgpackCase("scalar map keys become strings", `83 'type' 02 'data' 92 'k' 84 01 'a' c3 'b' c0 'c' cb 3f f8 00 00 00 00 00 00 'd' 'nsp' '/'`,
			`[{"type":2,"nsp":"/","data":["k",{"1":"a","true":"b","null":"c","1.5":"d"}]}]`),
		msgpackCase("reserved name passes the msgpack parser", `83 'type' 02 'data' 91 'disconnect' 'nsp' '/'`,
			`[{"type":2,"nsp":"/","data":["disconnect"]}]`),
		msgpackCase("namespace without a slash", `83 'type' 02 'data' 91 'x' 'nsp' 'admin'`,
			`[{"type":2,"nsp":"admin","data":["x"]}]`),
		msgpackCase("16 and 32 bit headers", `de 00 03 'type' 02 'data' dd 00 00 00 01 'x' 'nsp' da 00 01 2f`,
			`[{"type":2,"nsp":"/","data":["x"]}]`),
		msgpackCase("float32 argument", `83 'type' 02 'data' 92 'f' ca 3f c0 00 00 'nsp' '/'`,
			`[{"type":2,"nsp":"/","data":["f",1.5]}]`),
		msgpackCase("CONNECT with an empty map16", `83 'type' 00 'data' de 00 00 'nsp' '/'`,
			`[{"type":0,"nsp":"/","data":{}}]`),
		msgpackCase("str8 event name", `83 'type' 02 'data' 91 'a-rather-long-event-name-of-40-chars-xyz' 'nsp' '/'`,
			`[{"type":2,"nsp":"/","data":["a-rather-long-event-name-of-40-chars-xyz"]}]`),
		msgpackCase("undefined inside the data", `83 'type' 02 'data' 92 'u' d4 00 00 'nsp' '/'`,
			`[{"type":2,"nsp":"/","data":["u",null]}]`),
		msgpackCase("largest uint64 argument", `83 'type' 02 'data' 92 'n' cf ff ff ff ff ff ff ff ff 'nsp' '/'`,
			`[{"type":2,"nsp":"/","data":["n",18446744073709551615]}]`),

		// Rejected, by both decoders unless noted.
		{name: "text message", codec: "msgpack", frames: []frame{text("0")}},
		msgpackCase("empty message", ``, ""),
		msgpackCase("not a map", `92 02 '/'`, ""),
		msgpackCase("type 5", `83 'type' 05 'data' 91 'x' 'nsp' '/'`, ""),
		msgpackCase("type 6", `83 'type' 06 'data' 91 'x' 'nsp' '/'`, ""),
		msgpackCase("type -1", `82 'type' ff 'nsp' '/'`, ""),
		msgpackCase("type as a string", `82 'type' '1' 'nsp' '/'`, ""),
		msgpackCase("type true", `82 'type' c3 'nsp' '/'`, ""),
		msgpackCase("type nil", `82 'type' c0 'nsp' '/'`, ""),
		msgpackCase("type 2.5", `83 'type' cb 40 04 00 00 00 00 00 00 'data' 91 'x' 'nsp' '/'`, ""),
		msgpackCase("type missing", `81 'nsp' '/'`, ""),
		msgpackCase("type undefined", `82 'type' d4 00 00 'nsp' '/'`, ""),
		msgpackCase("nsp missing", `82 'type' 02 'data' 91 'x'`, ""),
		msgpackCase("nsp nil", `82 'type' 01 'nsp' c0`, ""),
		msgpackCase("nsp a number", `82 'type' 01 'nsp' 01`, ""),
		msgpackCase("nsp undefined", `82 'type' 01 'nsp' d4 00 00`, ""),
		msgpackCase("CONNECT data nil", `83 'type' 00 'data' c0 'nsp' '/'`, ""),
		msgpackCase("CONNECT data an array", `83 'type' 00 'data' 90 'nsp' '/'`, ""),
		msgpackCase("CONNECT data a string", `83 'type' 00 'data' 'x' 'nsp' '/'`, ""),
		msgpackCase("DISCONNECT data nil", `83 'type' 01 'data' c0 'nsp' '/'`, ""),
		msgpackCase("DISCONNECT data a map", `83 'type' 01 'data' 80 'nsp' '/'`, ""),
		msgpackCase("EVENT data a map", `83 'type' 02 'data' 80 'nsp' '/'`, ""),
		msgpackCase("EVENT data a string", `83 'type' 02 'data' 'x' 'nsp' '/'`, ""),
		msgpackCase("EVENT data missing", `82 'type' 02 'nsp' '/'`, ""),
		msgpackCase("EVENT data undefined", `83 'type' 02 'data' d4 00 00 'nsp' '/'`, ""),
		msgpackCase("ACK data nil", `84 'id' 01 'type' 03 'data' c0 'nsp' '/'`, ""),
		msgpackCase("CONNECT_ERROR data an array", `83 'type' 04 'data' 90 'nsp' '/'`, ""),
		msgpackCase("CONNECT_ERROR data missing", `82 'type' 04 'nsp' '/'`, ""),
		msgpackCase("CONNECT_ERROR data a number", `83 'type' 04 'data' 01 'nsp' '/'`, ""),
		msgpackCase("CONNECT_ERROR data nil", `83 'type' 04 'data' c0 'nsp' '/'`, ""),
		msgpackCase("id nil", `84 'type' 02 'data' 91 'x' 'id' c0 'nsp' '/'`, ""),
		msgpackCase("id a string", `84 'type' 02 'data' 91 'x' 'id' '1' 'nsp' '/'`, ""),
		msgpackCase("id 1.5", `84 'type' 02 'data' 91 'x' 'id' cb 3f f8 00 00 00 00 00 00 'nsp' '/'`, ""),
		msgpackCase("id a boolean", `84 'type' 02 'data' 91 'x' 'id' c2 'nsp' '/'`, ""),
		msgpackCase("trailing bytes", `82 'type' 01 'nsp' '/' c0`, ""),
		msgpackCase("truncated map", `83 'type' 01 'nsp' '/'`, ""),
		msgpackCase("truncated string", `82 'type' 01 'nsp' a5 2f`, ""),
		msgpackCase("truncated bin", `83 'type' 02 'data' 91 c4 05 01 'nsp' '/'`, ""),
		msgpackCase("unknown code c1", `82 'type' 01 'nsp' c1`, ""),
		msgpackCase("nesting deeper than 10000", `83 'type' 02 'data' 92 'x' `+deep+` 00 'nsp' '/'`, ""),
		differs(msgpackCase("negative id", `84 'type' 02 'data' 91 'x' 'id' ff 'nsp' '/'`, ""),
			"Number.isInteger(-1) holds in JavaScript; Go ack ids are unsigned"),
		differs(msgpackCase("EVENT data empty", `83 'type' 02 'data' 90 'nsp' '/'`, ""),
			"socket.io-msgpack-parser does not look inside the EVENT array"),
		differs(msgpackCase("EVENT name nil", `83 'type' 02 'data' 91 c0 'nsp' '/'`, ""),
			"socket.io-msgpack-parser does not check the event name"),
		differs(msgpackCase("EVENT name a map", `83 'type' 02 'data' 91 80 'nsp' '/'`, ""),
			"socket.io-msgpack-parser does not check the event name"),
		differs(msgpackCase("array as a map key", `84 91 01 02 'type' 02 'data' 91 'x' 'nsp' '/'`, ""),
			"JavaScript turns any key into a string; Go accepts scalar keys only"),

		// protocol.md §2.2, output of socket.io-parser's Encoder.
		jsonCase("CONNECT /", `[{"type":0,"nsp":"/"}]`, text("0")),
		jsonCase("CONNECT /admin with auth", `[{"type":0,"nsp":"/admin","data":{"token":"123"}}]`, text(`0/admin,{"token":"123"}`)),
		jsonCase("CONNECT reply", `[{"type":0,"nsp":"/","data":{"sid":"SID"}}]`, text(`0{"sid":"SID"}`)),
		jsonCase("CONNECT_ERROR", `[{"type":4,"nsp":"/","data":{"message":"not authorized","data":{"reason":"demo"}}}]`,
			text(`4{"message":"not authorized","data":{"reason":"demo"}}`)),
		jsonCase("EVENT", `[{"type":2,"nsp":"/","data":["hello",1,{"a":[true,null]}]}]`, text(`2["hello",1,{"a":[true,null]}]`)),
		jsonCase("EVENT /admin ack 12", `[{"type":2,"nsp":"/admin","id":12,"data":["hello"]}]`, text(`2/admin,12["hello"]`)),
		jsonCase("ACK /admin 12", `[{"type":3,"nsp":"/admin","id":12,"data":[]}]`, text(`3/admin,12[]`)),
		jsonCase("BINARY_EVENT", `[{"type":2,"nsp":"/","data":["bin",{"$bin":"0102"},{"x":{"$bin":"03"}}]}]`,
			text(`52-["bin",`+ph0+`,{"x":`+ph1+`}]`), bin(1, 2), bin(3)),
		jsonCase("BINARY_ACK id 7", `[{"type":3,"nsp":"/","id":7,"data":[{"$bin":"ff"}]}]`, text(`61-7[`+ph0+`]`), bin(0xff)),
		jsonCase("DISCONNECT /admin", `[{"type":1,"nsp":"/admin"}]`, text(`1/admin,`)),

		// Accepted variations.
		jsonCase("CONNECT namespace at the end", `[{"type":0,"nsp":"/custom"}]`, text(`0/custom`)),
		jsonCase("DISCONNECT namespace at the end", `[{"type":1,"nsp":"/custom"}]`, text(`1/custom`)),
		jsonCase("ack id 0", `[{"type":2,"nsp":"/","id":0,"data":["message-with-ack"]}]`, text(`20["message-with-ack"]`)),
		jsonCase("ACK id 0", `[{"type":3,"nsp":"/","id":0,"data":[]}]`, text(`30[]`)),
		jsonCase("CONNECT_ERROR with a string", `[{"type":4,"nsp":"/","data":"oops"}]`, text(`4"oops"`)),
		jsonCase("integer event name", `[{"type":2,"nsp":"/","data":["42","x"]}]`, text(`2[42,"x"]`)),
		jsonCase("float event name", `[{"type":2,"nsp":"/","data":["1.5"]}]`, text(`2[1.5]`)),
		jsonCase("exponent event name", `[{"type":2,"nsp":"/","data":["100"]}]`, text(`2[1e2]`)),
		jsonCase("negative zero event name", `[{"type":2,"nsp":"/","data":["0"]}]`, text(`2[-0]`)),
		jsonCase("placeholders out of order", `[{"type":2,"nsp":"/","data":["x",{"$bin":"02"},{"$bin":"01"}]}]`,
			text(`52-["x",`+ph1+`,`+ph0+`]`), bin(1), bin(2)),
		jsonCase("unused attachment", `[{"type":2,"nsp":"/","data":["x",{"$bin":"01"}]}]`,
			text(`52-["x",`+ph0+`]`), bin(1), bin(2)),
		jsonCase("placeholder keys reordered, extra key", `[{"type":2,"nsp":"/","data":["x",{"$bin":"07"}]}]`,
			text(`51-["x",{"num":0,"_placeholder":true,"extra":1}]`), bin(7)),
		jsonCase("placeholder false is an object", `[{"type":2,"nsp":"/","data":["x",{"_placeholder":false,"num":9},{"$bin":"01"}]}]`,
			text(`51-["x",{"_placeholder":false,"num":9},`+ph0+`]`), bin(1)),
		jsonCase("placeholder in a plain EVENT is an object", `[{"type":2,"nsp":"/","data":["x",{"_placeholder":true,"num":0}]}]`,
			text(`2["x",`+ph0+`]`)),
		jsonCase("placeholder num 0.0", `[{"type":2,"nsp":"/","data":["x",{"$bin":"05"}]}]`,
			text(`51-["x",{"_placeholder":true,"num":0.0}]`), bin(5)),
		jsonCase("inside of a placeholder is not examined", `[{"type":2,"nsp":"/","data":["x",{"$bin":"05"}]}]`,
			text(`51-["x",{"_placeholder":true,"num":0,"inner":{"_placeholder":true,"num":9}}]`), bin(5)),
		jsonCase("duplicate _placeholder: last wins", `[{"type":2,"nsp":"/","data":["x",{"_placeholder":false,"num":0}]}]`,
			text(`51-["x",{"_placeholder":true,"_placeholder":false,"num":0}]`), bin(5)),
		jsonCase("escaped placeholder key", `[{"type":2,"nsp":"/","data":["x",{"$bin":"06"}]}]`,
			text(`51-["x",{"\u005fplaceholder":true,"num":0}]`), bin(6)),
		jsonCase("whitespace inside the JSON", `[{"type":2,"nsp":"/","data":["a",1]}]`, text(`2[ "a" , 1 ]`)),
		jsonCase("escaped event name", `[{"type":2,"nsp":"/","data":["hi"]}]`, text(`2["\u0068i"]`)),
		jsonCase("BINARY_ACK with namespace", `[{"type":3,"nsp":"/admin","id":3,"data":[{"$bin":"0a0b"}]}]`,
			text(`61-/admin,3[`+ph0+`]`), bin(10, 11)),
		jsonCase("largest ack id", `[{"type":2,"nsp":"/a","id":18446744073709551615,"data":["x"]}]`,
			text(`2/a,18446744073709551615["x"]`)),
		jsonCase("unicode", `[{"type":2,"nsp":"/","data":["héllo €𝄞","\u2028"]}]`, text("2[\"héllo €𝄞\",\"\u2028\"]")),
		jsonCase("two packets in a row", `[{"type":2,"nsp":"/","data":["a"]},{"type":2,"nsp":"/","data":["b",{"$bin":"01"}]},{"type":3,"nsp":"/","id":1,"data":[]}]`,
			text(`2["a"]`), text(`51-["b",`+ph0+`]`), bin(1), text(`31[]`)),

		// Rejected, by both decoders unless noted.
		jsonCase("type 7", "", text(`7`)),
		jsonCase("type a letter", "", text(`a["x"]`)),
		jsonCase("type 9 with data", "", text(`9[]`)),
		jsonCase("EVENT data an object", "", text(`2{}`)),
		jsonCase("not JSON", "", text(`2abc["x"]`)),
		jsonCase("CONNECT data an array", "", text(`0[1]`)),
		jsonCase("CONNECT data a string", "", text(`0"x"`)),
		jsonCase("CONNECT data null", "", text(`0null`)),
		jsonCase("DISCONNECT with data", "", text(`1{}`)),
		jsonCase("DISCONNECT /admin with data", "", text(`1/admin,{}`)),
		jsonCase("EVENT data empty", "", text(`2[]`)),
		jsonCase("EVENT name null", "", text(`2[null]`)),
		jsonCase("EVENT name an object", "", text(`2[{}]`)),
		jsonCase("EVENT name a boolean", "", text(`2[true]`)),
		jsonCase("EVENT name an array", "", text(`2[["x"]]`)),
		jsonCase("reserved name connect", "", text(`2["connect"]`)),
		jsonCase("reserved name connect_error", "", text(`2["connect_error"]`)),
		jsonCase("reserved name disconnect", "", text(`2["disconnect",1]`)),
		jsonCase("reserved name disconnecting", "", text(`2/admin,["disconnecting"]`)),
		jsonCase("reserved name newListener", "", text(`21["newListener"]`)),
		jsonCase("reserved name removeListener", "", text(`2["removeListener"]`)),
		jsonCase("reserved name in BINARY_EVENT", "", text(`51-["disconnect",`+ph0+`]`)),
		jsonCase("ACK data an object", "", text(`3{}`)),
		jsonCase("ACK data a string", "", text(`31"x"`)),
		jsonCase("unterminated JSON", "", text(`2["a"`)),
		jsonCase("trailing garbage", "", text(`2["a"]x`)),
		jsonCase("attachment count without dash", "", text(`52["x"]`)),
		jsonCase("zero attachments", "", text(`50-["x"]`)),
		jsonCase("empty attachment count", "", text(`5-["x"]`)),
		jsonCase("11 attachments", "", text(`511-["x"]`)),
		jsonCase("placeholder num out of range", "", text(`51-["x",`+ph1+`]`), bin(1)),
		jsonCase("placeholder num negative", "", text(`51-["x",{"_placeholder":true,"num":-1}]`), bin(1)),
		jsonCase("placeholder num a string", "", text(`51-["x",{"_placeholder":true,"num":"0"}]`), bin(1)),
		jsonCase("placeholder num missing", "", text(`51-["x",{"_placeholder":true}]`), bin(1)),
		jsonCase("text while attachments are pending", "", text(`51-["x",`+ph0+`]`), text(`2["y"]`)),
		jsonCase("binary when none is expected", "", bin(1)),
		jsonCase("binary after a complete packet", "", text(`2["x"]`), bin(1)),
		jsonCase("nesting deeper than 10000", "", text(`2["x",`+strings.Repeat("[", 10001)+strings.Repeat("]", 10001)+`]`)),
		differs(jsonCase("empty message", "", text(``)),
			"socket.io-parser reads Number(\"\") as 0, an empty CONNECT"),
		differs(jsonCase("EVENT without data", "", text(`2`)),
			"socket.io-parser validates the payload only when one is present"),
		differs(jsonCase("ACK without data", "", text(`3/admin,4`)),
			"socket.io-parser validates the payload only when one is present"),
		differs(jsonCase("CONNECT_ERROR without data", "", text(`4`)),
			"socket.io-parser validates the payload only when one is present"),
		differs(jsonCase("BINARY_EVENT without data", "", text(`51-`), bin(1)),
			"socket.io-parser validates the payload only when one is present"),
		differs(jsonCase("placeholder num 0.5", "", text(`51-["x",{"_placeholder":true,"num":0.5}]`), bin(1)),
			"socket.io-parser only range-checks num, and buffers[0.5] is undefined"),
		differs(jsonCase("ack id beyond uint64", "", text(`2999999999999999999999["x"]`)),
			"JavaScript reads any run of digits as a number"),
		differs(jsonCase("space before the data", `[{"type":2,"nsp":"/","data":["a"]}]`, text(`2 ["a"]`)),
			"socket.io-parser reads the space as ack id 0 (Number(\" \") is 0)"),
	}
	return cs
}()
