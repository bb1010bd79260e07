"""The board page: an HTTP server (standard library only) with live updates by server-sent events.

::

    from RPIO.workbench.server import BoardServer
    with BoardServer(port=0) as server:       # the board this process drives; port 0: any free one
        print(server.url)                     # http://127.0.0.1:PORT/
        ...                                   # the script runs; the page follows it

``rpio sim serve`` runs the same server in the foreground. What it serves:

``GET /``                  the page (``static/index.html``, ``board.css``, ``board.js``)
``GET /api/board``         one snapshot (JSON): the layout, every pin, the parts, recent edges
``GET /api/events``        server-sent events: ``snapshot`` first, then ``update`` with what
                           changed (pins, parts, new edges), ``: ping`` comments when idle
``GET /api/history.vcd``   the board's history as a VCD file (simulated board)
``POST /api/drive``        ``{"gpio": 17, "level": 0 | 1 | null}``: drive a pin (null releases)
``POST /api/part``         ``{"name": "bell", "action": "press" | "release" | "click" | ...}``

A watcher thread follows the board: edge records on the simulated chip's event lines wake it at
once (the edge path the interrupts use, so a change made by another process sharing the board
shows too), and it polls every ``poll_interval`` seconds for what makes no edge (a pin becoming an
output, a pull, a part's state). On a real Pi it only polls the registers, and the page is
read-only unless the server was started with ``allow_writes``.

Safety: the server listens on 127.0.0.1 unless told otherwise. Requests must name this server in
their Host header when it listens on a loopback address (no DNS rebinding), and a write must be a
JSON POST whose Origin, if any, is the page's own (no cross-site writes from another tab).
"""

from __future__ import annotations

import collections
import ipaddress
import json
import logging
import os
import select
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Deque, Dict, List, Optional, Tuple

from rpio_interrupts.event import EVENT_SIZE, decode_events

from .board import Edge, ReadOnlyError, Source, current_source

log = logging.getLogger("RPIO.workbench")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_BODY = 4096
MAX_STREAMS = 32  # pages following the board at once (each holds a thread)
_ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/static/board.css": ("board.css", "text/css; charset=utf-8"),
    "/static/board.js": ("board.js", "text/javascript; charset=utf-8"),
}


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


# ---------------------------------------------------------------------------------------------
# The hub: the board's last known state and a short log of updates, for every page connected
# ---------------------------------------------------------------------------------------------


@dataclass
class Waited:
    """What a client waiting on the hub gets back."""

    version: int
    updates: List[Dict[str, Any]]
    resync: bool  # the client fell behind the log (or the board changed): send a new snapshot
    closed: bool


