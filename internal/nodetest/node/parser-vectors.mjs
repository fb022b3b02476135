// Reference vectors for Ferry's parser package, produced and checked by the
// official npm codecs: socket.io-msgpack-parser (notepack.io) and
// socket.io-parser.
//
//   node parser-vectors.mjs encode
//       Builds packets the way Node's socket.io server (and, for the
//       "client-" ones, socket.io-client) builds them, encodes each with
//       both parsers, decodes the result again, and prints
//       [{name, msgpack: {frames, decoded}, json: {frames, decoded}}].
//
//   node parser-vectors.mjs decode <file>
//       Reads [{name, codec: "msgpack"|"json", frames: [{hex, binary}]}]
//       from <file>, feeds each case's frames to a fresh npm Decoder and
//       prints [{name, ok, error, packets}].
//
//   node parser-vectors.mjs values
//       Encodes single values, outside any packet, as a cluster adapter
//       does: with notepack.io (the encoder of socket.io-msgpack-parser)
//       and with JSON.stringify, and prints [{name, msgpack, json, decoded}]:
//       msgpack in hex, JSON as text, and notepack.io's decoding of its own
//       bytes in the tagged form.
//
// A frame is {hex, binary}: binary frames are Buffers, text frames are the
// UTF-8 string of the bytes. Decoded packets are printed in a tagged form
// that JSON can carry: {type, nsp, id?, data?} where binary values become
// {"$bin": hex}, Dates {"$date": ms}, non-finite numbers {"$number": "NaN"},
// undefined inside a value null, and an event's name String(name).

import { readFileSync } from "node:fs";
import notepack from "notepack.io";
import msgpackParser from "socket.io-msgpack-parser";
import * as jsonParser from "socket.io-parser";

const bin = (...bytes) => Buffer.from(bytes);

