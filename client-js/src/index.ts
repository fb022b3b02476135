/**
 * Ferry's JavaScript client: the official `socket.io-client` with
 * `socket.io-msgpack-parser` wired in as the default parser, typed events,
 * and helpers that report the live Engine.IO transport.
 *
 * Nothing here speaks the wire protocol itself: handshake, heartbeat,
 * upgrade, reconnection and packet encoding all stay in the official
 * packages. Ferry only chooses their options, and normalises binary values
 * before the official msgpack encoder sees them (see {@link msgpackParser}).
 *
 * @packageDocumentation
 */
import { io as lookup, Manager } from "socket.io-client";
import type { ManagerOptions, Socket, SocketOptions } from "socket.io-client";
import * as officialMsgpack from "socket.io-msgpack-parser";

export { Manager };
export type { ManagerOptions, SocketOptions };

/**
 * EventsMap maps event names to listener signatures, for example
 * `{ chat: (from: string, text: string) => void }`. Same shape as the map
 * socket.io-client's generic `Socket` takes.
 */
export interface EventsMap {
  [event: string]: any;
}

/** DefaultEventsMap accepts any event name with any arguments. */
export interface DefaultEventsMap {
  [event: string]: (...args: any[]) => void;
}

/**
 * FerrySocket is a socket.io-client `Socket` whose `on` listeners follow
 * `ServerToClient` and whose `emit` calls follow `ClientToServer`. An event
 * with an acknowledgement lists the ack callback as its last parameter, as
 * in socket.io-client.
 */
export type FerrySocket<
  ServerToClient extends EventsMap = DefaultEventsMap,
  ClientToServer extends EventsMap = ServerToClient,
> = Socket<ServerToClient, ClientToServer>;

/**
 * ParserModule is what socket.io-client accepts as `parser`: a module
 * (or object) with `Encoder` and `Decoder` constructors.
 */
export interface ParserModule {
  readonly Encoder: new () => unknown;
  readonly Decoder: new () => unknown;
}

/**
 * ParserChoice selects the Socket.IO packet codec. It must match the
 * server's: a Ferry server uses msgpack unless configured for JSON.
 *
 * - `"msgpack"` (default): {@link msgpackParser}.
 * - `"json"`: socket.io-client's built-in text parser.
 * - any other {@link ParserModule} is passed to socket.io-client unchanged.
 */
export type ParserChoice = "msgpack" | "json" | ParserModule;

/**
 * FerryOptions are socket.io-client's Manager and Socket options, with a
 * Ferry `parser` choice and a `websocketOnly` switch.
 *
 * `forceNew` and `multiplex` are absent on purpose: every {@link connect}
 * call gets its own Manager (see {@link connect}).
 */
export interface FerryOptions
  extends Partial<Omit<ManagerOptions, "parser" | "forceNew" | "multiplex"> & SocketOptions> {
  /** Packet codec; must match the server. Default `"msgpack"`. */
  parser?: ParserChoice;
  /**
   * Skip HTTP long-polling and open a WebSocket straight away; the same as
   * `transports: ["websocket"]`. Default false: start on polling and
   * upgrade. Cannot be combined with `transports`.
   */
  websocketOnly?: boolean;
}

/** DEFAULT_PATH is the server path used when `path` is not given. */
export const DEFAULT_PATH = "/socket.io/";

/**
 * resolveOptions turns Ferry options into the options {@link connect}
 * hands to socket.io-client: the parser module resolved, `path` defaulted
 * to {@link DEFAULT_PATH}, `transports` set for `websocketOnly`, and
 * `forceNew: true`. The input is not modified.
 *
 * Use it to build a socket.io-client `Manager` yourself, for example to
 * multiplex several namespaces over one connection:
 * `new Manager(url, resolveOptions(opts)).socket("/admin")`.
 *
 * @throws TypeError for an unknown parser name, or for `websocketOnly`
 * combined with `transports`.
 */
