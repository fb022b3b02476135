// Shared checks for the engine-*.mjs interop scripts, which run the
// official engine.io-client against Ferry's session.Engine.

// fail prints why the script failed and exits with status 1.
export function fail(msg) {
  process.stderr.write(`FAIL: ${msg}\n`);
  process.exit(1);
}

// deadline fails the script if done() has not been called within ms; the
// returned done() clears it.
export function deadline(ms, what) {
  const timer = setTimeout(() => fail(`timed out after ${ms} ms: ${what()}`), ms);
  return () => clearTimeout(timer);
}

// bytes returns binary message data (a Buffer in Node, or an ArrayBuffer
// or typed array) as a Buffer, or null for text. engine.io-client hands an
// empty text message ("4" on the wire) to "message" listeners as undefined.
export function bytes(data) {
  if (typeof data === "string" || data === undefined) return null;
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fail(`message of unexpected type ${Object.prototype.toString.call(data)}`);
}

// describe shows a message for failure output.
export function describe(data) {
  const b = bytes(data);
  return b === null ? `text ${JSON.stringify(data)}` : `binary <${b.toString("hex")}>`;
}

// sameMessage reports whether got is the message want, of the same kind:
// want is a string (text) or a Buffer (binary).
export function sameMessage(got, want) {
  const b = bytes(got);
  if (typeof want === "string") return b === null && (got ?? "") === want;
  return b !== null && b.equals(want);
}

// expectMessages returns a handler for a socket's "message" events that
// checks each against the next of want, in order, and calls onAll once all
// have arrived. Messages beyond want fail the script.
export function expectMessages(label, want, onAll) {
  let i = 0;
  const handler = (data) => {
    if (i >= want.length) fail(`${label}: unexpected extra message ${describe(data)}`);
    if (!sameMessage(data, want[i])) {
      fail(`${label}: message ${i}: got ${describe(data)}, want ${describe(want[i])}`);
    }
    i++;
    if (i === want.length) onAll();
  };
  handler.received = () => i;
  return handler;
}
