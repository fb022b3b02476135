// transportName and onTransportChange against a fake Manager and fake
// engines (EventEmitters shaped like socket.io-client's Manager and
// engine.io-client's Socket).
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import { onTransportChange, transportName, type FerrySocket } from "../src/index.js";

class FakeEngine extends EventEmitter {
  transport: { name: string };
  constructor(name: string) {
    super();
    this.transport = { name };
  }
  // upgradeTo does what engine.io-client does when a probe succeeds: swap
  // the transport, then emit "upgrade" with it.
  upgradeTo(name: string): void {
    this.transport = { name };
    this.emit("upgrade", this.transport);
  }
}

class FakeManager extends EventEmitter {
  engine: FakeEngine | undefined;
  // open does what Manager.open does: a new engine, then "open" once connected.
  open(name: string): FakeEngine {
    this.engine = new FakeEngine(name);
    this.emit("open");
    return this.engine;
  }
}

function fakeSocket(): { socket: FerrySocket; manager: FakeManager } {
  const manager = new FakeManager();
  return { socket: { io: manager } as unknown as FerrySocket, manager };
}

describe("transportName", () => {
  it("is undefined before the engine exists", () => {
    const { socket } = fakeSocket();
    assert.equal(transportName(socket), undefined);
  });

  it("reads the live transport of the current engine", () => {
    const { socket, manager } = fakeSocket();
    const engine = manager.open("polling");
    assert.equal(transportName(socket), "polling");
    engine.upgradeTo("websocket");
    assert.equal(transportName(socket), "websocket");
  });
});

describe("onTransportChange", () => {
  it("reports an upgrade with the previous name, and not the current transport on subscribe", () => {
    const { socket, manager } = fakeSocket();
    const engine = manager.open("polling");
    const calls: [string, string | undefined][] = [];
    onTransportChange(socket, (name, previous) => calls.push([name, previous]));
    assert.deepEqual(calls, []);
    engine.upgradeTo("websocket");
    assert.deepEqual(calls, [["websocket", "polling"]]);
  });

  it("reports the first transport when subscribed before the connection opens", () => {
    const { socket, manager } = fakeSocket();
    const calls: [string, string | undefined][] = [];
    onTransportChange(socket, (name, previous) => calls.push([name, previous]));
    const engine = manager.open("polling");
    engine.upgradeTo("websocket");
    assert.deepEqual(calls, [
      ["polling", undefined],
      ["websocket", "polling"],
    ]);
  });

  it("follows the new engine after a reconnection and ignores the old one", () => {
    const { socket, manager } = fakeSocket();
    const first = manager.open("polling");
    const calls: [string, string | undefined][] = [];
    onTransportChange(socket, (name, previous) => calls.push([name, previous]));
    first.upgradeTo("websocket");
    const second = manager.open("polling");
    assert.equal(first.listenerCount("upgrade"), 0, "old engine no longer watched");
    first.upgradeTo("webtransport");
    second.upgradeTo("websocket");
    assert.deepEqual(calls, [
      ["websocket", "polling"],
      ["polling", "websocket"],
      ["websocket", "polling"],
    ]);
  });

  it("stays quiet when a reconnection opens on the same transport", () => {
    const { socket, manager } = fakeSocket();
    manager.open("websocket");
    const calls: string[] = [];
    onTransportChange(socket, (name) => calls.push(name));
    manager.open("websocket");
    assert.deepEqual(calls, []);
  });

  it("returns a function that removes every listener it added", () => {
    const { socket, manager } = fakeSocket();
    const engine = manager.open("polling");
    const calls: string[] = [];
    const stop = onTransportChange(socket, (name) => calls.push(name));
    assert.equal(manager.listenerCount("open"), 1);
    assert.equal(engine.listenerCount("upgrade"), 1);
    stop();
    assert.equal(manager.listenerCount("open"), 0);
    assert.equal(engine.listenerCount("upgrade"), 0);
    engine.upgradeTo("websocket");
    manager.open("polling");
    assert.deepEqual(calls, []);
  });
});
