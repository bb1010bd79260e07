"""The board page: an HTTP server (standard library only) with live updates by server-sent events.

::

    from RPIO.workbench.server import BoardServer
    with BoardServer(port=0) as server:       # the board this process drives; port 0: any free one
        print(server.url)                     # http://127.0.0.1:PORT/
        ...                                   # the script runs; the page follows it

``rpio sim serve`` runs the same server in the foreground. What it serves:

``GET /``                  the page (``static/index.html``, ``board.css``, ``board.js``)
``GET /api/board``         one snapshot (JSON): the layout, every pin (with the consumer holding it
                           for edge detection), the parts, the wires, recent edges
``GET /api/events``        server-sent events: ``snapshot`` first, then ``update`` with what
                           changed (pins, parts, new edges), ``: ping`` comments when idle
``GET /api/history``       the timeline's feed: level changes since ``since_ns`` from the board's
                           history, and whether they are complete
``GET /api/history.vcd``   the board's history as a VCD file (simulated board)
``POST /api/drive``        ``{"gpio": 17, "level": 0 | 1 | null}``: drive a pin (null releases)
``POST /api/part``         ``{"name": "bell", "action": "press" | "release" | "click" | ...}``

A watcher thread follows the board: edge records on the simulated chip's event lines wake it at
once (the edge path the interrupts use, so a change made by another process sharing the board
shows too), and it polls every ``poll_interval`` seconds for what makes no edge (a pin becoming an
output, a pull, a part's state). On a real Pi it only polls the registers, and the page is
read-only unless the server was started with ``allow_writes``.

Safety (``docs/workbench.md`` has the reasons):

- The server listens on 127.0.0.1 unless told otherwise.
- Every request must name this server in its Host header (no DNS rebinding, whatever the bind):
  ``localhost``/``127.0.0.1``/``[::1]`` for a loopback bind; otherwise the bound address, this
  machine's names (``hostname``, its FQDN, ``hostname.local``) and those given with
  ``allow_hosts`` (``--allow-host``); a wildcard bind (0.0.0.0, ::) accepts any IP literal too.
  Anything else gets 421.
- A write is a JSON POST whose Origin, if it has one, is this page's own (no cross-site writes).
- At most ``max_connections`` connections are served at once (one thread each; beyond that a
  new connection gets 503 and is closed), a request (line, headers, body) must arrive whole
  within ``request_timeout`` seconds and each socket write may take as long, a body is at most
  4 KiB and 16 levels deep, and a client going away is one debug log line, never a traceback.
"""

from __future__ import annotations

import collections
import io
import ipaddress
import json
import logging
import os
import select
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Deque, Dict, List, Optional, Sequence, Tuple

from rpio_interrupts._threads import start_signal_free
from rpio_interrupts.event import EVENT_SIZE, decode_events

from .board import Edge, ReadOnlyError, Source, current_source

