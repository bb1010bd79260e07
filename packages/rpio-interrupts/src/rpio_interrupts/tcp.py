"""TCP servers and clients served by the interrupt loop.

Decisions (see README.md):

* A message is what one ``recv`` returns (at most ``max_message`` bytes, 64 KiB by default);
  there is no framing, as in RPIO 0.10. It is decoded (UTF-8 with ``surrogateescape`` by
  default, so no byte is lost or raises) and stripped of surrounding whitespace. An empty or
  whitespace-only message, an orderly hang-up or a reset closes the client.
  ``encoding=None`` hands the callback stripped ``bytes`` instead.
* The callback's ``socket`` is a :class:`TcpClient`: ``send``/``sendall`` accept ``str``
  (encoded with the server's encoding, UTF-8 by default) or bytes-like data and never block:
  what the kernel does not take at once is buffered and flushed when the socket is writable.
* Servers bind to ``127.0.0.1`` unless told otherwise (RPIO 0.10 bound every interface, which
  put pin control on the network with no authentication); pass ``bind=''`` for all interfaces.
* Work queued for ``threaded_callback=True`` callbacks (and for coroutine callbacks under
  :mod:`rpio_interrupts.aio`) has a byte budget per client (``max_queued``) and per server
  (``max_queued_total``). A client over budget is not read (its fd leaves EPOLLIN) until its
  queue drains to half; the kernel's socket buffer then fills and TCP flow control slows the
  sender. A client with nothing queued may always have one message queued, so a flood by some
  clients never starves the others.
* At ``max_clients``, a new connection takes the place of the client that has been silent the
  longest, if it has been silent for at least ``idle_timeout`` seconds (one INFO line names it);
  otherwise the newcomer is refused. Idle clients are never closed while there is room.
* ``send`` to a peer that is gone raises ``BrokenPipeError`` (whatever the kernel said:
  EPIPE, ECONNRESET, ...), with the kernel's error as ``__cause__``.
"""

from __future__ import annotations

import errno
import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from .exceptions import TcpSendLimitError

__all__ = [
    "DEFAULT_BIND",
    "DEFAULT_MAX_CLIENTS",
    "DEFAULT_MAX_MESSAGE",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_OUTBUF",
    "DEFAULT_MAX_QUEUED",
    "DEFAULT_MAX_QUEUED_TOTAL",
    "TcpClient",
    "TcpLoop",
    "TcpServer",
]

log = logging.getLogger("RPIO.tcp")

DEFAULT_BIND = "127.0.0.1"
DEFAULT_MAX_CLIENTS = 256
DEFAULT_MAX_MESSAGE = 64 * 1024
DEFAULT_MAX_OUTBUF = 1024 * 1024
DEFAULT_MAX_QUEUED = 256 * 1024          # bytes of queued messages per client
DEFAULT_MAX_QUEUED_TOTAL = 16 * 1024 * 1024  # ... and per server
DEFAULT_IDLE_TIMEOUT = 60.0              # seconds of silence after which a client may be evicted
_TASK_COST = 512  # bytes charged per queued message on top of its length (the objects around it)

_IN = select.EPOLLIN | select.EPOLLRDHUP
_OUT = select.EPOLLOUT
_ACCEPTS_PER_WAKE = 64
_GONE = (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN, errno.ETIMEDOUT, errno.ECONNABORTED,
         errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EBADF)


class TcpLoop(Protocol):
    """What servers and clients need from the loop that polls them (the Interruptor provides it;
    this module never imports the loop: the loop imports it)."""

    def _add_client(self, client: TcpClient) -> None:
        """Register an accepted client (EPOLLIN) and remember it."""

    def _close_client(self, client: TcpClient, reason: str) -> None:
        """Unregister and close a client (idempotent)."""

    def _modify_fd(self, fd: int, mask: int) -> None:
        """Change the epoll mask of a registered fd (errors ignored: it may be gone)."""

    def _dispatch_tcp(self, client: TcpClient, message: Any, nbytes: int) -> None:
        """Hand a received message (``nbytes`` bytes on the wire) to the server's callback."""