class Hub:
    """The state the pages see, versioned. Writers: the watcher. Readers: one thread per page."""

    def __init__(self, log_size: int = 512, timeline: int = 200):
        self._cond = threading.Condition()
        self._log: Deque[Tuple[int, Dict[str, Any]]] = collections.deque(maxlen=log_size)
        self._base = 0  # the version of the last full reset: older clients must resync
        self.version = 0
        self.closed = False
        self.board: Dict[str, Any] = {}
        self.pins: Dict[int, Dict[str, Any]] = {}
        self.parts: List[Dict[str, Any]] = []
        self.edges: Deque[Dict[str, Any]] = collections.deque(maxlen=timeline)

    def reset(self, board: Dict[str, Any], pins: Dict[int, Dict[str, Any]],
              parts: List[Dict[str, Any]], edges: List[Dict[str, Any]]) -> None:
        with self._cond:
            self.board, self.pins, self.parts = board, dict(pins), list(parts)
            self.edges.clear()
            self.edges.extend(edges)
            self.version += 1
            self._base = self.version
            self._log.clear()
            self._cond.notify_all()

    def publish(self, pins: Dict[int, Dict[str, Any]], parts: Optional[List[Dict[str, Any]]],
                edges: List[Dict[str, Any]], skipped: int = 0) -> int:
        with self._cond:
            self.pins.update(pins)
            if parts is not None:
                self.parts = list(parts)
            self.edges.extend(dict(edge) for edge in edges)  # patched with causes later
            self.version += 1
            update: Dict[str, Any] = {"v": self.version, "now_ns": time.monotonic_ns(),
                                      "pins": {str(gpio): pin for gpio, pin in pins.items()},
                                      "edges": edges}
            if parts is not None:
                update["parts"] = parts
            if skipped:
                update["skipped"] = skipped  # edges left out of a burst (the newest are sent)
            self._log.append((self.version, update))
            self._cond.notify_all()
            return self.version

    def patch_causes(self, causes: List[Dict[str, Any]]) -> int:
        """Causes found for edges published before: ({t_ns, gpio, level, cause}, ...)."""
        with self._cond:
            known = {(c["t_ns"], c["gpio"]): c["cause"] for c in causes}
            for edge in self.edges:
                cause = known.get((edge["t_ns"], edge["gpio"]))
                if cause is not None:
                    edge["cause"] = cause
            self.version += 1
            update = {"v": self.version, "now_ns": time.monotonic_ns(), "pins": {}, "edges": [],
                      "causes": [{"t_ns": c["t_ns"], "gpio": c["gpio"], "cause": c["cause"]}
                                 for c in causes]}
            self._log.append((self.version, update))
            self._cond.notify_all()
            return self.version

    def snapshot(self) -> Tuple[int, Dict[str, Any]]:
        with self._cond:
            return self.version, {
                "v": self.version,
                "now_ns": time.monotonic_ns(),
                "board": self.board,
                "pins": {str(gpio): pin for gpio, pin in self.pins.items()},
                "parts": self.parts,
                "edges": list(self.edges),
            }

    def wait(self, since: int, timeout: float) -> Waited:
        with self._cond:
            self._cond.wait_for(lambda: self.closed or self.version != since, timeout)
            if self.closed:
                return Waited(self.version, [], False, True)
            if self.version == since:
                return Waited(since, [], False, False)
            oldest = self._log[0][0] if self._log else self.version + 1
            if since < self._base or since + 1 < oldest:
                return Waited(self.version, [], True, False)
            updates = [update for version, update in self._log if version > since]
            return Waited(self.version, updates, False, False)

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


# ---------------------------------------------------------------------------------------------
# The watcher: follows the board, publishes what changed
# ---------------------------------------------------------------------------------------------


class CauseFinder(threading.Thread):
    """Finds who made each published edge ("pid 4242 output", "part doorbell") in the board's
    history, off the watcher's path, and sends the causes as a later update.

    The history ring is copied whole to read its tail: up to ~25 ms when full. So edges are
    published first and their causes follow; a costly read is followed by a pause 20 times as
    long, and edges that wait for it meanwhile (the newest ``limit``) are looked up together.
    """

    def __init__(self, source: Source, hub: Hub, limit: int = 200):
        super().__init__(name="rpio-board-causes", daemon=True)
        self.source, self.hub, self.limit = source, hub, limit
        self._pending: Deque[Edge] = collections.deque(maxlen=limit)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._not_before = 0.0

    def add(self, edges: List[Edge]) -> None:
        with self._lock:
            self._pending.extend(edges)
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self._wake.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def run(self) -> None:
        while not self._stopping:
            self._wake.wait()
            pause = self._not_before - time.monotonic()
            if pause > 0:
                time.sleep(min(pause, 1.0))  # bounded: a stop is seen within a second
                continue
            self._wake.clear()
            time.sleep(0.002)  # the pages' threads send the edges first (they share the GIL)
            with self._lock:
                edges = list(self._pending)
                self._pending.clear()
            if not edges or self._stopping:
                continue
            started = time.monotonic()
            try:
                found = self.source.with_causes(edges)
            except Exception as error:  # the board went away: nothing to say about these edges
                log.debug("causes of %d edges: %s", len(edges), error)
                continue
            cost = time.monotonic() - started
            self._not_before = started + cost * 20 if cost > 0.002 else 0.0
            causes = [edge.as_dict() for edge in found if edge.cause]
            if causes:
                self.hub.patch_causes(causes)