log = logging.getLogger("RPIO.workbench")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_BODY = 4096
MAX_JSON_DEPTH = 16  # nesting of a request body ({"gpio": 17, "level": 1} is 1)
MAX_STREAMS = 32  # pages following the board at once (each holds a thread)
HISTORY_LIMIT = 20000  # level changes in one /api/history answer
MAX_CONNECTIONS = 64  # connections served at once (each holds a thread); more get 503
REQUEST_TIMEOUT = 10.0  # seconds a socket read or write may take before the connection is closed
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
        self.wires: List[List[int]] = []
        self.edges: Deque[Dict[str, Any]] = collections.deque(maxlen=timeline)

    def reset(self, board: Dict[str, Any], pins: Dict[int, Dict[str, Any]],
              parts: List[Dict[str, Any]], edges: List[Dict[str, Any]],
              wires: Optional[List[List[int]]] = None) -> None:
        with self._cond:
            self.board, self.pins, self.parts = board, dict(pins), list(parts)
            self.wires = list(wires or [])
            self.edges.clear()
            self.edges.extend(edges)
            self.version += 1
            self._base = self.version
            self._log.clear()
            self._cond.notify_all()

    def publish(self, pins: Dict[int, Dict[str, Any]], parts: Optional[List[Dict[str, Any]]],
                edges: List[Dict[str, Any]], skipped: int = 0,
                wires: Optional[List[List[int]]] = None) -> int:
        with self._cond:
            self.pins.update(pins)
            if parts is not None:
                self.parts = list(parts)
            if wires is not None:
                self.wires = list(wires)
            self.edges.extend(dict(edge) for edge in edges)  # patched with causes later
            self.version += 1
            update: Dict[str, Any] = {"v": self.version, "now_ns": time.monotonic_ns(),
                                      "pins": {str(gpio): pin for gpio, pin in pins.items()},
                                      "edges": edges}
            if parts is not None:
                update["parts"] = parts
            if wires is not None:
                update["wires"] = wires
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
                "wires": self.wires,
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
        self._wires: List[List[int]] = []
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
        self._wires = [list(wire) for wire in source.wires()]
        edges = [edge.as_dict() for edge in source.recent_edges(self.timeline)]
        self.hub.reset(self.board_description(),
                       {gpio: pin.as_dict() for gpio, pin in self._pins.items()},
                       self._parts, edges, self._wires)

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
        wires = [list(wire) for wire in self.source.wires()]
        wires_changed = wires != self._wires
        self._wires = wires
        if edges or changed or parts_changed or wires_changed:
            skipped = max(0, len(edges) - self.timeline)
            self.hub.publish(changed, parts if parts_changed else None,
                             [edge.as_dict() for edge in edges[skipped:]], skipped,
                             wires if wires_changed else None)
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
    """ThreadingHTTPServer with a bound on the threads: a connection beyond ``max_connections``
    gets a 503 at once and is closed (no thread is made for it)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # a burst of connections is answered (served or 503), not dropped
    board_server: BoardServer

    def process_request(self, request, client_address) -> None:
        self.board_server.accepted_connections += 1
        if not self.board_server.connections.acquire(blocking=False):
            self.board_server.refused_connections += 1
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread was started: give the slot back
            self.board_server.connections.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.board_server.connections.release()

    def handle_error(self, request, client_address) -> None:
        """A client that goes away or stalls is one debug line; anything else one warning with
        its traceback (a bug of ours, never a client's doing)."""
        import sys

        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError, socket.timeout)):
            log.debug("client %s: %s", client_address[0], type(error).__name__)
            return
        log.warning("request from %s failed", client_address[0], exc_info=True)


_BUSY_BODY = b'{"error": "too many connections: try again later"}'
_BUSY = (b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
         b"Connection: close\r\nRetry-After: 1\r\nContent-Length: %d\r\n\r\n%s"
         % (len(_BUSY_BODY), _BUSY_BODY))