class TcpClient:
    """A connected client, as handed to TCP callbacks (the spec's ``socket`` argument).

    ``send(data)`` / ``sendall(data)`` take ``str`` or bytes-like data and never block the loop.
    ``fileno()``, ``getpeername()`` and ``getsockname()`` work as on a socket; ``close()`` is
    ``close_tcp_client(client.fileno())``. The underlying socket is ``client.socket`` (do not read
    from it: the loop does).
    """

    __slots__ = (
        "__weakref__",
        "_closed",
        "_fd",
        "_lock",
        "_loop",
        "_out",
        "_last_rx",
        "_peer",
        "_queued",
        "_reading",
        "_server",
        "_sock",
        "_want_write",
    )

    def __init__(self, loop: TcpLoop, server: TcpServer, sock: socket.socket, peer: Any):
        self._loop = loop
        self._server = server
        self._sock = sock
        self._fd = sock.fileno()
        self._lock = threading.Lock()
        self._out = bytearray()
        self._want_write = False
        self._reading = True      # EPOLLIN wanted (False while over the queue budget)
        self._queued = 0          # bytes of work queued for this client (see _charge)
        self._last_rx = time.monotonic()
        self._closed = False
        self._peer = peer

    # -- socket-like surface ------------------------------------------------------------------
    def fileno(self) -> int:
        """The client's file number (-1 once closed, like a closed socket)."""
        return -1 if self._closed else self._fd

    def getpeername(self) -> Any:
        return self._peer

    def getsockname(self) -> Any:
        return self._sock.getsockname()

    @property
    def socket(self) -> socket.socket:
        """The underlying non-blocking socket (for options; the loop owns reading and writing)."""
        return self._sock

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def port(self) -> int:
        """The server port this client connected to."""
        return self._server.port

    @property
    def pending_output(self) -> int:
        """Bytes accepted by send() and not yet taken by the kernel."""
        return len(self._out)

    @property
    def queued(self) -> int:
        """Bytes of received messages waiting for a threaded or coroutine callback (with a
        per-message overhead; the figure the ``max_queued`` budgets count)."""
        return self._queued

    @property
    def reading(self) -> bool:
        """False while the loop has stopped reading this client (its queue is over budget)."""
        return self._reading

    def send(self, data: str | bytes | bytearray | memoryview) -> int:
        """Queue ``data`` for the client; returns its length in bytes. Never blocks.

        ``str`` is encoded with the server's encoding (UTF-8 by default). Raises
        ``BrokenPipeError`` if the client is closed or the peer is gone (also when the kernel
        reports a reset: the kernel's error is the ``__cause__``; the client is then closed), and
        :class:`TcpSendLimitError` (a BrokenPipeError; the client is then closed) if more than
        the server's ``max_outbuf`` bytes would wait for a slow reader.
        """
        payload = self._encode(data)
        total = len(payload)
        failure: BaseException | None = None
        with self._lock:
            if self._closed:
                raise BrokenPipeError(errno.EPIPE, f"TCP client {self._fd} is closed")
            view = memoryview(payload)
            if not self._out:
                try:
                    sent = self._sock.send(view)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError as exc:
                    failure = BrokenPipeError(
                        errno.EPIPE, f"TCP client {self._fd}: the peer is gone "
                        f"({exc.strerror or exc}); client closed")
                    failure.__cause__ = exc
                    sent = total
                view = view[sent:]
            if failure is None and len(view):
                limit = self._server.max_outbuf
                if len(self._out) + len(view) > limit:
                    failure = TcpSendLimitError(
                        errno.EPIPE,
                        f"TCP client {self._fd} on port {self._server.port}: more than {limit} "
                        f"bytes of output waiting for a slow reader; client closed")
                else:
                    self._out += view
                    if not self._want_write:
                        self._want_write = True
                        self._loop._modify_fd(self._fd, self._mask())
        if failure is not None:
            if isinstance(failure, TcpSendLimitError):
                log.warning("%s", failure)
            else:
                log.debug("TCP client %s: send failed: %s", self._fd, failure.__cause__)
            self._loop._close_client(self, reason="send failed")
            raise failure
        return total

    def sendall(self, data: str | bytes | bytearray | memoryview) -> None:
        """Like :meth:`send` (which already queues everything); returns None like socket.sendall."""
        self.send(data)

    def close(self) -> None:
        """Close this client (same as ``close_tcp_client(client.fileno())``; idempotent)."""
        self._loop._close_client(self, reason="closed by callback")

    def _encode(self, data: Any) -> bytes | bytearray | memoryview:
        if isinstance(data, str):
            return data.encode(self._server.encoding or "utf-8", "surrogateescape")
        if isinstance(data, (bytes, bytearray, memoryview)):
            return data
        raise TypeError(f"send() takes str or a bytes-like object, not {type(data).__name__}")

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"fd={self._fd}"
        return f"<TcpClient {state} peer={self._peer!r} port={self._server.port}>"

    # -- loop side ----------------------------------------------------------------------------
    def _mask(self) -> int:
        """The epoll mask this client needs now (caller holds self._lock)."""
        return (_IN if self._reading else 0) | (_OUT if self._want_write else 0)

    def on_ready(self, mask: int) -> None:
        if mask & _OUT:
            self._flush()
        if mask & (select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR):
            if self._reading:
                self._read()
            elif mask & (select.EPOLLHUP | select.EPOLLERR) and not self._closed:
                # not reading (over budget), and the connection is dead: nothing can reach it
                self._loop._close_client(self, reason="reset while over its queue budget")

    def _read(self) -> None:
        if self._closed:
            return
        server = self._server
        try:
            data = self._sock.recv(server.max_message)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.debug("TCP client %s: %s", self._fd, exc)
            self._loop._close_client(self, reason=f"error ({exc.strerror or exc})")
            return
        if not data:
            self._loop._close_client(self, reason="hang-up")
            return
        self._last_rx = time.monotonic()
        message: str | bytes
        if server.encoding is None:
            message = data.strip()
        else:
            message = data.decode(server.encoding, "surrogateescape").strip()
        if not message:
            self._loop._close_client(self, reason="empty message")
            return
        self._loop._dispatch_tcp(self, message, len(data))

    # -- the queue budget (threaded and coroutine callbacks) -------------------------------------
    def _charge(self, nbytes: int) -> int:
        """Account for one queued message of ``nbytes``; stop reading this client if it or its
        server is over budget. Returns the cost to pass to :meth:`_discharge` once it ran."""
        cost = nbytes + _TASK_COST
        server = self._server
        with server._budget_lock:
            self._queued += cost
            server.queued_total += cost
            if self._queued >= server.max_queued or server.queued_total >= server.max_queued_total:
                if self._reading:
                    server._paused_clients.add(self)
                    self._set_reading(False)
        return cost

    def _discharge(self, cost: int) -> None:
        """The queued message that cost ``cost`` has been handled (any thread)."""
        server = self._server
        with server._budget_lock:
            self._queued -= cost
            server.queued_total -= cost
            paused = server._paused_clients
            if not paused:
                return
            half_total = server.queued_total <= server.max_queued_total // 2
            half_client = server.max_queued // 2
            for client in ([*paused] if half_total else [self] if self in paused else ()):
                if client._queued <= half_client and (half_total or client._queued == 0):
                    paused.discard(client)
                    client._set_reading(True)

    def _set_reading(self, on: bool) -> None:
        """Add or remove EPOLLIN (server budget lock held)."""
        with self._lock:
            if self._closed or self._reading == on:
                return
            self._reading = on
            self._loop._modify_fd(self._fd, self._mask())
        if not on:
            log.debug("TCP client %s: %s bytes queued; not reading it until they drain",
                      self._fd, self._queued)

    def _flush(self) -> None:
        gone: OSError | None = None
        with self._lock:
            if self._closed:
                return
            out = self._out
            while out:
                try:
                    sent = self._sock.send(out)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:
                    gone = exc
                    break
                del out[:sent]
            if gone is None and not out and self._want_write:
                self._want_write = False
                self._loop._modify_fd(self._fd, self._mask())
        if gone is not None:
            log.debug("TCP client %s: %s", self._fd, gone)
            self._loop._close_client(self, reason=f"error ({gone.strerror or gone})")

    def _shut(self) -> None:
        """Close the socket (the loop has unregistered it). Caller holds the loop lock."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._out.clear()
            self._sock.close()
        server = self._server
        with server._budget_lock:
            server._paused_clients.discard(self)


class _Charged:
    """An awaitable returned by a TCP callback, queued for the asyncio loop: its message stays
    charged to the client's budget until it has been awaited (or discarded)."""

    __slots__ = ("_awaitable", "_client", "_cost")

    def __init__(self, awaitable: Any, client: TcpClient, cost: int):
        self._awaitable = awaitable
        self._client: TcpClient | None = client
        self._cost = cost

    def __await__(self):
        try:
            return (yield from self._awaitable.__await__())
        finally:
            self._release()

    def close(self) -> None:
        close = getattr(self._awaitable, "close", None)
        if close is not None:
            close()
        self._release()

    def _release(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client._discharge(self._cost)

    def __repr__(self) -> str:
        return repr(self._awaitable)


class TcpServer:
    """A listening socket registered with the loop, and its clients."""

    __slots__ = (
        "__weakref__",
        "_budget_lock",
        "_limit_logged",
        "_loop",
        "_paused",
        "_paused_clients",
        "bind",
        "callback",
        "clients",
        "encoding",
        "fd",
        "idle_timeout",
        "max_clients",
        "max_message",
        "max_outbuf",
        "max_queued",
        "max_queued_total",
        "port",
        "queued_total",
        "sock",
        "threaded",
    )

    def __init__(self, loop: TcpLoop, sock: socket.socket, *, bind: str,
                 callback: Callable[..., Any], threaded: bool, encoding: str | None,
                 max_clients: int, max_message: int, max_outbuf: int,
                 max_queued: int = DEFAULT_MAX_QUEUED,
                 max_queued_total: int = DEFAULT_MAX_QUEUED_TOTAL,
                 idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT):
        self._loop = loop
        self.sock = sock
        self.fd = sock.fileno()
        self.port = sock.getsockname()[1]
        self.bind = bind
        self.callback = callback
        self.threaded = threaded
        self.encoding = encoding
        self.max_clients = max_clients
        self.max_message = max_message
        self.max_outbuf = max_outbuf
        self.max_queued = max_queued
        self.max_queued_total = max_queued_total
        self.idle_timeout = idle_timeout
        self.queued_total = 0
        self._budget_lock = threading.Lock()
        self._paused_clients: set[TcpClient] = set()
        self.clients: dict[int, TcpClient] = {}
        self._limit_logged = False
        self._paused = False

    def on_ready(self, mask: int) -> None:
        for _ in range(_ACCEPTS_PER_WAKE):
            try:
                sock, peer = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    # Out of descriptors: stop listening until a client leaves, or the loop
                    # would spin on a listener it cannot accept from.
                    log.warning("TCP port %s: cannot accept (%s); pausing until a client closes",
                                self.port, exc.strerror)
                    self._paused = True
                    self._loop._modify_fd(self.fd, 0)
                elif exc.errno not in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                    log.warning("TCP port %s: accept failed: %s", self.port, exc)
                return
            if len(self.clients) >= self.max_clients and not self._evict_idlest():
                sock.close()
                if not self._limit_logged:
                    self._limit_logged = True
                    log.warning("TCP port %s: client limit of %s reached; refusing new "
                                "connections until one closes", self.port, self.max_clients)
                continue
            sock.setblocking(False)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover - not every family supports it
                pass
            self._loop._add_client(TcpClient(self._loop, self, sock, peer))

    def _evict_idlest(self) -> bool:
        """At the client limit: close the client silent the longest (among those with no queued
        work) if it has been silent for ``idle_timeout`` seconds, making room for a newcomer.
        True if one was closed."""
        if self.idle_timeout is None:
            return False
        # a client with queued work is busy, not idle (it may be held back by its budget)
        candidates = [c for c in self.clients.values() if not c._queued]
        if not candidates:
            return False
        idlest = min(candidates, key=lambda c: c._last_rx)
        silent = time.monotonic() - idlest._last_rx
        if silent < self.idle_timeout:
            return False
        log.info("TCP port %s: closing client %s (%s), silent for %.1f s, to make room for a new "
                 "connection (client limit %s, idle_timeout %s s)", self.port, idlest._fd,
                 idlest._peer, silent, self.max_clients, self.idle_timeout)
        self._loop._close_client(idlest, reason="idle, evicted for a new client")
        return len(self.clients) < self.max_clients

    def client_left(self) -> None:
        """Called (loop lock held) after one of this server's clients was removed."""
        if len(self.clients) < self.max_clients:
            self._limit_logged = False

    def resume(self) -> None:
        """Listen again after an out-of-descriptors pause (loop lock held)."""
        if self._paused:
            self._paused = False
            self._loop._modify_fd(self.fd, select.EPOLLIN)

    def __repr__(self) -> str:
        return f"<TcpServer {self.bind or '*'}:{self.port} clients={len(self.clients)}>"
