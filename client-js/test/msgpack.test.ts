// msgpackParser.Encoder in Node: typed-array views are sent as exactly their
// bytes, Buffers stay msgpack bin, and packets without views encode exactly
// as with the official encoder.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as officialMsgpack from "socket.io-msgpack-parser";
import { msgpackParser } from "../src/index.js";

interface Decoded {
  type: number;
  nsp: string;
  data: unknown[];
  id?: number;
}

function roundTrip(packet: { type: number; nsp: string; data: unknown[]; id?: number }): { bytes: Uint8Array; decoded: Decoded } {
  const [encoded] = new msgpackParser.Encoder().encode(packet);
  const decoder = new officialMsgpack.Decoder();
  let decoded: Decoded | undefined;
  decoder.on("decoded", (p: Decoded) => (decoded = p));
  decoder.add(encoded);
  assert.ok(decoded, "decoder emitted a packet");
  return { bytes: new Uint8Array(encoded as ArrayBufferLike), decoded };
}

function bytesOf(value: unknown): number[] {
  if (value instanceof ArrayBuffer) {
    return [...new Uint8Array(value)];
  }
  if (ArrayBuffer.isView(value)) {
    return [...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)];
  }
  assert.fail(`not binary: ${String(value)}`);
}

describe("msgpackParser.Encoder", () => {
  it("sends a Uint8Array view as its own bytes, not its whole buffer", () => {
    const backing = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const view = backing.subarray(2, 4);
    const { decoded } = roundTrip({ type: 2, nsp: "/", data: ["bin", view] });
    assert.deepEqual(bytesOf(decoded.data[1]), [3, 4]);
  });

  it("handles views nested in objects and arrays, and other view types", () => {
    const floats = new Float32Array([1.5]);
    const dv = new DataView(new Uint8Array([9, 8, 7]).buffer, 1, 2);
    const { decoded } = roundTrip({
      type: 2,
      nsp: "/",
      data: ["nested", { list: [dv, { deep: floats }], text: "t" }],
    });
    const payload = decoded.data[1] as { list: [unknown, { deep: unknown }]; text: string };
    assert.deepEqual(bytesOf(payload.list[0]), [8, 7]);
    assert.deepEqual(bytesOf(payload.list[1].deep), [...new Uint8Array(floats.buffer)]);
    assert.equal(payload.text, "t");
  });

  it("keeps Node Buffers as msgpack bin", () => {
    const buf = Buffer.from([0xca, 0xfe]);
    const { bytes, decoded } = roundTrip({ type: 2, nsp: "/", data: ["buf", buf] });
    assert.ok(Buffer.isBuffer(decoded.data[1]), "bin decodes to a Buffer in Node");
    assert.deepEqual(bytesOf(decoded.data[1]), [0xca, 0xfe]);
    const hex = Buffer.from(bytes).toString("hex");
    assert.ok(hex.includes("c402cafe"), `bin 8 header in ${hex}`);
  });

  it("encodes packets without views exactly like the official encoder", () => {
    const packet = { type: 2, nsp: "/chat", data: ["msg", { a: [1, null, true], s: "é" }, Buffer.from([1])], id: 0 };
    const [ours] = new msgpackParser.Encoder().encode(packet);
    const [theirs] = new officialMsgpack.Encoder().encode(packet) as unknown as unknown[];
    assert.deepEqual(new Uint8Array(ours as ArrayBufferLike), new Uint8Array(theirs as ArrayBufferLike));
  });

  it("keeps ack id and key order, and leaves the caller's packet unchanged", () => {
    const view = new Uint8Array([7, 7, 7]).subarray(1);
    const packet = { type: 3, nsp: "/", id: 0, data: [view] };
    const { decoded } = roundTrip(packet);
    assert.equal(decoded.id, 0);
    assert.equal(decoded.type, 3);
    assert.equal(packet.data[0], view, "input packet still holds the view");
  });

  it("exposes the official decoder and protocol 5", () => {
    assert.equal(msgpackParser.Decoder, officialMsgpack.Decoder);
    assert.equal(msgpackParser.protocol, 5);
  });
});