def _refuse_busy(request) -> None:
    try:
        request.setblocking(False)
        request.send(_BUSY)
    except OSError:
        pass


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _ip_literal(name: str) -> Optional[str]:
    """The normalized address of an IP literal ('127.0.0.1', '::1'), None for a name."""
    try:
        return str(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        return None


def split_host(value: str) -> Tuple[str, Optional[int]]:
    """('name', port or None) of a Host header or an Origin's netloc; ValueError if malformed."""
    value = value.strip()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(value)
        port_text = rest[1:] if rest else None
        if _ip_literal(name) is None:
            raise ValueError(value)
    else:
        name, colon, port_text = value.rpartition(":")
        if not colon:
            name, port_text = value, None
        if ":" in name:  # an IPv6 address without brackets is not a valid Host
            raise ValueError(value)
    if not name:
        raise ValueError(value)
    port = None
    if port_text is not None:
        if not port_text.isdigit() or len(port_text) > 5:
            raise ValueError(value)
        port = int(port_text)
    return name.lower().rstrip("."), port


def machine_names() -> List[str]:
    """This machine's names a browser on the network may use for it."""
    names = set()
    try:
        hostname = socket.gethostname()
        names.update({hostname, f"{hostname.split('.')[0]}.local"})
        names.add(socket.getfqdn())
    except OSError:  # pragma: no cover - a machine without a name
        pass
    names = {name.lower().rstrip(".") for name in names if name}
    return sorted(name for name in names if not name.startswith("localhost"))


class HostPolicy:
    """Which names a request's Host (and a write's Origin) may carry for a server bound to
    ``bind`` on ``port``."""

    LOOPBACK = ("localhost", "127.0.0.1", "::1")

    def __init__(self, bind: str, port: int, allow_hosts=()):
        self.port = port
        self.any_ip = _is_wildcard(bind)
        names = {name.lower().rstrip(".") for name in allow_hosts}
        if _is_loopback(bind) or self.any_ip:
            names.update(self.LOOPBACK)
        if not _is_loopback(bind):
            names.update(machine_names())
        bound = _ip_literal(bind)
        names.add(bound if bound is not None else bind.lower().rstrip("."))
        self.names = frozenset(_ip_literal(name) or name for name in names)

    def allows(self, value: Optional[str]) -> bool:
        if not value:
            return False
        try:
            name, port = split_host(value)
        except ValueError:
            return False
        if (port if port is not None else 80) != self.port:
            return False
        literal = _ip_literal(name)
        if literal is not None:
            return literal in self.names or self.any_ip
        return name in self.names


def json_depth(data: bytes) -> int:
    """How deep arrays and objects nest in a JSON text (strings skipped), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


class _DeadlineReader(io.RawIOBase):
    """A socket's reading side that ends (TimeoutError) ``seconds`` after it was made, however
    the bytes arrive: the deadline of one request."""

    def __init__(self, sock: socket.socket, seconds: float):
        self._sock, self._seconds = sock, seconds
        self._deadline = time.monotonic() + seconds

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request took longer than its deadline")
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv_into(buffer)
        finally:
            self._sock.settimeout(self._seconds)  # writes (a page's stream) keep their own


class _Handler(BaseHTTPRequestHandler):
    server_version = "rpio-board/2"
    server: _HTTPServer

    def setup(self) -> None:
        self.timeout = self.server.board_server.request_timeout  # every read and write
        super().setup()
        # the whole request (line, headers, body) within request_timeout, however slowly it
        # trickles in: a client sending a byte now and then cannot keep its thread for ever
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, self.timeout))

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
        self.close_connection = True
        self._json(status, {"error": message})

    def _host_ok(self) -> bool:
        return self.board_server.host_policy.allows(self.headers.get("Host"))

    def _origin_ok(self) -> bool:
        """A write's Origin, if any, is this page: an allowed host, the same as the Host."""
        origin = self.headers.get("Origin")
        if origin is None:
            return True  # not a browser (curl, a script): nothing cross-site about it
        parts = urllib.parse.urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False  # "null" (a sandboxed frame, a file:// page) and the like
        try:  # the Host passed the allow-list already: the Origin must be that very host
            return split_host(parts.netloc) == split_host(self.headers.get("Host", ""))
        except ValueError:
            return False

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
        if path == "/api/history":
            return self._history()
        self._error(HTTPStatus.NOT_FOUND, f"nothing at {path}")

    def _history(self) -> None:
        """The board's level changes since ``since_ns`` (newest ``limit``, at most 20000), for the
        timeline: ``{now_ns, edges, complete, from_ns}``. ``complete``: no change after
        ``since_ns`` is missing (the ring still reached back, the limit was not hit); ``from_ns``:
        the oldest change the ring still holds once it has wrapped (None: it holds every change
        since the board started or its history was cleared)."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        try:
            since_ns = int(query.get("since_ns", ["0"])[0])
            limit = int(query.get("limit", [str(HISTORY_LIMIT)])[0])
        except ValueError:
            return self._error(HTTPStatus.BAD_REQUEST, "since_ns and limit are integers")
        if not 0 < limit <= HISTORY_LIMIT:
            return self._error(HTTPStatus.BAD_REQUEST, f"limit is 1 to {HISTORY_LIMIT}")
        found = self.board_server.history_since(since_ns, limit)
        self._send(HTTPStatus.OK, json.dumps(found, separators=(",", ":")).encode(),
                   "application/json")

    def _history_vcd(self) -> None:
        source = self.board_server.source
        if not source.simulated:
            return self._error(HTTPStatus.NOT_FOUND, "a real board keeps no history")
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
        if not self._origin_ok():
            return self._error(HTTPStatus.FORBIDDEN, "cross-origin writes are refused")
        if self.headers.get_content_type() != "application/json":
            return self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON")
        if self.headers.get("Transfer-Encoding") is not None:
            return self._error(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length, not chunks")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            return self._error(HTTPStatus.BAD_REQUEST if length <= 0
                               else HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"a JSON body of at most {MAX_BODY} bytes is expected")
        data = self.rfile.read(length)
        if len(data) != length:
            self.close_connection = True
            return  # the client went away mid-body
        if json_depth(data) > MAX_JSON_DEPTH:
            return self._error(HTTPStatus.BAD_REQUEST,
                               f"the body nests deeper than {MAX_JSON_DEPTH} levels")
        try:
            body = json.loads(data)
        except (ValueError, RecursionError):
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
                 poll_interval: float = 0.05, timeline: int = 200, heartbeat: float = 10.0,
                 allow_hosts: Sequence[str] = (), max_connections: int = MAX_CONNECTIONS,
                 request_timeout: float = REQUEST_TIMEOUT):
        self.source = current_source(allow_writes) if source is None else source
        if read_only:
            self.source.writable = False
        self.host, self.requested_port = host, port
        self.hub = Hub(timeline=timeline)
        self.watcher = Watcher(self.source, self.hub, poll_interval=poll_interval,
                               timeline=timeline)
        self.heartbeat = heartbeat
        self.streams = threading.BoundedSemaphore(min(MAX_STREAMS, max(1, max_connections - 1)))
        self.connections = threading.BoundedSemaphore(max_connections)
        self.accepted_connections = 0  # every connection taken from the listen queue
        self.refused_connections = 0  # those answered 503 (no thread was free)
        self.request_timeout = request_timeout
        self.allow_hosts = tuple(allow_hosts)
        for name in self.allow_hosts:
            try:
                split_host(name)
            except ValueError:
                raise ValueError(f"--allow-host {name!r} is not a host name") from None
        self.stopping = False
        self._httpd: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._foreground: Optional[threading.Thread] = None
        self.host_policy: Optional[HostPolicy] = None
        self._history_lock = threading.Lock()
        self._history_cache: Tuple[int, list, bool] = (0, [], False)

    def history_since(self, since_ns: int, limit: int) -> Dict[str, Any]:
        """The timeline's feed (see /api/history). One copy of the history ring serves every page
        asking within 100 ms (a full ring takes milliseconds to copy)."""
        now = time.monotonic_ns()
        with self._history_lock:
            cached_at, entries, wrapped = self._history_cache
            if now - cached_at > 100_000_000:
                entries, wrapped = self.source.history()
                self._history_cache = (now, entries, wrapped)
        import bisect

        start = bisect.bisect_right(entries, since_ns, key=lambda entry: entry[0])
        newer = entries[start:]
        complete = len(newer) <= limit and (not wrapped or not entries or since_ns >= entries[0][0])
        newer = newer[-limit:]
        return {"now_ns": time.monotonic_ns(),
                "edges": [{"t_ns": e[0], "gpio": e[1], "level": e[2]} for e in newer],
                "complete": complete,
                "from_ns": entries[0][0] if wrapped and entries else None}

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
            server_class = type("_HTTPServer6", (_HTTPServer,), {"address_family": socket.AF_INET6})
        self._httpd = server_class((self.host, self.requested_port), _Handler)
        self._httpd.board_server = self
        port = self.port
        self.host_policy = HostPolicy(self.host, port, self.allow_hosts)
        if not _is_loopback(self.host) and self.source.writable and not self.source.simulated:
            log.warning("the board page of a real Pi listens on %s with writes allowed: anyone "
                        "who reaches port %d can set its outputs", self.host, port)
        start_signal_free(self.watcher)  # and its cause finder, started from there
        self.watcher.ready.wait(10)

    def start(self) -> BoardServer:
        """Listen and serve in a background thread; returns at once (self)."""
        self._bind()
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="rpio-board-http", daemon=True)
        start_signal_free(self._thread)
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