// Each builder returns a fresh packet object, built with the same
// statements (and so the same key order) as the code named in its comment.
const vectors = {
  // socket.js _onconnect without connectionStateRecovery: pid is undefined.
  "server-connect-reply": () => {
    const p = { type: 0, data: { sid: "cKH1pN3s2dxVc0aTAAAB", pid: undefined } };
    p.nsp = "/";
    return p;
  },
  // socket.js _onconnect with connectionStateRecovery.
  "server-connect-reply-recovery": () => {
    const p = { type: 0, data: { sid: "YxeEzAB8X3pD1pFZAAAB", pid: "YdAUGd2y0j0o0gYdAAAC" } };
    p.nsp = "/admin";
    return p;
  },
  // socket.js emit("hello", 1, {a: [true, null]}).
  "server-event": () => {
    const p = { type: 2, data: ["hello", 1, { a: [true, null] }] };
    p.nsp = "/";
    return p;
  },
  // socket.js emit("hello", ack) on /admin, ack id 12.
  "server-event-ack": () => {
    const p = { type: 2, data: ["hello"] };
    p.id = 12;
    p.nsp = "/admin";
    return p;
  },
  // socket.js emit with ack id 0, the first id a namespace hands out.
  "server-event-ack-zero": () => {
    const p = { type: 2, data: ["message-with-ack", "x"] };
    p.id = 0;
    p.nsp = "/";
    return p;
  },
  "server-event-binary": () => {
    const p = { type: 2, data: ["bin", bin(1, 2), { x: bin(3) }] };
    p.nsp = "/";
    return p;
  },
  "server-event-numbers": () => {
    const p = {
      type: 2,
      data: ["nums", 0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53,
        -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1,
        1.5, -2.5e-7, 0.1, 123456.789, 5e-324, -0],
    };
    p.nsp = "/";
    return p;
  },
  // Integers beyond 2 ** 53, which JSON.stringify writes rounded.
  "server-event-big-integers": () => {
    const p = { type: 2, data: ["big", 2 ** 60, -(2 ** 60), 2 ** 63] };
    p.nsp = "/";
    return p;
  },
  "server-event-strings": () => {
    const p = {
      type: 2,
      data: ["strings", "", "héllo €𝄞", "x".repeat(31), "y".repeat(32), "z".repeat(255), "w".repeat(256),
        "v".repeat(65536), "quote\" back\\ nl\n cr\r tab\t bs\b ff\f ctrl\u0001\u001f del\u007f ls\u2028 <>&/"],
    };
    p.nsp = "/";
    return p;
  },
  "server-event-containers": () => {
    const big = {};
    for (let i = 0; i < 17; i++) big["k" + String(i).padStart(2, "0")] = i;
    const p = {
      type: 2,
      data: ["containers", null, true, false, [], {}, Array.from({ length: 16 }, (_, i) => i), big,
        [[[["deep"]]]], { nested: { list: [1, { two: 2 }] } }],
    };
    p.nsp = "/";
    return p;
  },
  "server-event-large-binary": () => {
    const p = { type: 2, data: ["blob", Buffer.alloc(300, 7), Buffer.alloc(0), Buffer.alloc(70000, 1)] };
    p.nsp = "/";
    return p;
  },
  "server-event-date": () => {
    const p = { type: 2, data: ["when", new Date(1700000000123), new Date(-1234)] };
    p.nsp = "/";
    return p;
  },
  // Dates as JSON.stringify writes them: in UTC with milliseconds, years
  // outside 0000-9999 with a sign and six digits, at the ends of
  // JavaScript's range too; inside objects and arrays.
  "server-event-date-forms": () => {
    const p = {
      type: 2,
      data: ["dates", new Date(1796623200123), new Date(1700000000000), new Date(-1),
        { at: new Date(-62135596800000), when: null }, { t: new Date(-62167219200000) },
        [new Date(8.64e15), new Date(-8.64e15), new Date(253402300800000), new Date(-62198755200000)]],
    };
    p.nsp = "/";
    return p;
  },
  "server-event-numeric-name": () => {
    const p = { type: 2, data: [42, "x"] };
    p.nsp = "/";
    return p;
  },
  // An object built field by field, like a Go struct with json tags.
  "server-event-object": () => {
    const p = { type: 2, data: ["object", { name: "x", tags: ["a", "b"], bin: bin(9, 8), count: 3 }] };
    p.nsp = "/";
    return p;
  },
  // socket.js ack(): {id, type, data}, then nsp.
  "server-ack-binary": () => {
    const p = { id: 0, type: 3, data: ["hi", bin(1, 2)] };
    p.nsp = "/";
    return p;
  },
  "server-ack-empty": () => {
    const p = { id: 7, type: 3, data: [] };
    p.nsp = "/admin";
    return p;
  },
  // namespace.js middleware refusal: socket._error({message, data}).
  "server-connect-error": () => {
    const p = { type: 4, data: { message: "not authorized", data: { reason: "demo" } } };
    p.nsp = "/admin";
    return p;
  },
  // client.js refusal of an unknown namespace: nsp is set before data.
  "server-connect-error-namespace": () => ({ type: 4, nsp: "/nope", data: { message: "Invalid namespace" } }),
  // socket.js _onclose / disconnect(): {type}, then nsp.
  "server-disconnect": () => {
    const p = { type: 1 };
    p.nsp = "/admin";
    return p;
  },
  // socket.io-client _sendConnectPacket without auth.
  "client-connect": () => {
    const p = { type: 0, data: undefined };
    p.nsp = "/";
    return p;
  },
  "client-connect-auth": () => {
    const p = { type: 0, data: { token: "123" } };
    p.nsp = "/";
    return p;
  },
  // socket.io-client reconnecting with a pid: Object.assign({pid, offset}, auth).
  "client-connect-recovery": () => {
    const p = { type: 0, data: Object.assign({ pid: "YdAUGd2y0j0o0gYdAAAC", offset: "Q81A9m9.0" }, { token: "x" }) };
    p.nsp = "/";
    return p;
  },
  // socket.io-client emit: {type, data}, options, then id, then nsp.
  "client-event": () => {
    const p = { type: 2, data: ["hi", 1] };
    p.options = { compress: true };
    p.nsp = "/";
    return p;
  },
  "client-event-ack-binary": () => {
    const p = { type: 2, data: ["message-with-ack", "hi", bin(1, 2)] };
    p.options = { compress: true };
    p.id = 0;
    p.nsp = "/";
    return p;
  },
  // Node typed arrays travel as msgpack ext type 0.
  "client-event-typed-arrays": () => {
    const p = { type: 2, data: ["typed", new Uint8Array([1, 2, 3]), new Uint8Array([9, 8]).buffer, { u: new Uint8Array([5]) }] };
    p.options = { compress: true };
    p.nsp = "/";
    return p;
  },
  // socket.io-client ack: {type, id, data}, then nsp.
  "client-ack": () => {
    const p = { type: 3, id: 5, data: ["ok", { n: 1 }] };
    p.nsp = "/";
    return p;
  },
  "client-disconnect": () => {
    const p = { type: 1 };
    p.nsp = "/";
    return p;
  },
};

