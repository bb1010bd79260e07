"""paho-mqtt 2 run on the asyncio loop: no thread of paho's own, one thread for everything.

paho's socket is registered with the running loop (``add_reader``); paho writes a packet at once
when it is queued from outside one of its callbacks, and whatever it could not write yet is
written when the socket becomes writable. ``connect``/``reconnect`` (a blocking TCP connect and
TLS handshake) run in an executor thread; while they do, nothing else touches the client.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading

log = logging.getLogger("RPIO.mqtt")


class LoopAdapter:
    """Drives one paho ``Client`` from an asyncio loop."""

    def __init__(self, client, loop: asyncio.AbstractEventLoop):
        self.client, self.loop = client, loop
        self._loop_thread = threading.get_ident()
        self._sock = None
        self._writing = False
        self._misc_task = None
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close

    # -- sockets (paho calls these; from the executor thread while connecting) ----------------
    def _in_loop(self, function, *args) -> None:
        if threading.get_ident() == self._loop_thread:
            function(*args)
        else:
            self.loop.call_soon_threadsafe(function, *args)

    def _on_socket_open(self, client, userdata, sock) -> None:
        self._in_loop(self._watch, sock)

    def _on_socket_close(self, client, userdata, sock) -> None:
        self._in_loop(self._unwatch, sock)

    def drop_wakeup_pair(self) -> None:
        """paho (2.x) makes a socket pair at each connect to wake its own network thread, and
        writes a byte into it before every packet it queues. There is no such thread here, so
        that write is a wasted system call on the edge path, ahead of the real one: close the
        pair (paho checks for None before using it). Called on the loop once connect() or
        reconnect() has returned in the executor, so paho is not using it meanwhile."""
        client = self.client
        for name in ("_sockpairR", "_sockpairW"):
            pair_end = getattr(client, name, None)
            if pair_end is not None:
                pair_end.close()
                setattr(client, name, None)

    def _watch(self, sock) -> None:
        if sock.fileno() < 0:
            return  # closed before the loop got to it
        self._sock = sock
        try:  # a state message is small and urgent: no waiting to coalesce it (Nagle)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):  # pragma: no cover - not a TCP socket
            pass
        self.loop.add_reader(sock, self._readable)
        self.kick()

    def _unwatch(self, sock) -> None:
        if self._sock is not sock:
            return
        self._sock = None
        self._writing = False
        for remove in (self.loop.remove_reader, self.loop.remove_writer):
            try:
                remove(sock)
            except (ValueError, OSError):  # pragma: no cover - already gone
                pass

    def _readable(self) -> None:
        sock = self._sock
        self.client.loop_read()
        # TLS may hold whole records in its buffer, where the selector cannot see them
        while self._sock is sock and isinstance(sock, ssl.SSLSocket) and sock.pending():
            self.client.loop_read()
        self.kick()

    def _writable(self) -> None:
        self.client.loop_write()
        self.kick()

    def kick(self) -> None:
        """Write what paho could not write at once (or queued inside a callback)."""
        sock = self._sock
        if sock is None:
            return
        want = self.client.want_write()
        if want and not self._writing:
            self.loop.add_writer(sock, self._writable)
            self._writing = True
        elif not want and self._writing:
            self.loop.remove_writer(sock)
            self._writing = False
        if want and not self._writing:  # pragma: no cover
            self.client.loop_write()

    # -- keepalive ----------------------------------------------------------------------------
    def start_misc(self, busy) -> None:
        """Call paho's loop_misc (keepalive pings, a dead broker noticed) once a second, except
        while ``busy()`` (a connect in the executor)."""

        async def tick():
            while True:
                await asyncio.sleep(1.0)
                if not busy() and self._sock is not None:
                    self.client.loop_misc()
                    self.kick()

        self._misc_task = self.loop.create_task(tick())

    def stop_misc(self) -> None:
        if self._misc_task is not None:
            self._misc_task.cancel()
            self._misc_task = None