export function resolveOptions(opts: FerryOptions = {}): Partial<ManagerOptions & SocketOptions> {
  const { parser, websocketOnly, ...rest } = opts;
  const out: Partial<ManagerOptions & SocketOptions> = {
    ...rest,
    path: rest.path ?? DEFAULT_PATH,
    forceNew: true,
  };
  const chosen = parserModule(parser);
  if (chosen === undefined) {
    delete out.parser;
  } else {
    out.parser = chosen;
  }
  if (websocketOnly === true) {
    if (rest.transports !== undefined) {
      throw new TypeError("ferry: websocketOnly and transports cannot be combined; pass one of them");
    }
    out.transports = ["websocket"];
  }
  return out;
}

function parserModule(choice: ParserChoice | undefined): ParserModule | undefined {
  switch (choice) {
    case undefined:
    case "msgpack":
      return msgpackParser;
    case "json":
      return undefined;
    default:
      if (
        typeof choice === "object" &&
        choice !== null &&
        typeof choice.Encoder === "function" &&
        typeof choice.Decoder === "function"
      ) {
        return choice;
      }
      throw new TypeError(`ferry: unknown parser ${JSON.stringify(choice)}; use "msgpack", "json" or a module with Encoder and Decoder`);
  }
}

/**
 * connect opens a Socket.IO connection to a Ferry (or any Socket.IO v4)
 * server and returns the namespace socket.
 *
 * `url` may carry a namespace (`"https://example.com/admin"`); without a
 * URL the page's origin is used. The msgpack parser is the default;
 * `{ parser: "json" }` selects the text parser, and
 * `{ websocketOnly: true }` skips long-polling.
 *
 * Each call creates its own socket.io-client Manager (`forceNew: true`), so
 * socket.io-client's module-level Manager cache is never filled: two calls
 * never share a connection or each other's options by accident. To put
 * several namespaces on one connection, use `socket.io.socket("/other")`.
 */
export function connect<
  ServerToClient extends EventsMap = DefaultEventsMap,
  ClientToServer extends EventsMap = ServerToClient,
>(opts?: FerryOptions): FerrySocket<ServerToClient, ClientToServer>;
export function connect<
  ServerToClient extends EventsMap = DefaultEventsMap,
  ClientToServer extends EventsMap = ServerToClient,
>(url?: string, opts?: FerryOptions): FerrySocket<ServerToClient, ClientToServer>;
export function connect<
  ServerToClient extends EventsMap = DefaultEventsMap,
  ClientToServer extends EventsMap = ServerToClient,
>(url?: string | FerryOptions, opts?: FerryOptions): FerrySocket<ServerToClient, ClientToServer> {
  if (typeof url === "object" && url !== null) {
    return lookup(resolveOptions(url)) as FerrySocket<ServerToClient, ClientToServer>;
  }
  return lookup(url, resolveOptions(opts)) as FerrySocket<ServerToClient, ClientToServer>;
}

/** io is {@link connect}, under the name socket.io users expect. */
export const io = connect;

/**
 * transportName returns the name of the Engine.IO transport the socket's
 * connection currently uses (`"polling"`, `"websocket"` or
 * `"webtransport"`), or undefined before the connection has been opened
 * (for example with `autoConnect: false`).
 */
export function transportName(socket: FerrySocket<any, any>): string | undefined {
  const engine = socket.io.engine as Socket["io"]["engine"] | undefined;
  return engine?.transport?.name;
}

/**
 * onTransportChange calls `listener(name, previous)` each time the
 * transport in use changes: when polling upgrades to a WebSocket, and when
 * a reconnection opens on a different transport than the last one. It does
 * not call the listener for the transport in use when it is registered;
 * read that with {@link transportName}. It returns a function that removes
 * the listener.
 *
 * ```ts
 * badge.textContent = transportName(socket) ?? "";
 * onTransportChange(socket, (name) => (badge.textContent = name));
 * ```
 */