// Single values, as a cluster adapter publishes event arguments.
const values = {
  null: () => null,
  numbers: () => [0, 127, -1, -33, 65536, 1.5, 0.1, 2 ** 53, 2 ** 60, -(2 ** 31) - 1, 1e-7, 5e-324, -0],
  string: () => "héllo €𝄞 \"quoted\" back\\ nl\n ctrl\u0001 " + "y".repeat(40),
  buffer: () => Buffer.from([1, 2, 3]),
  "empty buffer": () => Buffer.alloc(0),
  date: () => new Date(1796623200123),
  "extended year": () => new Date(8.64e15),
  nested: () => ({ a: [true, null, { b: Buffer.from([9]) }], c: "x", when: new Date(0) }),
  object: () => ({ name: "x", tags: ["a", "b"], bin: Buffer.from([9, 8]), count: 3 }),
  "large containers": () => ({ list: Array.from({ length: 20 }, (_, i) => i * 1000), text: "z".repeat(300) }),
};

function encodeValues() {
  return Object.entries(values).map(([name, build]) => {
    const mp = notepack.encode(build());
    return { name, msgpack: mp.toString("hex"), json: JSON.stringify(build()), decoded: tag(notepack.decode(mp)) };
  });
}

function hexOf(frame) {
  if (typeof frame === "string") return { hex: Buffer.from(frame, "utf8").toString("hex"), binary: false };
  if (frame instanceof ArrayBuffer) return { hex: Buffer.from(frame).toString("hex"), binary: true };
  if (ArrayBuffer.isView(frame)) {
    return { hex: Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString("hex"), binary: true };
  }
  throw new Error("unexpected frame " + typeof frame);
}

function tag(v) {
  if (v === undefined || v === null) return null;
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("hex") };
  if (ArrayBuffer.isView(v)) return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  if (v instanceof Date) return { $date: v.getTime() };
  if (Array.isArray(v)) return v.map(tag);
  if (typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = tag(v[k]);
    return o;
  }
  if (typeof v === "number" && !Number.isFinite(v)) return { $number: String(v) };
  return v;
}

function tagPacket(p) {
  const out = { type: p.type, nsp: p.nsp };
  if (p.id !== undefined) out.id = p.id;
  if (p.data !== undefined) {
    out.data = tag(p.data);
    if ((p.type === 2 || p.type === 5) && Array.isArray(p.data) && p.data.length > 0) {
      out.data[0] = String(p.data[0]);
    }
  }
  return out;
}

function decodeFrames(codec, frames) {
  const decoder = codec === "msgpack" ? new msgpackParser.Decoder() : new jsonParser.Decoder();
  const packets = [];
  decoder.on("decoded", (p) => packets.push(tagPacket(p)));
  try {
    for (const f of frames) {
      const buf = Buffer.from(f.hex, "hex");
      decoder.add(f.binary ? buf : buf.toString("utf8"));
    }
  } catch (err) {
    return { ok: false, error: String(err && err.message), packets };
  }
  return { ok: true, packets };
}

function encodeAll() {
  const out = [];
  for (const [name, build] of Object.entries(vectors)) {
    const mp = new msgpackParser.Encoder().encode(build()).map(hexOf);
    const js = new jsonParser.Encoder().encode(build()).map(hexOf);
    out.push({
      name,
      msgpack: { frames: mp, decoded: decodeFrames("msgpack", mp) },
      json: { frames: js, decoded: decodeFrames("json", js) },
    });
  }
  return out;
}

function decodeAll(file) {
  const cases = JSON.parse(readFileSync(file, "utf8"));
  return cases.map((c) => ({ name: c.name, ...decodeFrames(c.codec, c.frames) }));
}

const [mode, file] = process.argv.slice(2);
if (mode === "encode") {
  process.stdout.write(JSON.stringify(encodeAll()));
} else if (mode === "values") {
  process.stdout.write(JSON.stringify(encodeValues()));
} else if (mode === "decode" && file) {
  process.stdout.write(JSON.stringify(decodeAll(file)));
} else {
  process.stderr.write("usage: parser-vectors.mjs encode | decode <file> | values\n");
  process.exit(2);
}
