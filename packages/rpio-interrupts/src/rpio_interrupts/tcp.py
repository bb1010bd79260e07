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
"""

from __future__ import annotations

import errno
import logging
import select
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .exceptions import TcpSendLimitError

if TYPE_CHECKING:  # pragma: no cover
    from .loop import Interruptor

__all__ = [
    "DEFAULT_BIND",
    "DEFAULT_MAX_CLIENTS",
    "DEFAULT_MAX_MESSAGE",
    "DEFAULT_MAX_OUTBUF",
    "TcpClient",
    "TcpServer",
]

log = logging.getLogger("RPIO.tcp")

DEFAULT_BIND = "127.0.0.1"
DEFAULT_MAX_CLIENTS = 256
DEFAULT_MAX_MESSAGE = 64 * 1024
DEFAULT_MAX_OUTBUF = 1024 * 1024

_IN = select.EPOLLIN | select.EPOLLRDHUP
_OUT = select.EPOLLOUT
_ACCEPTS_PER_WAKE = 64
_GONE = (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN, errno.ETIMEDOUT, errno.ECONNABORTED,
         errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EBADF)


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
        "_peer",
        "_server",
        "_sock",
        "_want_write",
    )

    def __init__(self, loop: Interruptor, server: TcpServer, sock: socket.socket, peer: Any):
        self._loop = loop
        self._server = server
        self._sock = sock
        self._fd = sock.fileno()
        self._lock = threading.Lock()
        self._out = bytearray()
        self._want_write = False
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

    def send(self, data: str | bytes | bytearray | memoryview) -> int:
        """Queue ``data`` for the client; returns its length in bytes. Never blocks.

        ``str`` is encoded with the server's encoding (UTF-8 by default). Raises
        ``BrokenPipeError`` if the client is closed or the peer is gone, and
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
                    failure = exc
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
                        self._loop._modify_fd(self._fd, _IN | _OUT)
        if failure is not None:
            if isinstance(failure, TcpSendLimitError):
                log.warning("%s", failure)
            else:
                log.debug("TCP client %s: send failed: %s", self._fd, failure)
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
    def on_ready(self, mask: int) -> None:
        if mask & _OUT:
            self._flush()
        if mask & (select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR):
            self._read()

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
        message: str | bytes
        if server.encoding is None:
            message = data.strip()
        else:
            message = data.decode(server.encoding, "surrogateescape").strip()
        if not message:
            self._loop._close_client(self, reason="empty message")
            return
        self._loop._dispatch_tcp(self, message)

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
                self._loop._modify_fd(self._fd, _IN)
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


class TcpServer:
    """A listening socket registered with the loop, and its clients."""

    __slots__ = (
        "__weakref__",
        "_limit_logged",
        "_loop",
        "_paused",
        "bind",
        "callback",
        "clients",
        "encoding",
        "fd",
        "max_clients",
        "max_message",
        "max_outbuf",
        "port",
        "sock",
        "threaded",
    )

    def __init__(self, loop: Interruptor, sock: socket.socket, *, bind: str,
                 callback: Callable[..., Any], threaded: bool, encoding: str | None,
                 max_clients: int, max_message: int, max_outbuf: int):
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
            if len(self.clients) >= self.max_clients:
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