export function onTransportChange(
  socket: FerrySocket<any, any>,
  listener: (name: string, previous: string | undefined) => void,
): () => void {
  const manager = socket.io;
  type Engine = Socket["io"]["engine"];
  let current = transportName(socket);
  let watched: Engine | undefined;
  const report = (): void => {
    const name = transportName(socket);
    if (name === undefined || name === current) {
      return;
    }
    const previous = current;
    current = name;
    listener(name, previous);
  };
  // Manager replaces its engine on every (re)connection; follow the newest.
  const watch = (): void => {
    const engine = manager.engine as Engine | undefined;
    if (engine === watched) {
      return;
    }
    watched?.off("upgrade", report);
    watched = engine;
    watched?.on("upgrade", report);
  };
  const onOpen = (): void => {
    watch();
    report();
  };
  watch();
  manager.on("open", onOpen);
  return () => {
    manager.off("open", onOpen);
    watched?.off("upgrade", report);
    watched = undefined;
  };
}

/**
 * EncodablePacket is a Socket.IO packet as socket.io-client hands it to a
 * parser's encoder.
 */
export interface EncodablePacket {
  type: number;
  nsp: string;
  data?: unknown;
  id?: number;
  [key: string]: unknown;
}

/**
 * msgpackParser is the default parser: socket.io-msgpack-parser's
 * `Decoder` unchanged, and an `Encoder` that hands the official encoder a
 * copy of each packet in which typed-array views (`Uint8Array`, `DataView`,
 * …) other than Node `Buffer`s are replaced by an `ArrayBuffer` holding
 * exactly the view's bytes. The msgpack library underneath
 * (notepack.io 2.2) otherwise sends a browser `Uint8Array` as a map of
 * indices and, in Node, a view's whole underlying buffer instead of its
 * bytes. Packets without such views are passed through untouched.
 */
export const msgpackParser: {
  readonly protocol: number;
  readonly Encoder: new () => { encode(packet: EncodablePacket): unknown[] };
  readonly Decoder: new () => {
    add(chunk: unknown): void;
    destroy(): void;
    on(event: "decoded", listener: (packet: unknown) => void): unknown;
  };
} = {
  protocol: officialMsgpack.protocol,
  Encoder: class Encoder {
    private readonly inner = new officialMsgpack.Encoder();

    /** encode returns the packet as one msgpack buffer, in an array. */
    encode(packet: EncodablePacket): unknown[] {
      const data = withPlainBinary(packet.data);
      const encoded: unknown = this.inner.encode(data === packet.data ? packet : { ...packet, data });
      return encoded as unknown[];
    }
  },
  Decoder: officialMsgpack.Decoder,
};

interface BufferConstructorLike {
  isBuffer(value: unknown): boolean;
}

function isNodeBuffer(value: unknown): boolean {
  const buffer = (globalThis as { Buffer?: BufferConstructorLike }).Buffer;
  return typeof buffer?.isBuffer === "function" && buffer.isBuffer(value);
}

// withPlainBinary returns value with every non-Buffer ArrayBuffer view inside
// plain objects and arrays replaced by an ArrayBuffer of its bytes. It copies
// only the containers on the path to a replaced view and returns value itself
// when nothing needed replacing.
function withPlainBinary(value: unknown): unknown {
  if (value === null || typeof value !== "object") {
    return value;
  }
  if (ArrayBuffer.isView(value)) {
    if (isNodeBuffer(value)) {
      return value;
    }
    const { buffer, byteOffset, byteLength } = value;
    if (buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength) {
      return buffer;
    }
    return new Uint8Array(buffer, byteOffset, byteLength).slice().buffer;
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const replaced = withPlainBinary(item);
      if (replaced !== item) {
        copy ??= value.slice();
        copy[i] = replaced;
      }
    }
    return copy ?? value;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    return value;
  }
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(record)) {
    const item = record[key];
    const replaced = withPlainBinary(item);
    if (replaced !== item) {
      copy ??= { ...record };
      copy[key] = replaced;
    }
  }
  return copy ?? value;
}