class Watcher(threading.Thread):
    """Wakes on edge records (simulated board) or every ``poll_interval`` seconds, diffs, publishes.

    An edge after a quiet spell is published at once; a burst (a generator at kHz) is gathered
    into one update per ``min_interval`` with at most ``timeline`` edges (the newest; the update
    says how many it skipped), so neither the watcher nor the page drowns.
    """

    def __init__(self, source: Source, hub: Hub, *, poll_interval: float = 0.05,
                 timeline: int = 200, min_interval: float = 0.005):
        super().__init__(name="rpio-board-watcher", daemon=True)
        self.source, self.hub = source, hub
        self.poll_interval, self.timeline = poll_interval, timeline
        self.min_interval = min_interval
        self._last_publish = 0.0
        self._stop_event = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._lines: list = []
        self._pins: Dict[int, Any] = {}
        self._parts: List[Dict[str, Any]] = []
        self._generation: Any = None
        self._last_error: Optional[str] = None
        self.causes = CauseFinder(source, hub, timeline) if hasattr(source, "with_causes") else None
        self.ready = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        super().start()
        if self.causes is not None:
            self.causes.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop_event.set()
        if self.causes is not None:
            self.causes.stop(timeout)
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)
        self._close_lines()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def _close_lines(self) -> None:
        for line in self._lines:
            try:
                line.close()
            except Exception:  # pragma: no cover - a line of a board that went away
                pass
        self._lines = []

    def board_description(self) -> Dict[str, Any]:
        description = {"layout": self.source.layout.as_dict()}
        description.update(self.source.describe())
        return description

    def resync(self) -> None:
        """Read everything again and reset the hub (first start, or the board was replaced)."""
        source = self.source
        refresh = getattr(source, "refresh_layout", None)
        if refresh is not None:
            refresh()
        self._close_lines()
        self._generation = source.generation()
        self._lines = source.open_edge_lines(source.layout.gpios)
        self._pins = source.pin_states()
        self._parts = [part.as_dict() for part in source.parts()]
        edges = [edge.as_dict() for edge in source.recent_edges(self.timeline)]
        self.hub.reset(self.board_description(),
                       {gpio: pin.as_dict() for gpio, pin in self._pins.items()},
                       self._parts, edges)

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self.resync()
        finally:
            self.ready.set()
        while not self._stop_event.is_set():
            pause = self._last_publish + self.min_interval - time.monotonic()
            if pause > 0:  # just published: let a burst gather (a stop still wakes us)
                select.select([self._wake_r], [], [], pause)
                if self._stop_event.is_set():
                    break
            fds = [line.fileno() for line in self._lines] + [self._wake_r]
            try:
                readable, _, _ = select.select(fds, [], [], self.poll_interval)
            except (OSError, ValueError):  # a line closed under us: the board was replaced
                readable = []
            if self._stop_event.is_set():
                break
            try:
                self.step(readable)
                self._last_error = None
            except Exception as error:  # keep watching; say it once
                message = f"{type(error).__name__}: {error}"
                if message != self._last_error:
                    log.warning("board watcher: %s", message)
                    self._last_error = message

    def _read_edges(self, readable) -> List[Edge]:
        edges: List[Edge] = []
        for line in self._lines:
            fd = line.fileno()
            if fd not in readable:
                continue
            while True:
                try:
                    data = os.read(fd, EVENT_SIZE * 256)
                except BlockingIOError:
                    break
                if not data:
                    break
                edges.extend(Edge(e.timestamp_ns, e.offset, e.value) for e in decode_events(data))
                if len(data) < EVENT_SIZE * 256:
                    break
        edges.sort(key=lambda edge: edge.t_ns)
        return edges

    def step(self, readable=()) -> None:
        """One round: read edges, diff the pins and the parts, publish what changed."""
        if self._wake_r in readable:
            try:
                os.read(self._wake_r, 64)
            except BlockingIOError:
                pass
        if self.source.generation() != self._generation:
            self.resync()
            return
        edges = self._read_edges(readable)
        pins = self.source.pin_states()
        changed = {gpio: pin.as_dict() for gpio, pin in pins.items() if self._pins.get(gpio) != pin}
        self._pins = pins
        parts = [part.as_dict() for part in self.source.parts()]
        parts_changed = parts != self._parts
        self._parts = parts
        if edges or changed or parts_changed:
            skipped = max(0, len(edges) - self.timeline)
            self.hub.publish(changed, parts if parts_changed else None,
                             [edge.as_dict() for edge in edges[skipped:]], skipped)
            self._last_publish = time.monotonic()
            if edges and self.causes is not None:
                self.causes.add(edges[skipped:])

    def poke(self) -> None:
        """Look at the board now (after a write from the page) instead of at the next poll."""
        try:
            os.write(self._wake_w, b"!")
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    board_server: BoardServer


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    server_version = "rpio-board/2"
    server: _HTTPServer

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        log.debug("%s - %s", self.address_string(), format % args)

    # -- helpers -----------------------------------------------------------------------------
    @property
    def board_server(self) -> BoardServer:
        return self.server.board_server

    def _send(self, status: int, body: bytes, content_type: str, extra=()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def _host_ok(self) -> bool:
        allowed = self.board_server.allowed_hosts
        return allowed is None or self.headers.get("Host", "") in allowed

    # -- GET ---------------------------------------------------------------------------------
    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        if not self._host_ok():
            return self._error(HTTPStatus.MISDIRECTED_REQUEST, "unknown Host")
        path = urllib.parse.urlsplit(self.path).path
        if path in _ASSETS:
            name, content_type = _ASSETS[path]
            return self._send(HTTPStatus.OK, _asset(name), content_type)
        if path == "/api/board":
            return self._json(HTTPStatus.OK, self.board_server.hub.snapshot()[1])
        if path == "/api/events":
            return self._events()
        if path == "/api/history.vcd":
            return self._history_vcd()
        self._error(HTTPStatus.NOT_FOUND, f"nothing at {path}")

    def _history_vcd(self) -> None:
        source = self.board_server.source
        if not source.simulated:
            return self._error(HTTPStatus.NOT_FOUND, "a real board keeps no history")
        import io

        from . import vcd

        buffer = io.StringIO()
        vcd.write_vcd(buffer, source.chip().history(),
                      comment=f"RPIO board page: {source.layout.title}")
        self._send(HTTPStatus.OK, buffer.getvalue().encode(), "text/plain; charset=utf-8",
                   [("Content-Disposition", 'attachment; filename="rpio-board.vcd"')])

    def _events(self) -> None:
        streams = self.board_server.streams
        if not streams.acquire(blocking=False):
            return self._error(HTTPStatus.SERVICE_UNAVAILABLE,
                               f"{MAX_STREAMS} pages follow this board already")
        try:
            self._stream()
        finally:
            streams.release()

    def _stream(self) -> None:
        hub = self.board_server.hub
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Accel-Buffering", "no")
        self.end_headers()
        self.close_connection = True
        heartbeat = self.board_server.heartbeat
        try:
            version, snapshot = hub.snapshot()
            self._event("snapshot", version, snapshot, retry=1000)
            while not self.board_server.stopping:
                waited = hub.wait(version, heartbeat)
                if waited.closed:
                    break
                if waited.resync:
                    version, snapshot = hub.snapshot()
                    self._event("snapshot", version, snapshot)
                elif waited.updates:
                    for update in waited.updates:
                        self._event("update", update["v"], update)
                    version = waited.version
                else:
                    self.wfile.write(b": ping\n\n")
                    self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            pass  # the page went away

    def _event(self, name: str, version: int, payload: Dict[str, Any], retry=None) -> None:
        text = f"event: {name}\nid: {version}\n"
        if retry is not None:
            text += f"retry: {retry}\n"
        text += f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"
        self.wfile.write(text.encode())
        self.wfile.flush()

    # -- POST --------------------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802
        if not self._host_ok():
            return self._error(HTTPStatus.MISDIRECTED_REQUEST, "unknown Host")
        origin = self.headers.get("Origin")
        if origin is not None and urllib.parse.urlsplit(origin).netloc != self.headers.get("Host"):
            return self._error(HTTPStatus.FORBIDDEN, "cross-origin writes are refused")
        if self.headers.get_content_type() != "application/json":
            return self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            return self._error(HTTPStatus.BAD_REQUEST, "a JSON body of at most 4 KiB is expected")
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            return self._error(HTTPStatus.BAD_REQUEST, "the body is not JSON")
        if not isinstance(body, dict):
            return self._error(HTTPStatus.BAD_REQUEST, "the body is a JSON object")
        path = urllib.parse.urlsplit(self.path).path
        server = self.board_server
        try:
            if path == "/api/drive":
                level = body.get("level")
                server.source.drive(body.get("gpio"), level)
            elif path == "/api/part":
                name, action = body.get("name"), body.get("action")
                if not isinstance(name, str) or not isinstance(action, str):
                    raise ValueError("name and action are strings")
                server.source.part_action(name, action)
            else:
                return self._error(HTTPStatus.NOT_FOUND, f"nothing to post at {path}")
        except ReadOnlyError as error:
            return self._error(HTTPStatus.FORBIDDEN, str(error))
        except LookupError as error:
            return self._error(HTTPStatus.NOT_FOUND, str(error).strip("'\""))
        except (ValueError, TypeError, RuntimeError) as error:
            return self._error(HTTPStatus.BAD_REQUEST, str(error))
        server.watcher.poke()
        self._json(HTTPStatus.OK, {"ok": True})


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


class BoardServer:
    """The board page for one board source, on ``host:port`` (port 0: any free port).

    ``source`` defaults to the board this process drives (:func:`~.board.current_source`), with
    writes allowed on a real Pi only if ``allow_writes``. ``read_only`` refuses writes to a
    simulated board too.
    """

    def __init__(self, source: Optional[Source] = None, host: str = DEFAULT_HOST,
                 port: int = DEFAULT_PORT, *, allow_writes: bool = False, read_only: bool = False,
                 poll_interval: float = 0.05, timeline: int = 200, heartbeat: float = 10.0):
        self.source = current_source(allow_writes) if source is None else source
        if read_only:
            self.source.writable = False
        self.host, self.requested_port = host, port
        self.hub = Hub(timeline=timeline)
        self.watcher = Watcher(self.source, self.hub, poll_interval=poll_interval,
                               timeline=timeline)
        self.heartbeat = heartbeat
        self.streams = threading.BoundedSemaphore(MAX_STREAMS)
        self.stopping = False
        self._httpd: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._foreground: Optional[threading.Thread] = None
        self.allowed_hosts: Optional[set] = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}/"

    def _bind(self) -> None:
        if self._httpd is not None:
            return
        server_class = _HTTPServer
        if ":" in self.host:
            import socket

            server_class = type("_HTTPServer6", (_HTTPServer,), {"address_family": socket.AF_INET6})
        self._httpd = server_class((self.host, self.requested_port), _Handler)
        self._httpd.board_server = self
        port = self.port
        if _is_loopback(self.host):
            self.allowed_hosts = {f"{name}:{port}" for name in
                                  ("127.0.0.1", "localhost", "[::1]", self.host)}
        elif self.source.writable and not self.source.simulated:
            log.warning("the board page of a real Pi listens on %s with writes allowed: anyone "
                        "who reaches port %d can set its outputs", self.host, port)
        self.watcher.start()
        self.watcher.ready.wait(10)

    def start(self) -> BoardServer:
        """Listen and serve in a background thread; returns at once (self)."""
        self._bind()
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="rpio-board-http", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Listen and serve in this thread until stop() or Ctrl-C."""
        self._bind()
        self._foreground = threading.current_thread()
        try:
            self._httpd.serve_forever(poll_interval=0.1)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.hub.close()
        if self._httpd is not None:
            serving = self._thread or self._foreground
            if serving is not None and serving is not threading.current_thread():
                self._httpd.shutdown()  # returns once serve_forever() has
                if self._thread is not None:
                    self._thread.join(5)
            self._httpd.server_close()
        self.watcher.stop()

    def __enter__(self) -> BoardServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(source: Optional[Source] = None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          **options) -> BoardServer:
    """Start a BoardServer in the background and return it (``server.stop()`` ends it)."""
    return BoardServer(source, host, port, **options).start()


__all__ = ["BoardServer", "DEFAULT_HOST", "DEFAULT_PORT", "Hub", "Watcher", "serve"]
