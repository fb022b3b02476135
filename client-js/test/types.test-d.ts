// Type tests, checked by `tsc --noEmit -p test` (npm run typecheck) and
// never run. Each `@ts-expect-error` line must fail to type-check; if one
// starts compiling, tsc reports the directive as unused and the test fails.
import { connect, io, onTransportChange, resolveOptions, transportName, type FerryOptions, type FerrySocket } from "../src/index.js";

interface ServerToClient {
  chat: (from: string, text: string) => void;
  typing: (from: string) => void;
  question: (q: string, answer: (reply: number) => void) => void;
}

interface ClientToServer {
  chat: (text: string) => void;
  join: (room: string, ack: (members: string[]) => void) => void;
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

const socket = connect<ServerToClient, ClientToServer>("https://example.test", { autoConnect: false });

// Listeners get the declared argument types.
socket.on("chat", (from, text) => {
  expectType<Equal<typeof from, string>>();
  expectType<Equal<typeof text, string>>();
});
socket.on("question", (q, answer) => {
  expectType<Equal<typeof q, string>>();
  answer(42);
  // @ts-expect-error the ack takes a number
  answer("forty-two");
});
// @ts-expect-error "typing" listeners receive one string
socket.on("typing", (from: number) => from);
// @ts-expect-error no such server event
socket.on("unknown", () => undefined);

// Emits follow ClientToServer.
socket.emit("chat", "hello");
// @ts-expect-error chat takes a string
socket.emit("chat", 42);
// @ts-expect-error chat takes one argument
socket.emit("chat", "a", "b");
// @ts-expect-error "typing" is a server-to-client event
socket.emit("typing", "me");
socket.emit("join", "lobby", (members) => {
  expectType<Equal<typeof members, string[]>>();
});
// @ts-expect-error the ack receives a string[]
socket.emit("join", "lobby", (members: number) => members);

// emitWithAck resolves to the ack's argument type. (socket.io-client types
// the result of timeout(ms).emitWithAck as any.)
async function acks(): Promise<void> {
  const members = await socket.emitWithAck("join", "lobby");
  expectType<Equal<typeof members, string[]>>();
  // @ts-expect-error room must be a string
  await socket.emitWithAck("join", 7);
}
void acks;

// One type argument types both directions.
interface Shared {
  ping: (n: number) => void;
}
const shared: FerrySocket<Shared> = io<Shared>({ autoConnect: false });
shared.emit("ping", 1);
shared.on("ping", (n) => expectType<Equal<typeof n, number>>());
// @ts-expect-error ping takes a number
shared.emit("ping", "1");

// Without type arguments any event is accepted.
const untyped = connect();
untyped.emit("anything", 1, { a: 2 }, [3]);
untyped.on("whatever", (...args: unknown[]) => args);

// Options.
const good: FerryOptions[] = [
  { parser: "json" },
  { parser: "msgpack", websocketOnly: true },
  { transports: ["websocket"], path: "/rt/", auth: { token: "t" } },
];
void good;
// @ts-expect-error parser names are "msgpack" or "json"
const badParser: FerryOptions = { parser: "cbor" };
void badParser;
// @ts-expect-error every connect call gets its own Manager; forceNew is not an option
const badForceNew: FerryOptions = { forceNew: false };
void badForceNew;
resolveOptions({ websocketOnly: true });

// Transport helpers.
const name = transportName(socket);
expectType<Equal<typeof name, string | undefined>>();
const stop = onTransportChange(socket, (now, before) => {
  expectType<Equal<typeof now, string>>();
  expectType<Equal<typeof before, string | undefined>>();
});
expectType<Equal<typeof stop, () => void>>();
// @ts-expect-error the listener gets strings
onTransportChange(socket, (now: number) => now);
