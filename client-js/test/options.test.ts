// Options mapping: what connect() and resolveOptions() hand to socket.io-client.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as officialMsgpack from "socket.io-msgpack-parser";
import { connect, DEFAULT_PATH, io, msgpackParser, resolveOptions, type FerryOptions, type ParserModule } from "../src/index.js";

// An address nothing listens on; every socket below is created with
// autoConnect: false, so no request is ever sent.
const nowhere = "http://127.0.0.1:9";

describe("resolveOptions", () => {
  it("defaults to the msgpack parser, /socket.io/ and a fresh Manager", () => {
    const out = resolveOptions();
    assert.equal(out.parser, msgpackParser);
    assert.equal(out.path, DEFAULT_PATH);
    assert.equal(DEFAULT_PATH, "/socket.io/");
    assert.equal(out.forceNew, true);
    assert.equal(out.transports, undefined);
  });

  it("selects msgpack by name", () => {
    assert.equal(resolveOptions({ parser: "msgpack" }).parser, msgpackParser);
  });

  it("leaves the parser unset for json, so socket.io-client uses its text parser", () => {
    const out = resolveOptions({ parser: "json" });
    assert.equal("parser" in out, false);
  });

  it("passes a custom parser module through", () => {
    const custom: ParserModule = { Encoder: class {}, Decoder: class {} };
    assert.equal(resolveOptions({ parser: custom }).parser, custom);
  });

  it("rejects an unknown parser name", () => {
    assert.throws(() => resolveOptions({ parser: "cbor" as unknown as "json" }), {
      name: "TypeError",
      message: /unknown parser "cbor"/,
    });
  });

  it("maps websocketOnly to transports: [websocket]", () => {
    const out = resolveOptions({ websocketOnly: true });
    assert.deepEqual(out.transports, ["websocket"]);
    assert.equal("websocketOnly" in out, false);
  });

  it("keeps polling first when websocketOnly is false", () => {
    assert.equal(resolveOptions({ websocketOnly: false }).transports, undefined);
  });

  it("refuses websocketOnly together with transports", () => {
    assert.throws(() => resolveOptions({ websocketOnly: true, transports: ["polling"] }), {
      name: "TypeError",
      message: /websocketOnly and transports/,
    });
  });

  it("keeps other options and a custom path, and does not modify its input", () => {
    const input: FerryOptions = { path: "/rt/", auth: { token: "t" }, reconnectionDelay: 50, websocketOnly: true };
    const before = structuredClone(input);
    const out = resolveOptions(input);
    assert.equal(out.path, "/rt/");
    assert.deepEqual(out.auth, { token: "t" });
    assert.equal(out.reconnectionDelay, 50);
    assert.deepEqual(input, before);
  });
});

describe("connect", () => {
  it("wires the msgpack encoder into the Manager by default", () => {
    const socket = connect(nowhere, { autoConnect: false });
    const encoder = (socket.io as unknown as { encoder: { encode(p: object): unknown[] } }).encoder;
    assert.ok(encoder instanceof msgpackParser.Encoder);
    const [bytes] = encoder.encode({ type: 2, nsp: "/", data: ["hi", 1] });
    assert.ok(bytes instanceof Uint8Array || bytes instanceof ArrayBuffer, "msgpack output is binary");
    const decoder = new officialMsgpack.Decoder();
    let decoded: unknown;
    decoder.on("decoded", (p: unknown) => (decoded = p));
    decoder.add(bytes);
    assert.deepEqual(decoded, { type: 2, nsp: "/", data: ["hi", 1] });
    assert.equal(socket.io.opts.path, "/socket.io/");
  });

  it("uses the JSON text encoder with parser: json", () => {
    const socket = connect(nowhere, { autoConnect: false, parser: "json" });
    const encoder = (socket.io as unknown as { encoder: { encode(p: object): unknown[] } }).encoder;
    assert.equal(encoder instanceof msgpackParser.Encoder, false);
    assert.deepEqual(encoder.encode({ type: 2, nsp: "/", data: ["hi", 1] }), ['2["hi",1]']);
  });

  it("sets websocket as the only transport with websocketOnly", () => {
    const socket = connect(nowhere, { autoConnect: false, websocketOnly: true });
    assert.deepEqual(socket.io.opts.transports, ["websocket"]);
  });

  it("gives every call its own Manager", () => {
    const a = connect(nowhere, { autoConnect: false });
    const b = connect(nowhere, { autoConnect: false });
    const c = connect({ autoConnect: false });
    assert.notEqual(a.io, b.io);
    assert.notEqual(a.io, c.io);
  });

  it("reads the namespace from the URL and accepts options alone", () => {
    const socket = io(`${nowhere}/admin`, { autoConnect: false });
    assert.equal((socket as unknown as { nsp: string }).nsp, "/admin");
    assert.equal(socket.connected, false);
  });
});
