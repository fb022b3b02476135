// WebSocket-only page: ferry.min.js (served by the Ferry server) defines
// the global `ferry`; websocketOnly skips HTTP long-polling entirely.
(() => {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const socket = ferry.connect({ websocketOnly: true });

  function setEnabled(enabled) {
    $("plus").disabled = !enabled;
    $("minus").disabled = !enabled;
  }

  socket.on("connect", () => {
    const name = ferry.transportName(socket);
    $("transport").textContent = name;
    $("transport").dataset.transport = name;
    $("status").textContent = "connected";
    $("status").dataset.state = "online";
    setEnabled(true);
  });
  socket.on("disconnect", () => {
    $("status").textContent = "reconnecting…";
    $("status").dataset.state = "offline";
    setEnabled(false);
  });
  socket.on("connect_error", (err) => {
    $("status").textContent = `can't connect: ${err.message}`;
    $("status").dataset.state = "offline";
  });

  socket.on("count", (n) => {
    $("count").textContent = String(n);
  });
  socket.on("online", (n) => {
    $("online").textContent = String(n);
  });

  async function add(step) {
    const reply = await socket.timeout(5000).emitWithAck("add", step);
    if (reply && reply.error) {
      $("status").textContent = reply.error;
    }
  }
  $("plus").addEventListener("click", () => add(1).catch((err) => ($("status").textContent = err.message)));
  $("minus").addEventListener("click", () => add(-1).catch((err) => ($("status").textContent = err.message)));
})();
