// Ferry chat page. A plain script with no build step: /socket.io/ferry.min.js,
// served by the Ferry server, defines the global `ferry` (socket.io-client
// with the msgpack parser, plus transport helpers).
//
// Events (see chatserver/doc.go): the page emits "join" {nick, room},
// "message" {text} (both acknowledged) and "typing" (boolean); it receives
// "rooms", "presence", "message" and "typing".
//
// The server has connection state recovery on: after a short loss of
// connection the page comes back as the same member, and the events it
// missed arrive first, before "connect" (socket.recovered is then true).
// Each event that can be replayed carries its offset as an extra last
// argument, which the handlers below leave alone: they read only their
// own arguments.
(() => {
  "use strict";

  const ACK_TIMEOUT = 8000; // ms to wait for the server to acknowledge
  const TYPING_REPEAT = 3000; // resend "typing" this often while typing
  const TYPING_IDLE = 4000; // a pause this long means "stopped typing"
  const TYPING_EXPIRY = 8000; // forget a typist not heard from for this long
  const GROUP_WINDOW = 5 * 60 * 1000; // merge one author's messages this close

  const $ = (id) => document.getElementById(id);
  const el = {
    app: $("app"),
    menu: $("menu"),
    scrim: $("scrim"),
    roomTitle: $("room-title"),
    status: $("status"),
    transport: $("transport"),
    rooms: $("rooms"),
    newRoom: $("new-room"),
    newRoomName: $("new-room-name"),
    people: $("people"),
    onlineCount: $("online-count"),
    me: $("me"),
    changeNick: $("change-nick"),
    messages: $("messages"),
    typing: $("typing"),
    composer: $("composer"),
    text: $("text"),
    send: $("send"),
    login: $("login"),
    loginForm: $("login-form"),
    loginButton: $("login-button"),
    loginError: $("login-error"),
    loginCancel: $("login-cancel"),
    nick: $("nick"),
    room: $("room"),
    roomOptions: $("room-options"),
  };

  // ?transport=polling or ?transport=websocket forces the transport;
  // without it the connection opens on long-polling and upgrades.
  const forced = new URLSearchParams(location.search).get("transport");
  const options = {};
  if (forced === "polling") {
    options.transports = ["polling"];
  } else if (forced === "websocket") {
    options.websocketOnly = true;
  }
  const socket = ferry.connect(options);

  const state = {
    id: "", // this socket's id, from the last join
    myIds: new Set(), // every id this page has had, to recognise its messages in history
    nick: "",
    room: "",
    joined: false, // the server has us in state.room, or will give it back if the connection recovers
    away: null, // while disconnected: { missed } messages received since
    members: [],
    rooms: [],
    typists: new Map(), // socket id -> { nick, timer }
  };

  // Connection status and the transport badge.

  // setStatus shows the connection state; after a reconnection, session
  // says whether the server recovered the previous one ("recovered") or
  // gave a new one ("fresh").
  function setStatus(kind, text, session) {
    el.status.dataset.state = kind;
    el.status.textContent = text;
    if (session) {
      el.status.dataset.session = session;
      el.status.title =
        session === "recovered"
          ? "Reconnected: the server kept this session, nothing was lost"
          : "Reconnected with a new session";
    } else {
      delete el.status.dataset.session;
      el.status.removeAttribute("title");
    }
  }

  function showTransport(name, changed) {
    el.transport.textContent = name || "…";
    el.transport.dataset.transport = name || "";
    el.transport.title = forced
      ? `Transport: ${name} (forced by ?transport=${forced})`
      : `Transport: ${name} (starts on polling, upgrades to websocket)`;
    if (changed) {
      el.transport.classList.remove("changed");
      void el.transport.offsetWidth; // restart the animation
      el.transport.classList.add("changed");
    }
  }

  ferry.onTransportChange(socket, (name) => showTransport(name, true));

  socket.on("connect", () => {
    const away = state.away;
    state.away = null;
    showTransport(ferry.transportName(socket), false);
    if (!away || !state.joined) {
      setStatus("online", "online");
      return;
    }
    if (socket.recovered) {
      // The server kept our session: same id, same room, and the
      // messages we missed were delivered just now, before this event.
      setStatus("online", "online", "recovered");
      setComposer(true);
      const missed = away.missed === 1 ? "1 message" : `${away.missed} messages`;
      systemLine(
        away.missed === 0
          ? `Reconnected to #${state.room}: nothing missed.`
          : `Reconnected to #${state.room}: ${missed} received while offline are shown above.`,
      );
      return;
    }
    // A new session (the server restarted, or we were away too long): join
    // again, and catch up from the room's recent history.
    setStatus("online", "online", "fresh");
    state.joined = false;
    join(state.nick, state.room).then(
      () => systemLine(`Reconnected to #${state.room} with a new session: recent messages reloaded.`),
      (err) => systemLine(`Could not rejoin: ${err.message}`, true),
    );
  });

  socket.on("disconnect", (reason) => {
    setStatus("offline", socket.active ? "reconnecting…" : "disconnected");
    state.away = { missed: 0 };
    setComposer(false);
    clearTypists();
    if (state.nick) {
      systemLine(`Connection lost (${reason}).`, true);
    }
  });

  socket.on("connect_error", () => setStatus("offline", "can't reach the server"));

  // Joining, switching rooms, renaming.

  async function join(nick, room) {
    const reply = await socket.timeout(ACK_TIMEOUT).emitWithAck("join", { nick, room });
    if (reply && reply.error) {
      throw new Error(reply.error);
    }
    const sameRoom = reply.room === state.room;
    state.id = reply.id;
    state.myIds.add(reply.id);
    state.nick = reply.nick;
    state.room = reply.room;
    state.joined = true;
    state.members = reply.members;
    state.rooms = reply.rooms;
    try {
      localStorage.setItem("ferry-chat-nick", reply.nick);
    } catch {
      // Storage may be disabled; the nickname is only a convenience.
    }
    el.roomTitle.textContent = reply.room;
    el.text.placeholder = `Message #${reply.room}`;
    el.me.textContent = reply.nick;
    document.title = `#${reply.room} · Ferry chat`;
    if (!sameRoom) {
      clearTypists();
    }
    renderHistory(reply.history, sameRoom);
    renderRooms();
    renderPeople();
    setComposer(true);
    return reply;
  }

  async function switchRoom(name) {
    closeSidebar();
    if (!state.joined || !socket.connected || name === state.room) {
      return;
    }
    stopTyping();
    try {
      await join(state.nick, name);
      el.text.focus();
    } catch (err) {
      systemLine(`Could not join #${name}: ${err.message}`, true);
    }
  }

  function showLogin() {
    el.nick.value = state.nick || storedNick();
    el.room.value = state.room || "general";
    el.loginError.textContent = "";
    el.loginCancel.hidden = !state.joined;
    el.loginButton.textContent = state.joined ? "Save" : "Join the chat";
    el.login.hidden = false;
    el.nick.focus();
    el.nick.select();
  }

  function storedNick() {
    try {
      return localStorage.getItem("ferry-chat-nick") || "";
    } catch {
      return "";
    }
  }

  el.loginForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    el.loginButton.disabled = true;
    el.loginError.textContent = "";
    stopTyping();
    try {
      await join(el.nick.value, el.room.value);
      el.login.hidden = true;
      el.text.focus();
    } catch (err) {
      el.loginError.textContent = socket.connected ? err.message : "Can't reach the server. Retrying…";
    } finally {
      el.loginButton.disabled = false;
    }
  });

  function hideLogin() {
    if (state.joined && !el.login.hidden) {
      el.login.hidden = true;
      el.text.focus();
    }
  }

  el.loginCancel.addEventListener("click", hideLogin);

  el.changeNick.addEventListener("click", () => {
    closeSidebar();
    showLogin();
  });

  el.newRoom.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = el.newRoomName.value;
    if (!name.trim() || !state.joined || !socket.connected) {
      return;
    }
    stopTyping();
    try {
      await join(state.nick, name);
      el.newRoomName.value = "";
      closeSidebar();
      el.text.focus();
    } catch (err) {
      systemLine(`Could not join that room: ${err.message}`, true);
    }
  });

  // The room list and the people in the room.

  socket.on("rooms", (rooms) => {
    state.rooms = rooms;
    renderRooms();
  });

  function renderRooms() {
    el.rooms.replaceChildren(
      ...state.rooms.map((room) => {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.room = room.name;
        if (room.name === state.room) {
          button.setAttribute("aria-current", "true");
        }
        const name = document.createElement("span");
        name.className = "name";
        name.textContent = room.name;
        const members = document.createElement("span");
        members.className = "members";
        members.textContent = room.count === 0 ? "" : String(room.count);
        members.title = `${room.count} online`;
        button.append(name, members);
        button.addEventListener("click", () => switchRoom(room.name));
        li.append(button);
        return li;
      }),
    );
    el.roomOptions.replaceChildren(
      ...state.rooms.map((room) => {
        const option = document.createElement("option");
        option.value = room.name;
        return option;
      }),
    );
  }

  socket.on("presence", (p) => {
    if (!state.joined || p.room !== state.room) {
      return;
    }
    state.members = p.members;
    const present = new Set(p.members.map((m) => m.id));
    for (const id of state.typists.keys()) {
      if (!present.has(id)) {
        removeTypist(id);
      }
    }
    renderPeople();
    if (p.joined && p.joined.id !== state.id) {
      systemLine(`${p.joined.nick} joined #${p.room}`);
    }
    if (p.left && p.left.id !== state.id) {
      systemLine(`${p.left.nick} left #${p.room}`);
    }
  });

  function renderPeople() {
    el.onlineCount.textContent = String(state.members.length);
    el.people.replaceChildren(
      ...state.members.map((m) => {
        const li = document.createElement("li");
        li.dataset.nick = m.nick;
        const nick = document.createElement("span");
        nick.className = "nick";
        nick.textContent = m.nick;
        li.append(avatar(m.nick, false), nick);
        if (m.id === state.id) {
          li.append(tag("you-tag", "(you)"));
        } else if (state.typists.has(m.id)) {
          li.append(tag("typing-tag", "typing…"));
        }
        return li;
      }),
    );
  }

  function tag(className, text) {
    const span = document.createElement("span");
    span.className = className;
    span.textContent = text;
    return span;
  }

  function avatar(nick, large) {
    const span = document.createElement("span");
    span.className = large ? "avatar large" : "avatar";
    span.textContent = Array.from(nick)[0] || "?";
    span.style.backgroundColor = `hsl(${hue(nick)} 52% 42%)`;
    span.setAttribute("aria-hidden", "true");
    return span;
  }

  function hue(text) {
    let h = 0;
    for (const ch of text) {
      h = (h * 31 + ch.codePointAt(0)) % 360;
    }
    return h;
  }

  // Messages.

  socket.on("message", (msg) => {
    if (!state.joined || msg.room !== state.room) {
      return;
    }
    if (state.away) {
      state.away.missed++; // replayed by the server, before "connect"
    }
    removeTypist(msg.from);
    addMessage(msg, false);
  });

  el.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = el.text.value.trim();
    if (!text || !state.joined) {
      return;
    }
    el.text.value = "";
    stopTyping();
    const li = addMessage({ id: 0, from: state.id, nick: state.nick, text, time: Date.now() }, true);
    const delivery = li.querySelector(".delivery");
    socket.timeout(ACK_TIMEOUT).emit("message", { text }, (err, reply) => {
      if (err || (reply && reply.error)) {
        delivery.dataset.state = "failed";
        delivery.textContent = `not delivered: ${err ? "no answer from the server" : reply.error}`;
        return;
      }
      li.dataset.id = String(reply.id);
      li.dataset.key = key(reply);
      li.dataset.time = String(reply.time);
      delivery.dataset.state = "delivered";
      delivery.textContent = "✓ delivered";
      delivery.title = `Received by the server at ${new Date(reply.time).toLocaleTimeString()}`;
    });
  });

  // key identifies a message across reconnections, even to a restarted
  // server whose ids start again from 1.
  const key = (msg) => `${msg.id}@${msg.time}`;

  // renderHistory shows a room's recent messages. With keep (a rejoin or a
  // rename in the same room) the list stays, and only messages it lacks and
  // newer than its last are added: those sent while we were away.
  function renderHistory(history, keep) {
    if (keep) {
      const shown = el.messages.querySelectorAll(".msg[data-key]");
      const seen = new Set(Array.from(shown, (li) => li.dataset.key));
      const last = shown.length > 0 ? Number(shown[shown.length - 1].dataset.time) : 0;
      for (const msg of history) {
        if (!seen.has(key(msg)) && msg.time >= last) {
          addMessage(msg, false);
        }
      }
      return;
    }
    el.messages.replaceChildren();
    if (history.length === 0) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = `No messages in #${state.room} yet. Say hello!`;
      el.messages.append(li);
      return;
    }
    for (const msg of history) {
      addMessage(msg, false);
    }
    scrollToEnd();
  }

  // addMessage appends a message and returns its list item. A message the
  // page is sending shows "sending…" until the server acknowledges it.
  function addMessage(msg, pending) {
    const atEnd = isAtEnd();
    el.messages.querySelector(".empty")?.remove();
    const mine = pending || state.myIds.has(msg.from);
    const last = el.messages.lastElementChild;
    const continues =
      last !== null &&
      last.classList.contains("msg") &&
      last.dataset.from === msg.from &&
      last.dataset.nick === msg.nick &&
      msg.time - Number(last.dataset.time) < GROUP_WINDOW;

    const li = document.createElement("li");
    li.className = "msg";
    li.classList.toggle("mine", mine);
    li.classList.toggle("cont", continues);
    li.dataset.from = msg.from;
    li.dataset.nick = msg.nick;
    li.dataset.time = String(msg.time);
    if (msg.id) {
      li.dataset.id = String(msg.id);
      li.dataset.key = key(msg);
    }

    const body = document.createElement("div");
    body.className = "body";
    const meta = document.createElement("div");
    meta.className = "meta";
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = msg.nick;
    const when = new Date(msg.time);
    const time = document.createElement("time");
    time.dateTime = when.toISOString();
    time.title = when.toLocaleString();
    time.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    meta.append(author, time);
    const text = document.createElement("p");
    text.className = "text";
    const content = document.createElement("span");
    content.textContent = msg.text;
    text.append(content);
    if (mine) {
      const delivery = document.createElement("span");
      delivery.className = "delivery";
      delivery.dataset.state = pending ? "sending" : "delivered";
      delivery.textContent = pending ? "sending…" : "✓ delivered";
      (continues ? text : meta).append(delivery);
    }
    body.append(meta, text);
    li.append(avatar(msg.nick, true), body);
    el.messages.append(li);
    if (atEnd || pending) {
      scrollToEnd();
    }
    return li;
  }

  // systemLine appends a notice: who joined or left, or (with error) what
  // went wrong.
  function systemLine(text, error = false) {
    const atEnd = isAtEnd();
    const li = document.createElement("li");
    li.className = error ? "system error" : "system";
    const span = document.createElement("span");
    span.textContent = text;
    li.append(span);
    el.messages.append(li);
    if (atEnd) {
      scrollToEnd();
    }
  }

  function isAtEnd() {
    const m = el.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
  }

  function scrollToEnd() {
    el.messages.scrollTop = el.messages.scrollHeight;
  }

  function setComposer(enabled) {
    el.text.disabled = !enabled;
    el.send.disabled = !enabled;
  }

  // Typing indicator: ours is sent only while connected (never queued for
  // later), and the server relays it as a volatile broadcast; theirs expire
  // if not repeated, so a lost "stopped typing" does no lasting harm.

  let typingSent = 0; // when "typing: true" was last sent, 0 when not typing
  let typingIdle = 0;

  el.text.addEventListener("input", () => {
    if (!state.joined) {
      return;
    }
    if (el.text.value.trim() === "") {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (now - typingSent > TYPING_REPEAT) {
      sendTyping(true);
      typingSent = now;
    }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, TYPING_IDLE);
  });

  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingSent !== 0) {
      typingSent = 0;
      sendTyping(false);
    }
  }

  // sendTyping emits the typing state if it can go now. (socket.volatile
  // would also drop it while a long-polling POST is in flight.)
  function sendTyping(on) {
    if (state.joined && socket.connected) {
      socket.emit("typing", on);
    }
  }

  socket.on("typing", (t) => {
    if (!state.joined || t.id === state.id) {
      return;
    }
    if (t.typing) {
      const old = state.typists.get(t.id);
      clearTimeout(old?.timer);
      const timer = setTimeout(() => removeTypist(t.id), TYPING_EXPIRY);
      state.typists.set(t.id, { nick: t.nick, timer });
      if (!old) {
        renderTyping();
      }
    } else {
      removeTypist(t.id);
    }
  });

  function removeTypist(id) {
    const t = state.typists.get(id);
    if (t) {
      clearTimeout(t.timer);
      state.typists.delete(id);
      renderTyping();
    }
  }

  function clearTypists() {
    for (const t of state.typists.values()) {
      clearTimeout(t.timer);
    }
    state.typists.clear();
    renderTyping();
  }

  function renderTyping() {
    const names = Array.from(state.typists.values(), (t) => t.nick);
    let text = "";
    if (names.length === 1) {
      text = `${names[0]} is typing…`;
    } else if (names.length === 2) {
      text = `${names[0]} and ${names[1]} are typing…`;
    } else if (names.length > 2) {
      text = `${names.length} people are typing…`;
    }
    el.typing.textContent = text;
    renderPeople();
  }

  // The sidebar is a drawer on narrow screens.

  function closeSidebar() {
    el.app.dataset.sidebar = "closed";
    el.menu.setAttribute("aria-expanded", "false");
  }

  el.menu.addEventListener("click", () => {
    const open = el.app.dataset.sidebar !== "open";
    el.app.dataset.sidebar = open ? "open" : "closed";
    el.menu.setAttribute("aria-expanded", String(open));
  });
  el.scrim.addEventListener("click", closeSidebar);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      closeSidebar();
      hideLogin();
    }
  });

  showTransport(ferry.transportName(socket), false);
  showLogin();
})();
