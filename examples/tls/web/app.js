// TLS page: ferry.min.js (served by the Ferry server) defines the global
// `ferry`. The connection starts on long-polling over https:// and upgrades
// to wss://; the Echo button sends a JSON-like message of the chosen size
// and shows how it came back.
(() => {
  "use strict";

  const $ = (id) => document.getElementById(id);
  $("scheme").textContent = location.protocol === "https:" ? "HTTPS" : "plain HTTP";
  const socket = ferry.connect();

  function showTransport(name) {
    $("transport").textContent = name ?? "…";
    $("transport").dataset.transport = name ?? "";
  }
  ferry.onTransportChange(socket, showTransport);

  socket.on("connect", () => {
    showTransport(ferry.transportName(socket));
    $("status").textContent = "connected";
    $("status").dataset.state = "online";
    $("send").disabled = false;
  });
  socket.on("disconnect", () => {
    $("status").textContent = "reconnecting…";
    $("status").dataset.state = "offline";
    $("send").disabled = true;
  });
  socket.on("connect_error", (err) => {
    $("status").textContent = `can't connect: ${err.message}`;
    $("status").dataset.state = "offline";
  });

  // rows returns about size bytes of JSON-like records.
  function rows(size) {
    const out = [];
    for (let i = 0, n = 2; n < size; i++) {
      const row = { id: i, user: `user-${i % 13}`, text: "the quick brown fox", tags: ["a", "b"], ok: i % 2 === 0 };
      n += JSON.stringify(row).length + 1;
      out.push(row);
    }
    return out;
  }

  async function send() {
    const result = $("result");
    const sent = rows(Number($("size").value));
    const bytes = JSON.stringify(sent).length;
    result.dataset.state = "busy";
    result.textContent = "…";
    const start = performance.now();
    try {
      const reply = await socket.timeout(10000).emitWithAck("echo", { rows: sent });
      const ms = Math.round(performance.now() - start);
      if (reply.error) throw new Error(reply.error);
      const same = JSON.stringify(reply.rows) === JSON.stringify(sent);
      result.dataset.state = same ? "ok" : "mismatch";
      result.dataset.transport = reply.transport;
      result.dataset.secure = String(reply.secure);
      result.dataset.bytes = String(bytes);
      result.textContent = `${same ? "✓" : "✗"} ${Math.round(bytes / 1024)} KiB back in ${ms} ms over ${reply.transport}` +
        (reply.secure ? " (TLS)" : "");
    } catch (err) {
      result.dataset.state = "error";
      result.textContent = err.message;
    }
  }
  $("send").addEventListener("click", send);
})();
