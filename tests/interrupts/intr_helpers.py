"""Helpers for the rpio-interrupts tests.

The loop is driven by :class:`PipeProvider`, a line provider that behaves like the kernel's
uAPI v2 as far as the loop can tell: one request per line (a second is EBUSY), edge filtering by
the request, and 48-byte ``gpio_v2_line_event`` records written into a pipe the loop polls. The
test decides each event's timestamp, so debounce and bouncetime are tested on exact times
without sleeping.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
import time

from rpio_interrupts.event import EDGE_FALLING, EDGE_RISING, encode_event
from rpio_interrupts.provider import BIASES, EDGES

WAIT = 5.0  # seconds; the upper bound of every handshake in these tests


class PipeLine:
    """A requested line: the loop reads the pipe's read end."""

    def __init__(self, provider: PipeProvider, gpio: int, edge: str, bias: str, consumer: str):
        self.provider = provider
        self.gpio = gpio
        self.edge = edge
        self.bias = bias
        self.consumer = consumer
        self._r, self._w = os.pipe2(os.O_CLOEXEC)
        self.closed = False
        self.seqno = 0

    def fileno(self) -> int:
        if self.closed:
            raise ValueError("line released")
        return self._r

    def get_value(self) -> int:
        return self.provider.levels.get(self.gpio, 0)

    def close(self) -> None:
        with self.provider.lock:
            if self.closed:
                return
            self.closed = True
            os.close(self._r)
            os.close(self._w)
            if self.provider.active.get(self.gpio) is self:
                del self.provider.active[self.gpio]
            self.provider.released.append(self.gpio)

    def wants(self, event_id: int) -> bool:
        return self.edge == "both" or (self.edge == "rising") == (event_id == EDGE_RISING)


class PipeProvider:
    """Line provider for tests: requests are recorded, edges are written as event records."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.active: dict[int, PipeLine] = {}
        self.requests: list[tuple[int, str, str, str]] = []
        self.released: list[int] = []
        self.levels: dict[int, int] = {}
        self.fail_next: dict[int, BaseException] = {}
        self.line_seq: dict[int, int] = {}
        self.granted: list[int] = []  # gpios, in the order their lines were granted
        self.hooks: list = []  # hook(gpio), called in the requesting thread once a line is granted
        self._clock = 1_000_000_000

    def request(self, gpio: int, *, edge: str, bias: str, consumer: str) -> PipeLine:
        if edge not in EDGES:
            raise ValueError(f"bad edge {edge!r}")
        if bias not in BIASES:
            raise ValueError(f"bad bias {bias!r}")
        with self.lock:
            failure = self.fail_next.pop(gpio, None)
            if failure is not None:
                raise failure
            holder = self.active.get(gpio)
            if holder is not None:
                raise OSError(errno.EBUSY, f"gpio {gpio} is busy (held by {holder.consumer!r})")
            line = PipeLine(self, gpio, edge, bias, consumer)
            self.active[gpio] = line
            self.requests.append((gpio, edge, bias, consumer))
        self.granted.append(gpio)
        for hook in list(self.hooks):
            hook(gpio)
        return line

    def close_all(self) -> None:
        """Release every line still held (the fixtures' teardown)."""
        for line in list(self.active.values()):
            line.close()

    # -- driving edges ------------------------------------------------------------------------
    def now(self) -> int:
        with self.lock:
            self._clock += 1_000
            return self._clock

    def record(self, gpio: int, event_id: int, ts_ns: int | None = None) -> bytes | None:
        """The record the kernel would queue for this edge, or None if the request filters it."""
        with self.lock:
            self.levels[gpio] = 1 if event_id == EDGE_RISING else 0
            line = self.active.get(gpio)
            if line is None or not line.wants(event_id):
                return None
            line.seqno += 1
            self.line_seq[gpio] = self.line_seq.get(gpio, 0) + 1
            ts = self.now() if ts_ns is None else ts_ns
            return encode_event(ts, event_id, gpio, line.seqno, self.line_seq[gpio])

    def write(self, gpio: int, data: bytes) -> None:
        with self.lock:
            line = self.active[gpio]
            os.write(line._w, data)

    def edge(self, gpio: int, rising: bool, ts_ns: int | None = None) -> bool:
        """Drive one edge; returns True if the request let it through."""
        rec = self.record(gpio, EDGE_RISING if rising else EDGE_FALLING, ts_ns)
        if rec is None:
            return False
        self.write(gpio, rec)
        return True

    def rising(self, gpio: int, ts_ns: int | None = None) -> bool:
        return self.edge(gpio, True, ts_ns)

    def falling(self, gpio: int, ts_ns: int | None = None) -> bool:
        return self.edge(gpio, False, ts_ns)

    def hang_up(self, gpio: int) -> None:
        """Close the write end, as a provider whose source went away."""
        with self.lock:
            line = self.active[gpio]
            os.close(line._w)
            line._w = os.open("/dev/null", os.O_WRONLY | os.O_CLOEXEC)


class Recorder:
    """A callback that records its calls; wait_for(n) blocks until n calls were seen."""

    def __init__(self, name: str = "cb", action=None):
        self.name = name
        self.calls: list[tuple] = []
        self.threads: list[str] = []
        self.cond = threading.Condition()
        self.action = action

    def __call__(self, *args):
        with self.cond:
            self.calls.append(args)
            self.threads.append(threading.current_thread().name)
            self.cond.notify_all()
        if self.action is not None:
            self.action(*args)

    def wait_for(self, count: int, timeout: float = WAIT) -> list[tuple]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.calls) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.name}: {len(self.calls)} calls, wanted {count}: {self.calls}")
                self.cond.wait(left)
            return list(self.calls)


class Sequence:
    """A shared, ordered log for several callbacks."""

    def __init__(self):
        self.items: list = []
        self.cond = threading.Condition()

    def add(self, item) -> None:
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def wait_for(self, count: int, timeout: float = WAIT) -> list:
        return self.wait_until(lambda items: len(items) >= count, timeout, f"{count} items")

    def wait_until(self, predicate, timeout: float = WAIT, wanted: str = "the condition") -> list:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self.items):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.items)} items, wanted {wanted}: {self.items}")
                self.cond.wait(left)
            return list(self.items)


def open_fds() -> set[int]:
    return {int(name) for name in os.listdir("/proc/self/fd")}


def live_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


# TCP clients of the loop's servers (loopback)
def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    sock.settimeout(WAIT)
    return sock


def read_until(sock: socket.socket, suffix: bytes) -> bytes:
    data = b""
    while not data.endswith(suffix):
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed after {data!r}")
        data += chunk
    return data
