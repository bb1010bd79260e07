// The RPIO board page: draws the header from /api/events (server-sent events) and sends the
// clicks back as JSON POSTs. No framework, no build step: the file is served as it is.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const headerEl = $("header"), extraEl = $("extra"), partsEl = $("parts"), edgesEl = $("edges");
  const statusEl = $("status"), modeEl = $("mode"), errorEl = $("error"), canvas = $("waves");
  const WINDOW_MS = 10000, MAX_EDGES_SHOWN = 100, MAX_ROWS = 8;

  let board = null;          // {layout, kind, simulated, writable, shared}
  let pins = {};             // gpio -> pin state
  let parts = [];            // [{name, kind, gpios, state, actions}]
  let edges = [];            // [{t_ns, gpio, level, cause}] oldest first
  let clockOffsetMs = 0;     // server CLOCK_MONOTONIC ms minus performance.now()
  let layoutKey = "";
  const pinEls = {};         // gpio -> {pin, dot, label, fn, lvl, pull, tags, drive}

  // -- talking to the server ------------------------------------------------------------------
  let queue = Promise.resolve();
  function post(path, body) {
    // one request at a time, in order: a press always reaches the board before its release
    queue = queue.then(() => fetch(path, {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
    }).then(async (response) => {
      if (!response.ok) {
        const answer = await response.json().catch(() => ({error: response.statusText}));
        showError(answer.error || response.statusText);
      } else {
        showError("");
      }
    }).catch((error) => showError(String(error))));
    return queue;
  }

  function showError(text) {
    errorEl.textContent = text;
    errorEl.hidden = !text;
  }

  function connect() {
    const source = new EventSource("/api/events");
    source.addEventListener("open", () => setStatus("live", "live"));
    source.addEventListener("error", () => setStatus("lost", "reconnecting…"));
    source.addEventListener("snapshot", (event) => applySnapshot(JSON.parse(event.data)));
    source.addEventListener("update", (event) => applyUpdate(JSON.parse(event.data)));
  }

  function setStatus(cls, text) {
    statusEl.className = "status " + cls;
    statusEl.textContent = text;
  }

  function syncClock(nowNs) {
    if (typeof nowNs === "number") clockOffsetMs = nowNs / 1e6 - performance.now();
  }

  // -- state -----------------------------------------------------------------------------------
  function applySnapshot(data) {
    syncClock(data.now_ns);
    board = data.board;
    pins = {};
    for (const [gpio, pin] of Object.entries(data.pins || {})) pins[gpio] = pin;
    parts = data.parts || [];
    edges = (data.edges || []).slice();
    const key = JSON.stringify(board.layout);
    if (key !== layoutKey) {
      layoutKey = key;
      renderLayout();
    }
    renderMode();
    for (const gpio of Object.keys(pinEls)) updatePin(gpio, false);
    renderParts();
    renderEdgeList(true);
    drawWaves();
  }

  function applyUpdate(data) {
    syncClock(data.now_ns);
    for (const [gpio, pin] of Object.entries(data.pins || {})) {
      pins[gpio] = pin;
      updatePin(gpio, true);
    }
    if (data.parts) {
      parts = data.parts;
      renderParts();
      for (const gpio of Object.keys(pinEls)) updatePin(gpio, false);
    }
    if (data.causes) {
      // who made edges published a moment ago ("pid 4242 output", "part doorbell")
      for (const found of data.causes) {
        const edge = edges.find((e) => e.t_ns === found.t_ns && e.gpio === found.gpio);
        if (edge) edge.cause = found.cause;
        const item = edgesEl.querySelector('li[data-t="' + found.t_ns + '"][data-gpio="' + found.gpio + '"]');
        if (item && !item.querySelector(".cause")) item.append(" ", el("span", "cause", "(" + found.cause + ")"));
      }
    }
    if (data.skipped) {
      // a burst (a fast generator): the server sent the newest edges only
      const note = el("li", "edge skipped", "… " + data.skipped + " edges not shown");
      note.dataset.skipped = data.skipped;
      edgesEl.prepend(note);
    }
    if (data.edges && data.edges.length) {
      edges.push(...data.edges);
      if (edges.length > 2000) edges = edges.slice(-1000);
      for (const gpio of new Set(data.edges.map((e) => e.gpio))) flash(gpio);
      renderEdgeList(false, data.edges);
      drawWaves();
    }
  }

  // -- the header --------------------------------------------------------------------------------
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderMode() {
    const layout = board.layout;
    document.title = "RPIO · " + layout.model;
    $("title").textContent = layout.title;
    let mode;
    if (board.simulated) {
      mode = "simulated · " + (board.shared ? "shared board “" + board.shared + "”" : "this process’s board");
    } else {
      mode = "Raspberry Pi";
    }
    mode += board.writable ? " · writes allowed" : " · read-only";
    modeEl.textContent = mode;
    $("vcd-link").hidden = !board.simulated;
  }

  function renderLayout() {
    headerEl.textContent = "";
    extraEl.textContent = "";
    for (const key of Object.keys(pinEls)) delete pinEls[key];
    const layout = board.layout;
    if (layout.header === null) {
      headerEl.append(el("h3", "extra-title", "A compute module has no GPIO header: its GPIOs, on the module's connector"));
      const gpios = layout.module_gpios, half = Math.ceil(gpios.length / 2);
      for (let i = 0; i < half; i++) {
        const a = {number: null, name: "GPIO" + gpios[i], kind: "gpio", gpio: gpios[i]};
        const right = gpios[i + half];
        const b = right === undefined ? null : {number: null, name: "GPIO" + right, kind: "gpio", gpio: right};
        addRow(headerEl, a, b);
      }
      return;
    }
    for (const [a, b] of layout.rows) addRow(headerEl, a, b);
    for (const extra of layout.extra || []) {
      headerEl.append(el("h3", "extra-title", extra.name + " pads"));
      for (const [a, b] of extra.rows) addRow(headerEl, a, b, extra.name + "-");
    }
  }

  function addRow(grid, a, b, prefix) {
    grid.append(makeLabel(a, "left"), makePin(a, prefix), b ? makePin(b, prefix) : el("div"),
                b ? makeLabel(b, "right") : el("div"));
  }

  function makePin(pin, prefix) {
    const box = el("div", "pin");
    const dot = el("span", "dot kind-" + pin.kind + (pin.kind === "power" ? " power-" + pin.name : ""),
                   pin.number === null ? "" : String(pin.number));
    box.append(dot);
    if (pin.number !== null) box.id = (prefix || "") + "pin-" + pin.number;
    box.dataset.kind = pin.kind;
    box.title = pin.name + (pin.number !== null ? " (pin " + pin.number + ")" : "");
    if (pin.gpio !== null && pin.gpio !== undefined) {
      box.dataset.gpio = pin.gpio;
      if (pin.number === null) box.id = "gpio-" + pin.gpio;
      const entry = pinEls[pin.gpio] || (pinEls[pin.gpio] = {});
      entry.pin = box;
      entry.dot = dot;
    }
    return box;
  }

  function makeLabel(pin, side) {
    const label = el("div", "label " + side);
    label.append(el("span", "name", pin.name));
    if (pin.gpio === null || pin.gpio === undefined) return label;
    label.dataset.gpio = pin.gpio;
    const entry = pinEls[pin.gpio] || (pinEls[pin.gpio] = {});
    entry.label = label;
    entry.fn = el("span", "fn");
    entry.lvl = el("span", "lvl");
    entry.pull = el("span", "pull");
    entry.tags = el("span", "tags");
    entry.drive = el("span", "drive");
    for (const [value, text, what] of [["1", "1", "high"], ["0", "0", "low"], ["release", "×", "released"]]) {
      const button = el("button", "drive-" + value, text);
      button.type = "button";
      button.dataset.drive = value;
      button.title = "GPIO" + pin.gpio + ": " + (value === "release" ? "let go (its pull decides)" : "drive " + what);
      button.addEventListener("click", () => {
        post("/api/drive", {gpio: pin.gpio, level: value === "release" ? null : Number(value)});
      });
      entry.drive.append(button);
    }
    label.append(entry.fn, entry.lvl, entry.pull, entry.tags, entry.drive);
    return label;
  }

  function flash(gpio) {
    const entry = pinEls[gpio];
    if (!entry || !entry.dot) return;
    entry.dot.classList.add("flash");
    setTimeout(() => entry.dot.classList.remove("flash"), 250);
  }

  function updatePin(gpio, changed) {
    const entry = pinEls[gpio], state = pins[gpio];
    if (!entry || !state) return;
    const level = String(state.level);
    const fnText = state.function.startsWith("ALT") && state.signal ? state.signal : state.function;
    if (entry.pin) {
      entry.pin.dataset.level = level;
      entry.pin.dataset.function = state.function;
      entry.pin.dataset.pull = state.pull === null ? "unknown" : state.pull;
      entry.pin.dataset.floating = state.floating ? "1" : "0";
      entry.pin.dataset.drive = state.drive === null ? "none" : String(state.drive);
      entry.dot.classList.toggle("level-1", !state.floating && state.level === 1);
      entry.dot.classList.toggle("level-0", !state.floating && state.level === 0);
      entry.dot.classList.toggle("floating", !!state.floating);
      entry.dot.classList.toggle("driven", state.drive !== null);
      entry.pin.title = "GPIO" + gpio + ": " + state.function + (state.signal ? " " + state.signal : "") +
        ", level " + level + (state.floating ? " (floating)" : "") +
        (state.pull ? ", pull " + state.pull : "") + (state.drive !== null ? ", driven to " + state.drive : "");
    }
    if (entry.label) {
      entry.label.dataset.level = level;
      entry.fn.textContent = fnText;
      entry.fn.className = "fn f-" + (state.function.startsWith("ALT") ? "ALT" : state.function);
      entry.fn.title = state.function;
      entry.lvl.textContent = state.floating ? "z" : level;
      entry.pull.textContent = {up: "↑", down: "↓", off: ""}[state.pull] ?? "?";
      const names = parts.filter((p) => p.gpios.includes(Number(gpio))).map((p) => p.name);
      entry.tags.textContent = "";
      for (const name of names) entry.tags.append(el("span", "tag", name));
      const realOutput = !board.simulated && state.function === "OUT";
      const showDrive = board.writable && ((board.simulated && state.function === "IN") || realOutput);
      entry.drive.hidden = !showDrive;
      entry.drive.querySelector(".drive-release").hidden = realOutput;
      for (const button of entry.drive.querySelectorAll("button")) {
        const value = button.dataset.drive;
        const active = value === "release" ? state.drive === null : state.drive === Number(value);
        button.classList.toggle("active", board.simulated && active);
      }
    }
    if (changed) entry.pin && entry.pin.setAttribute("data-changed", String(Date.now()));
  }

  // -- parts ---------------------------------------------------------------------------------------
  function renderParts() {
    partsEl.textContent = "";
    if (!parts.length) {
      partsEl.append(el("p", "empty", "No parts on this board."));
      return;
    }
    const list = el("div", "parts");
    for (const part of parts) list.append(makePart(part));
    partsEl.append(list);
  }

  function describeState(state) {
    const shown = (v) => v === null || v === undefined ? "–" : typeof v === "number" ? +v.toFixed(3) : v;
    return Object.entries(state || {}).map(([k, v]) => k.replace("_", " ") + ": " + shown(v)).join(", ");
  }

  function makePart(part) {
    const box = el("div", "part");
    box.dataset.part = part.name;
    box.dataset.kind = part.kind;
    const where = part.gpios.map((g) => "GPIO" + g).join(", ");
    const writable = board.writable;
    if (part.kind === "button") {
      const button = el("button", "part-button", part.name);
      button.type = "button";
      button.dataset.part = part.name;
      const pressed = !!(part.state && part.state.pressed);
      button.classList.toggle("pressed", pressed);
      button.setAttribute("aria-pressed", String(pressed));
      button.disabled = !writable;
      let down = false;
      button.addEventListener("pointerdown", (event) => {
        if (event.button !== 0) return;
        down = true;
        post("/api/part", {name: part.name, action: "press"});
      });
      const up = () => {
        if (!down) return;
        down = false;
        post("/api/part", {name: part.name, action: "release"});
      };
      button.addEventListener("pointerup", up);
      button.addEventListener("pointerleave", up);
      button.addEventListener("pointercancel", up);
      button.addEventListener("keydown", (event) => {
        if (event.key === " " || event.key === "Enter") {
          event.preventDefault();
          post("/api/part", {name: part.name, action: "click"});
        }
      });
      box.append(button, el("div", "kind", "button on " + where));
      return box;
    }
    const title = el("div");
    if (part.kind === "led") {
      const led = el("span", "led");
      const on = !!(part.state && (part.state.on ?? part.state.level));
      led.classList.toggle("on", on);
      title.append(led, " ");
    }
    title.append(el("b", "", part.name));
    box.append(title, el("div", "kind", part.kind + " on " + where));
    const details = describeState(part.state);
    if (details) box.append(el("div", "state", details));
    for (const action of part.actions || []) {
      const button = el("button", "part-action", action);
      button.type = "button";
      button.dataset.action = action;
      button.disabled = !writable;
      button.addEventListener("click", () => post("/api/part", {name: part.name, action}));
      box.append(button);
    }
    return box;
  }

  // -- timeline ------------------------------------------------------------------------------------
  function edgeItem(edge) {
    const li = el("li", "edge " + (edge.level ? "rise" : "fall"));
    li.dataset.gpio = edge.gpio;
    li.dataset.level = edge.level;
    li.dataset.t = edge.t_ns;
    li.append(el("span", "t", (edge.t_ns / 1e9).toFixed(6) + " s "), "GPIO" + edge.gpio + " ",
              el("span", "arrow", edge.level ? "↑" : "↓"), " " + edge.level);
    if (edge.cause) li.append(" ", el("span", "cause", "(" + edge.cause + ")"));
    return li;
  }

  function renderEdgeList(all, fresh) {
    if (all) {
      edgesEl.textContent = "";
      for (const edge of edges.slice(-MAX_EDGES_SHOWN)) edgesEl.prepend(edgeItem(edge));
    } else {
      for (const edge of fresh) edgesEl.prepend(edgeItem(edge));
      while (edgesEl.children.length > MAX_EDGES_SHOWN) edgesEl.lastChild.remove();
    }
  }

  let waveTimer = null;
  function drawWaves() {
    const ctx = canvas.getContext("2d");
    const width = canvas.width, height = canvas.height;
    ctx.clearRect(0, 0, width, height);
    const nowMs = performance.now() + clockOffsetMs, startMs = nowMs - WINDOW_MS;
    $("window-label").textContent = "last " + WINDOW_MS / 1000 + " s";
    const recent = edges.filter((e) => e.t_ns / 1e6 >= startMs);
    const gpios = [...new Set(recent.map((e) => e.gpio))].slice(-MAX_ROWS);
    if (!gpios.length) {
      ctx.fillStyle = "#6b736f";
      ctx.font = "12px system-ui, sans-serif";
      ctx.fillText("no edge in the last " + WINDOW_MS / 1000 + " s", 10, 20);
      waveTimer = null;
      return;
    }
    const rowH = Math.min(36, (height - 8) / gpios.length), labelW = 56;
    const x = (ms) => labelW + (ms - startMs) / WINDOW_MS * (width - labelW - 4);
    gpios.forEach((gpio, row) => {
      const top = 4 + row * rowH, high = top + 4, low = top + rowH - 6;
      const own = edges.filter((e) => e.gpio === gpio);
      const before = own.filter((e) => e.t_ns / 1e6 < startMs);
      const inside = own.filter((e) => e.t_ns / 1e6 >= startMs);
      let level = before.length ? before[before.length - 1].level : 1 - inside[0].level;
      ctx.fillStyle = "#1d2421";
      ctx.font = "11px ui-monospace, monospace";
      ctx.fillText("GPIO" + gpio, 4, (high + low) / 2 + 4);
      ctx.strokeStyle = "#1f6b3a";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      let px = labelW;
      ctx.moveTo(px, level ? high : low);
      for (const edge of inside) {
        const ex = x(edge.t_ns / 1e6);
        ctx.lineTo(ex, level ? high : low);
        level = edge.level;
        ctx.lineTo(ex, level ? high : low);
        px = ex;
      }
      ctx.lineTo(width - 4, level ? high : low);
      ctx.stroke();
    });
    if (!waveTimer) {
      waveTimer = setTimeout(() => { waveTimer = null; drawWaves(); }, 100);
    }
  }

  connect();
})();
