// The RPIO board page: draws the header from /api/events (server-sent events) and sends the
// clicks back as JSON POSTs. No framework, no build step: the file is served as it is.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const headerEl = $("header"), extraEl = $("extra"), partsEl = $("parts"), edgesEl = $("edges");
  const statusEl = $("status"), modeEl = $("mode"), errorEl = $("error"), canvas = $("waves");
  const MAX_EDGES_SHOWN = 100, MAX_ROWS = 10, MAX_TIMELINE_EDGES = 60000;
  const wiresLayer = $("wires-layer"), wiresListEl = $("wires-list");

  let board = null;          // {layout, kind, simulated, writable, shared}
  let pins = {};             // gpio -> pin state
  let parts = [];            // [{name, kind, gpios, state, actions}]
  let edges = [];            // [{t_ns, gpio, level, cause}] oldest first (the list below)
  let wires = [];            // [[gpio, gpio, ...], ...]
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
    wires = data.wires || [];
    edges = (data.edges || []).slice();
    const key = JSON.stringify(board.layout);
    if (key !== layoutKey) {
      layoutKey = key;
      renderLayout();
    }
    renderMode();
    for (const gpio of Object.keys(pinEls)) updatePin(gpio, false);
    renderParts();
    renderWires();
    renderEdgeList(true);
    timeline.reset();
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
    if (data.wires) {
      wires = data.wires;
      renderWires();
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
      timeline.soon();
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
    entry.holder = el("span", "holder", "⚡");
    entry.holder.hidden = true;
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
    label.append(entry.fn, entry.lvl, entry.pull, entry.holder, entry.tags, entry.drive);
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
        (state.pull ? ", pull " + state.pull : "") + (state.drive !== null ? ", driven to " + state.drive : "") +
        (state.consumer ? ", held for edge detection by " + state.consumer : "");
      entry.pin.dataset.consumer = state.consumer || "";
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
      for (const wire of wires) {
        if (!wire.includes(Number(gpio))) continue;
        const others = wire.filter((g) => g !== Number(gpio)).map((g) => "GPIO" + g).join(", ");
        const tag = el("span", "tag wire-tag", "⟷ " + others);
        tag.title = "wired to " + others;
        entry.tags.append(tag);
      }
      entry.holder.hidden = !state.consumer;
      entry.holder.title = state.consumer ? "held for edge detection by " + state.consumer : "";
      entry.holder.dataset.consumer = state.consumer || "";
      // a simulated input, or a pin with no function yet (every pin of a Pi 5 at reset), can be
      // driven from outside; a real board only lets an output be set
      const realOutput = !board.simulated && state.function === "OUT";
      const simDrivable = board.simulated && (state.function === "IN" || state.function === "NONE");
      const showDrive = board.writable && (simDrivable || realOutput);
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
  let partsKey = "";
  function renderParts() {
    // the same parts as before: update their state in place (a card rebuilt under the pointer
    // would lose a press); otherwise draw them again
    const key = JSON.stringify(parts.map((p) => [p.name, p.kind, p.gpios, p.actions]));
    if (key === partsKey && parts.length) {
      for (const part of parts) updatePart(part);
      return;
    }
    partsKey = key;
    partsEl.textContent = "";
    if (!parts.length) {
      partsEl.append(el("p", "empty", "No parts on this board."));
      return;
    }
    const list = el("div", "parts");
    for (const part of parts) list.append(makePart(part));
    partsEl.append(list);
  }

  function updatePart(part) {
    const box = partsEl.querySelector('.part[data-part="' + CSS.escape(part.name) + '"]');
    if (!box) return;
    const summary = box.querySelector(".summary");
    if (summary) summary.textContent = part.summary || "";
    const button = box.querySelector(".part-button");
    if (button) {
      const pressed = !!(part.state && part.state.pressed);
      button.classList.toggle("pressed", pressed);
      button.setAttribute("aria-pressed", String(pressed));
    }
    const led = box.querySelector(".led");
    if (led) led.classList.toggle("on", !!(part.state && part.state.on));
    const fill = box.querySelector(".meter span");
    if (fill && typeof (part.state || {}).brightness === "number") {
      fill.style.width = Math.round(Math.max(0, Math.min(1, part.state.brightness)) * 100) + "%";
      fill.parentNode.title = "brightness " + Math.round(part.state.brightness * 100) + " %";
    }
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
      box.append(button, el("div", "kind", "button on " + where), el("div", "summary", part.summary || ""));
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
    box.append(el("div", "summary", part.summary || ""));
    if (part.kind === "led" && typeof (part.state || {}).brightness === "number") {
      const meter = el("div", "meter");
      const fill = el("span");
      fill.style.width = Math.round(Math.max(0, Math.min(1, part.state.brightness)) * 100) + "%";
      meter.append(fill);
      meter.title = "brightness " + Math.round(part.state.brightness * 100) + " %";
      box.append(meter);
    }
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

  // -- wires ---------------------------------------------------------------------------------------
  function renderWires() {
    wiresListEl.textContent = "";
    wiresListEl.hidden = !wires.length;
    if (wires.length) {
      wiresListEl.append(el("b", "", "Wires "));
      for (const wire of wires) {
        const item = el("span", "wire", wire.map((g) => "GPIO" + g).join(" ⟷ "));
        item.dataset.gpios = wire.join(",");
        wiresListEl.append(item);
      }
    }
    drawWires();
  }

  function drawWires() {
    // a curve from pin to pin over the header, bulging outwards on the side of the first pin
    wiresLayer.textContent = "";
    const NS = "http://www.w3.org/2000/svg";
    const origin = wiresLayer.getBoundingClientRect();
    for (const wire of wires) {
      for (let i = 0; i + 1 < wire.length; i++) {
        const a = pinEls[wire[i]], b = pinEls[wire[i + 1]];
        if (!a || !b || !a.dot || !b.dot) continue;
        const ra = a.dot.getBoundingClientRect(), rb = b.dot.getBoundingClientRect();
        const ax = ra.left + ra.width / 2 - origin.left, ay = ra.top + ra.height / 2 - origin.top;
        const bx = rb.left + rb.width / 2 - origin.left, by = rb.top + rb.height / 2 - origin.top;
        const path = document.createElementNS(NS, "path");
        if (Math.abs(by - ay) < ra.height / 2) {
          // side by side (pins 15 and 16): an arch between the rows, clear of the numbers
          const lift = ra.height * 0.9;
          path.setAttribute("d", `M${ax},${ay - ra.height / 2} C${ax},${ay - lift} ${bx},${by - lift} ${bx},${by - rb.height / 2}`);
        } else {
          const mid = origin.width / 2, side = (ax + bx) / 2 < mid ? -1 : 1;
          const bulge = side * (14 + Math.min(60, Math.abs(by - ay) / 4));
          path.setAttribute("d", `M${ax},${ay} C${ax + bulge},${ay} ${bx + bulge},${by} ${bx},${by}`);
        }
        path.dataset.gpios = wire[i] + "," + wire[i + 1];
        const title = document.createElementNS(NS, "title");
        title.textContent = "wire GPIO" + wire[i] + " ⟷ GPIO" + wire[i + 1];
        path.append(title);
        wiresLayer.append(path);
      }
    }
  }
  window.addEventListener("resize", () => { drawWires(); timeline.draw(); });

  // -- the timeline: the board's history, drawn only where the page has it -------------------------
  const timeline = (function () {
    let byGpio = new Map();      // gpio -> [[t_ms, level], ...] oldest first
    let count = 0;
    let coveredFromMs = null;    // complete since then (-Infinity: since the board started)
    let lastNs = 0;              // the newest change fetched
    let spanMs = 10000, endMs = null;  // the view: its width, and its end (null: now, live)
    let fetching = false, pending = false, timer = null, drawTimer = null;
    const liveButton = $("live");

    function nowMs() { return performance.now() + clockOffsetMs; }

    function reset() {
      byGpio = new Map();
      count = 0;
      coveredFromMs = null;
      lastNs = 0;
      fetchNow();
    }

    function soon() {
      if (!timer) timer = setTimeout(() => { timer = null; fetchNow(); }, 150);
    }

    function add(list) {
      for (const e of list) {
        let own = byGpio.get(e.gpio);
        if (!own) byGpio.set(e.gpio, own = []);
        own.push([e.t_ns / 1e6, e.level]);
        count++;
      }
      if (count > MAX_TIMELINE_EDGES) {   // keep the newest; the page's history starts later
        const all = [];
        for (const [gpio, own] of byGpio) for (const [t] of own) all.push(t);
        all.sort((a, b) => a - b);
        const cut = all[count - MAX_TIMELINE_EDGES];
        count = 0;
        for (const [gpio, own] of byGpio) {
          const kept = own.filter(([t]) => t >= cut);
          byGpio.set(gpio, kept);
          count += kept.length;
        }
        coveredFromMs = Math.max(coveredFromMs ?? -Infinity, cut);
      }
    }

    async function fetchNow() {
      if (fetching) { pending = true; return; }
      if (!board || !board.simulated) { draw(); return; }
      fetching = true;
      try {
        const response = await fetch("/api/history?since_ns=" + lastNs);
        if (!response.ok) return;
        const data = await response.json();
        syncClock(data.now_ns);
        const fresh = data.edges || [];
        if (!data.complete || coveredFromMs === null) {
          // changes were lost before these (or this is the first look): start again from here
          byGpio = new Map();
          count = 0;
          if (data.complete) coveredFromMs = data.from_ns === null ? -Infinity : data.from_ns / 1e6;
          else coveredFromMs = fresh.length ? fresh[0].t_ns / 1e6 : data.now_ns / 1e6;
        }
        add(fresh);
        if (fresh.length) lastNs = fresh[fresh.length - 1].t_ns;
      } catch (error) {
        // the server went away: the event stream says so
      } finally {
        fetching = false;
        draw();
        if (pending) { pending = false; soon(); }
      }
    }

    function niceStep(ms) {
      const steps = [1, 2, 5];
      let base = Math.pow(10, Math.floor(Math.log10(ms)));
      for (;;) {
        for (const k of steps) if (k * base >= ms) return k * base;
        base *= 10;
      }
    }

    function label(ms) {
      const a = Math.abs(ms);
      if (a === 0) return "now";
      if (a >= 1000) return "−" + +(a / 1000).toFixed(3) + " s";
      if (a >= 1) return "−" + +a.toFixed(3) + " ms";
      return "−" + +(a * 1000).toFixed(1) + " µs";
    }

    function spanText(ms) {
      return ms >= 1000 ? +(ms / 1000).toFixed(3) + " s" : ms >= 1 ? +ms.toFixed(3) + " ms" : +(ms * 1000).toFixed(1) + " µs";
    }

    function draw() {
      const dpr = window.devicePixelRatio || 1;
      const cssW = canvas.clientWidth || 300, cssH = canvas.clientHeight || 200;
      if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
        canvas.width = Math.round(cssW * dpr);     // sharp on HiDPI screens: one canvas pixel
        canvas.height = Math.round(cssH * dpr);    // per device pixel
      }
      const ctx = canvas.getContext("2d");
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, cssW, cssH);
      const now = nowMs(), end = endMs === null ? now : endMs, start = end - spanMs;
      liveButton.classList.toggle("active", endMs === null);
      $("window-label").textContent = spanText(spanMs) + (endMs === null ? " · live" : " · ending " + label(now - end));
      const labelW = 58, axisH = 18, right = cssW - 6, plotW = right - labelW;
      const x = (ms) => labelW + (ms - start) / spanMs * plotW;
      const known = coveredFromMs === null ? now : Math.max(coveredFromMs, -1e300);
      const gpios = [...byGpio.keys()].filter((g) => byGpio.get(g).length).sort((a, b) => a - b).slice(0, MAX_ROWS);
      canvas.dataset.rows = gpios.join(",");
      canvas.dataset.coveredFrom = coveredFromMs === null ? "" : String(coveredFromMs);
      canvas.dataset.start = String(start);
      canvas.dataset.end = String(end);
      // no history before `known`: hatched, nothing drawn there
      const hx = Math.max(labelW, Math.min(right, x(known)));
      if (hx > labelW) {
        ctx.save();
        ctx.fillStyle = "#eef0ec";
        ctx.fillRect(labelW, 0, hx - labelW, cssH - axisH);
        ctx.strokeStyle = "#d5d9d3";
        ctx.lineWidth = 1;
        ctx.beginPath();
        for (let k = labelW - cssH; k < hx; k += 8) { ctx.moveTo(k, cssH - axisH); ctx.lineTo(k + cssH - axisH, 0); }
        ctx.rect(labelW, 0, hx - labelW, cssH - axisH);
        ctx.clip();
        ctx.stroke();
        ctx.restore();
        ctx.fillStyle = "#6b736f";
        ctx.font = "11px system-ui, sans-serif";
        if (hx - labelW > 70) ctx.fillText("no history", labelW + 6, 14);
      }
      // the time axis
      ctx.strokeStyle = "#c9cec8";
      ctx.fillStyle = "#6b736f";
      ctx.font = "10px system-ui, sans-serif";
      ctx.lineWidth = 1;
      const step = niceStep(spanMs / Math.max(2, Math.floor(plotW / 80)));
      const first = Math.ceil((start - now) / step) * step;
      for (let rel = first; now + rel <= end + 1e-9; rel += step) {
        const tx = Math.round(x(now + rel)) + 0.5;
        ctx.beginPath();
        ctx.moveTo(tx, 0);
        ctx.lineTo(tx, cssH - axisH + 3);
        ctx.globalAlpha = 0.5;
        ctx.stroke();
        ctx.globalAlpha = 1;
        const text = label(-rel);
        const w = ctx.measureText(text).width;
        ctx.fillText(text, Math.min(right - w, Math.max(labelW, tx - w / 2)), cssH - 5);
      }
      if (!gpios.length) {
        ctx.fillStyle = "#6b736f";
        ctx.font = "12px system-ui, sans-serif";
        ctx.fillText(board && !board.simulated ? "a real board keeps no history" : "no level change yet", labelW + 6, 34);
        schedule();
        return;
      }
      const rowH = Math.min(34, (cssH - axisH - 4) / gpios.length);
      gpios.forEach((gpio, row) => {
        const top = 4 + row * rowH, high = top + 3, low = top + rowH - 5;
        const own = byGpio.get(gpio);
        ctx.fillStyle = "#1d2421";
        ctx.font = "11px ui-monospace, monospace";
        ctx.fillText("GPIO" + gpio, 4, (high + low) / 2 + 4);
        // the level before the first change the page has: the opposite of that change
        let i = 0;
        while (i < own.length && own[i][0] < start) i++;
        let level = i > 0 ? own[i - 1][1] : 1 - own[0][1];
        const from = Math.max(start, known);
        if (from >= end) return;
        ctx.strokeStyle = "#1f6b3a";
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        const y = (v) => v ? high : low;
        ctx.moveTo(x(from), y(level));
        let lastX = -1;
        for (; i < own.length && own[i][0] <= end; i++) {
          const [t, v] = own[i];
          if (t < from) { level = v; continue; }
          const ex = x(t);
          if (ex - lastX < 0.5 && v === level) continue;
          ctx.lineTo(ex, y(level));
          ctx.lineTo(ex, y(v));
          level = v;
          lastX = ex;
        }
        ctx.lineTo(x(Math.min(end, now)), y(level));
        ctx.stroke();
      });
      schedule();
    }

    function schedule() {
      if (endMs === null && !drawTimer) drawTimer = setTimeout(() => { drawTimer = null; draw(); }, 100);
    }

    function zoom(factor, atX) {
      const rect = canvas.getBoundingClientRect(), labelW = 58;
      const now = nowMs(), end = endMs === null ? now : endMs, start = end - spanMs;
      const plotW = rect.width - 6 - labelW;
      const fraction = atX === undefined ? 1 : Math.max(0, Math.min(1, (atX - rect.left - labelW) / plotW));
      const anchor = start + fraction * spanMs;
      const next = Math.max(0.01, Math.min(3600e3, spanMs * factor));
      let newEnd = anchor + (1 - fraction) * next;
      spanMs = next;
      endMs = endMs === null && fraction === 1 ? null : Math.min(newEnd, now) >= now - 1 ? null : newEnd;
      draw();
    }

    $("zoom-in").addEventListener("click", () => zoom(0.5));
    $("zoom-out").addEventListener("click", () => zoom(2));
    liveButton.addEventListener("click", () => { endMs = null; draw(); });
    canvas.addEventListener("wheel", (event) => {
      event.preventDefault();
      zoom(event.deltaY > 0 ? 1.25 : 0.8, event.clientX);
    }, {passive: false});
    let drag = null;
    canvas.addEventListener("pointerdown", (event) => {
      drag = {x: event.clientX, end: endMs === null ? nowMs() : endMs};
      canvas.setPointerCapture(event.pointerId);
      canvas.classList.add("dragging");
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const plotW = canvas.getBoundingClientRect().width - 64;
      const moved = (event.clientX - drag.x) / plotW * spanMs;
      const newEnd = drag.end - moved;
      endMs = newEnd >= nowMs() ? null : newEnd;
      draw();
    });
    const stop = () => { drag = null; canvas.classList.remove("dragging"); };
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    setInterval(() => { if (board && board.simulated) fetchNow(); }, 1000);  // what no edge line tells
    return {reset, soon, draw, view: () => ({spanMs, endMs})};
  })();

  connect();
})();
