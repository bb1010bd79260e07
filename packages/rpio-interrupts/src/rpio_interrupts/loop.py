"""The interrupt loop: one epoll set for GPIO lines, TCP listeners and TCP clients.

An :class:`Interruptor` holds all state of one loop (nothing lives on the class or is done at
import). The module-level API of :mod:`rpio_interrupts` is bound to one default instance.

Threading model:

* ``wait_for_interrupts()`` runs the loop in the calling thread; ``threaded=True`` runs it in a
  non-daemon thread named ``RPIO-interrupts`` that ``stop_waiting_for_interrupts()`` joins and that
  is stopped and joined before the interpreter waits for threads at exit.
* Plain callbacks run in the loop thread, one after another. ``threaded_callback=True`` callbacks
  run on a bounded pool (``max_workers`` threads) with one FIFO per pin and one per TCP client, so
  the order per pin / per client is kept while different pins run in parallel.
* Registration may happen from any thread, while the loop runs or not; an internal lock guards it.
"""

from __future__ import annotations

import atexit
import errno
import logging
import math
import numbers
import os
import select
import socket
import threading
import weakref
from collections.abc import Callable
from typing import Any, Self

from . import aio_ownership as _ownership
from ._pool import SerialPool, current_owner
from ._threads import start_signal_free
from .event import _RECORD, EDGE_FALLING, EDGE_RISING, EVENT_SIZE, LineEvent, _whole_records
from .exceptions import (
    ConflictError,
    InvalidArgumentError,
    InvalidCallbackError,
    InvalidChannelError,
    InvalidEdgeError,
    InvalidPullError,
    LoopRunningError,
    NotRegisteredError,
)
from .tcp import (
    DEFAULT_BIND,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CLIENTS,
    DEFAULT_MAX_MESSAGE,
    DEFAULT_MAX_OUTBUF,
    DEFAULT_MAX_QUEUED,
    DEFAULT_MAX_QUEUED_TOTAL,
    TcpClient,
    TcpServer,
    _Charged,
)

__all__ = [
    "BOTH",
    "FALLING",
    "PUD_DOWN",
    "PUD_OFF",
    "PUD_UP",
    "RISING",
    "Interruptor",
    "normalize_edge",
    "pull_to_bias",
]

log = logging.getLogger("RPIO.interrupts")

# RPi.GPIO's values, shared by every RPIO package.
PUD_OFF = 20
PUD_DOWN = 21
PUD_UP = 22
# RPi.GPIO's edge constants, accepted wherever an edge name is.
RISING = 31
FALLING = 32
BOTH = 33

_PULL_TO_BIAS = {PUD_OFF: "disabled", PUD_DOWN: "pull-down", PUD_UP: "pull-up"}
_EDGE_CONSTANTS = {RISING: "rising", FALLING: "falling", BOTH: "both"}
_EDGE_IDS = {"rising": (EDGE_RISING,), "falling": (EDGE_FALLING,),
             "both": (EDGE_RISING, EDGE_FALLING)}
# Records read per wake-up of a line: the kernel's largest event queue (GPIO_V2_LINES_MAX * 16),
# so one read takes everything a line has queued.
_READ_RECORDS = 1024
_iter_records = _RECORD.iter_unpack
_READ_SIZE = EVENT_SIZE * _READ_RECORDS
_new_event = tuple.__new__  # LineEvent from a decoded record without NamedTuple._make's checks


def normalize_edge(edge: Any) -> str:
    """'rising' / 'falling' / 'both' (any case, or RPi.GPIO's RISING/FALLING/BOTH) -> lower-case name."""
    if isinstance(edge, str):
        name = edge.strip().lower()
        if name in _EDGE_IDS:
            return name
    elif isinstance(edge, int) and not isinstance(edge, bool) and edge in _EDGE_CONSTANTS:
        return _EDGE_CONSTANTS[edge]
    raise InvalidEdgeError(f"edge must be 'rising', 'falling' or 'both', not {edge!r}")


def pull_to_bias(pull_up_down: Any) -> str:
    """PUD_OFF / PUD_DOWN / PUD_UP -> the provider's bias name; None leaves the pin's bias as it
    is (as the kernel's gpiomon does)."""
    if pull_up_down is None:
        return "as-is"
    if isinstance(pull_up_down, int) and not isinstance(pull_up_down, bool):
        bias = _PULL_TO_BIAS.get(pull_up_down)
        if bias is not None:
            return bias
    raise InvalidPullError(
        f"pull_up_down must be PUD_OFF ({PUD_OFF}), PUD_DOWN ({PUD_DOWN}), PUD_UP ({PUD_UP}) or "
        f"None (as it is), not {pull_up_down!r}")


def _default_mapper(channel: Any) -> int:
    if isinstance(channel, bool) or not isinstance(channel, int):
        raise InvalidChannelError(f"gpio id must be an int, not {type(channel).__name__} {channel!r}")
    if channel < 0:
        raise InvalidChannelError(f"gpio id must not be negative, got {channel}")
    return int(channel)


def _combined_config(listeners: list) -> tuple[str, str]:
    """The one (edge, bias) a line needs to serve every listener; ConflictError if impossible."""
    edges = {lst.edge for lst in listeners}
    edge = edges.pop() if len(edges) == 1 else "both"
    biases = {lst.bias for lst in listeners if lst.bias != "as-is"}
    if len(biases) > 1:
        raise ConflictError(f"conflicting pulls on one pin: {sorted(biases)}")
    return edge, (biases.pop() if biases else "as-is")


def _check_not_async_threaded(callback: Any, threaded_callback: Any) -> None:
    if threaded_callback:
        import inspect
        if inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(
                getattr(callback, "__call__", None)):  # noqa: B004 - async __call__ methods too
            raise InvalidCallbackError(
                f"{callback!r} is a coroutine function: it runs on the asyncio loop serving the "
                f"callbacks (rpio_interrupts.aio.wait_for_interrupts()), not on a worker thread; "
                f"register it without threaded_callback=True")


def _isawaitable(obj: Any) -> bool:
    import inspect  # lazily: `import RPIO` stays light; only callbacks returning a value get here
    return inspect.isawaitable(obj)


# ---------------------------------------------------------------------------------------------
# Process-wide shutdown: every Interruptor that allocated something is stopped at exit, before
# the interpreter waits for non-daemon threads (so a threaded loop can never hang the exit).
_live: weakref.WeakSet[Interruptor] = weakref.WeakSet()
_hooks_lock = threading.Lock()
_hooks_installed = False


def _shutdown_all() -> None:
    for loop in list(_live):
        try:
            loop.cleanup_interrupts()
        except Exception:
            log.exception("cleanup at exit failed")


def _install_exit_hooks() -> None:
    global _hooks_installed
    with _hooks_lock:
        if _hooks_installed:
            return
        _hooks_installed = True
    try:
        threading._register_atexit(_shutdown_all)  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):  # pragma: no cover - interpreter already shutting down
        pass
    atexit.register(_shutdown_all)


# ---------------------------------------------------------------------------------------------
class _CallbackReg:
    """One add_interrupt_callback registration (a line listener)."""

    __slots__ = (
        "active",
        "bias",
        "callback",
        "channel",
        "debounce_ns",
        "edge",
        "gpio",
        "ids",
        "key",
        "last_ns",
        "loop",
        "threaded",
        "with_event",
    )

    def __init__(self, loop: Interruptor, channel: Any, gpio: int, callback: Callable, edge: str,
                 bias: str, threaded: bool, debounce_ns: int, with_event: bool):
        self.loop = loop
        self.channel = channel
        self.gpio = gpio
        self.callback = callback
        self.edge = edge
        self.bias = bias
        self.ids = _EDGE_IDS[edge]
        self.threaded = threaded
        self.debounce_ns = debounce_ns
        self.with_event = with_event
        self.key = ("gpio", gpio)
        self.last_ns: int | None = None
        self.active = True

    @property
    def plain(self) -> bool:
        """Called inline on every edge of its kind: the line's fast path can call it directly."""
        return not self.threaded and not self.debounce_ns

    def deliver(self, event: LineEvent) -> None:
        if not self.active or event.id not in self.ids:
            return
        if self.debounce_ns:
            last = self.last_ns
            if last is not None and event.timestamp_ns - last < self.debounce_ns:
                return
            self.last_ns = event.timestamp_ns
        if self.with_event:
            args: tuple = (self.channel, event.value, event)
        else:
            args = (self.channel, event.value)
        if self.threaded:
            self.loop._submit(self.key, self._call_if_active, args)
        else:
            self.loop._call(self.callback, args, self.key)

    def _call_if_active(self, *args: Any) -> None:
        if self.active:
            result = self.callback(*args)
            if result is not None:
                self.loop._settle(self.callback, result, self.key)

    def __repr__(self) -> str:
        return f"<interrupt callback {self.callback!r} on {self.channel!r} ({self.edge})>"


class _LineWatch:
    """A requested line: its handle, its fd in the epoll set, and the listeners it serves.

    ``on_ready`` is the per-edge hot path: one read takes every queued record, one pass decodes
    and dispatches them. The listeners are read from a snapshot (``fast`` / ``snapshot``, rebuilt
    under the loop lock whenever they change), so the path takes no lock. With one plain
    callback (the common case) the records go straight to it, without a LineEvent unless it asked
    for one (``with_event=True``).
    """

    __slots__ = ("bias", "edge", "fd", "fast", "gpio", "handle", "key", "listeners", "loop",
                 "next_seqno", "polled", "rest", "snapshot")

    def __init__(self, loop: Interruptor, gpio: int, handle: Any, fd: int, edge: str, bias: str):
        self.loop = loop
        self.gpio = gpio
        self.handle = handle
        self.fd = fd
        self.edge = edge
        self.bias = bias
        self.key = ("gpio", gpio)
        self.listeners: list = []
        self.snapshot: tuple = ()
        self.fast: tuple | None = None
        self.rest = b""
        self.next_seqno = 0  # the seqno the next record should carry (0: not known yet)
        self.polled = True

    def refresh(self) -> None:
        """Rebuild the snapshot the hot path reads (loop lock held, after any listener change)."""
        listeners = tuple(self.listeners)
        self.snapshot = listeners
        fast = None
        if len(listeners) == 1 and isinstance(listeners[0], _CallbackReg) and listeners[0].plain:
            reg = listeners[0]
            fast = (reg, reg.channel, reg.callback, reg.with_event,
                    None if reg.edge == "both" else reg.ids)
        self.fast = fast

    def on_ready(self, mask: int) -> None:
        try:
            data = os.read(self.fd, _READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.loop._line_failed(self, exc)
            return
        if not data:
            self.loop._line_failed(self, None)
            return
        if self.rest or len(data) % EVENT_SIZE:  # a pipe may split records; the kernel never does
            data, self.rest = _whole_records(self.rest, data)
        records = _iter_records(data)
        expected = self.next_seqno
        fast = self.fast
        while True:  # re-entered after a callback raised: the records after it are still delivered
            try:
                if fast is not None and fast[3] is False and fast[4] is None:
                    # one callback(gpio, value) on both edges: the commonest case, the tightest loop
                    reg, channel, callback = fast[0], fast[1], fast[2]
                    for _ts, eid, _offset, seqno, _line_seqno in records:
                        if seqno != expected and seqno:
                            self._gap(expected, seqno)
                        expected = seqno + 1
                        if not reg.active:
                            break
                        result = callback(channel, 2 - eid)  # 1 after a rising edge (id 1), 0 after a falling one
                        if result is not None:
                            self.loop._settle(callback, result, reg.key)
                elif fast is not None:
                    reg, channel, callback, with_event, ids = fast
                    for rec in records:
                        seqno = rec[3]
                        if seqno != expected and seqno:
                            self._gap(expected, seqno)
                        expected = seqno + 1
                        eid = rec[1]
                        if ids is not None and eid not in ids:
                            continue
                        if not reg.active:
                            break
                        if with_event:
                            result = callback(channel, 2 - eid, _new_event(LineEvent, rec))
                        else:
                            result = callback(channel, 2 - eid)  # 1 after a rising edge (id 1), 0 after a falling one
                        if result is not None:
                            self.loop._settle(callback, result, reg.key)
                else:
                    listeners = self.snapshot
                    for rec in records:
                        seqno = rec[3]
                        if seqno != expected and seqno:
                            self._gap(expected, seqno)
                        expected = seqno + 1
                        event = _new_event(LineEvent, rec)
                        for listener in listeners:
                            listener.deliver(event)
                break
            except Exception:
                log.exception("callback on gpio %s raised", self.gpio)
        self.next_seqno = expected

    def _gap(self, expected: int, seqno: int) -> None:
        if expected and seqno > expected:
            self.loop._count_lost(self, seqno - expected)


class _Wakeup:
    __slots__ = ("fd",)

    def __init__(self, fd: int):
        self.fd = fd

    def on_ready(self, mask: int) -> None:
        try:
            os.eventfd_read(self.fd)
        except (BlockingIOError, OSError):
            pass


class _Run:
    __slots__ = ("asyncio", "done", "stop", "thread")

    def __init__(self, thread: threading.Thread | None, asyncio: bool = False):
        self.stop = False
        self.thread = thread
        self.asyncio = asyncio  # served by rpio_interrupts.aio on an asyncio loop
        self.done = threading.Event()


# ---------------------------------------------------------------------------------------------
class Interruptor:
    """One interrupt loop: GPIO edge callbacks and TCP socket callbacks on one epoll set.

    ``provider``: the :class:`~rpio_interrupts.provider.LineProvider` lines are requested from
    (default: :class:`rpio_interrupts.uapi.ChardevLineProvider`, created on first use).
    ``channel_mapper``: turns the user's channel into the chip gpio number and raises for invalid
    channels (default: any non-negative int is taken as the gpio number).
    ``max_workers``: size of the pool running ``threaded_callback=True`` callbacks.
    ``consumer``: the consumer label lines are requested with (shown by ``gpioinfo``).
    ``name``: the name of the loop thread started by ``wait_for_interrupts(threaded=True)``.
    """

    def __init__(self, provider: Any = None, channel_mapper: Callable[[Any], int] | None = None, *,
                 max_workers: int = 4, consumer: str = "RPIO", name: str = "RPIO-interrupts"):
        if max_workers < 1:
            raise InvalidArgumentError(f"max_workers must be at least 1, not {max_workers!r}")
        self._check_provider(provider)
        self._check_mapper(channel_mapper)
        self._provider = provider
        self._mapper = channel_mapper
        self._consumer = consumer
        self._name = name
        self._max_workers = max_workers
        self._lock = threading.RLock()
        self._epoll: select.epoll | None = None
        self._wakeup: _Wakeup | None = None
        self._fdmap: dict[int, Any] = {}
        self._lines: dict[int, _LineWatch] = {}
        self._servers: dict[int, TcpServer] = {}
        self._clients: dict[int, TcpClient] = {}
        self._pool: SerialPool | None = None
        self._run: _Run | None = None
        self._endings: list[_Run] = []         # runs that left their loop and are winding down
        self._loop_ident: int | None = None
        self._closing = False
        self._async_runner: Callable[[Any, Any], None] | None = None  # set by aio while serving
        self._lost: dict[int, int] = {}  # gpio -> edges the kernel dropped (seqno gaps)

    # -- configuration ------------------------------------------------------------------------
    @staticmethod
    def _check_provider(provider: Any) -> None:
        if provider is not None and not callable(getattr(provider, "request", None)):
            raise TypeError(f"a line provider needs a request() method; got {provider!r}")

    @staticmethod
    def _check_mapper(mapper: Any) -> None:
        if mapper is not None and not callable(mapper):
            raise TypeError(f"the channel mapper must be callable; got {mapper!r}")

    def set_line_provider(self, provider: Any) -> None:
        """Use ``provider`` for lines requested from now on (None: the character device)."""
        self._check_provider(provider)
        with self._lock:
            self._provider = provider

    def set_channel_mapper(self, mapper: Callable[[Any], int] | None) -> None:
        """Use ``mapper(channel) -> gpio`` for channels given from now on (None: identity)."""
        self._check_mapper(mapper)
        with self._lock:
            self._mapper = mapper

    @property
    def line_provider(self) -> Any:
        with self._lock:
            if self._provider is None:
                from .uapi import (
                    ChardevLineProvider,  # lazy: only when a line is needed
                )
                self._provider = ChardevLineProvider()
            return self._provider

    def channel_to_gpio(self, channel: Any) -> int:
        """Map a user channel to the chip gpio (raises for an invalid channel)."""
        mapper = self._mapper or _default_mapper
        gpio = mapper(channel)
        if isinstance(gpio, bool) or not isinstance(gpio, int) or gpio < 0:
            raise InvalidChannelError(f"channel {channel!r} does not map to a gpio (got {gpio!r})")
        return gpio

    @property
    def running(self) -> bool:
        """True while wait_for_interrupts() runs (and has not been asked to stop)."""
        run = self._run
        return run is not None and not run.stop

    # -- GPIO interrupts ----------------------------------------------------------------------
    def add_interrupt_callback(self, gpio_id: Any, callback: Callable, edge: Any = "both",
                               pull_up_down: int = PUD_OFF, threaded_callback: bool = False,
                               debounce_timeout_ms: float | None = None, *,
                               with_event: bool = False) -> None:
        """Call ``callback(gpio_id, value)`` on edges of ``gpio_id``.

        ``value`` is 1 after a rising and 0 after a falling edge, taken from the event itself.
        With ``with_event=True`` the callback gets a third argument, the
        :class:`~rpio_interrupts.event.LineEvent` (kernel timestamp in ns, sequence numbers).
        ``debounce_timeout_ms``: no call until that many ms (on event timestamps) have passed since
        the last call of this registration. Several callbacks on one pin each run once per edge,
        in registration order; the line is requested once with the union of their edges, and
        every callback on a pin must ask for the same pull.
        """
        gpio = self.channel_to_gpio(gpio_id)
        if not callable(callback):
            raise InvalidCallbackError(f"callback must be callable, not {callback!r}")
        _check_not_async_threaded(callback, threaded_callback)
        edge_name = normalize_edge(edge)
        bias = pull_to_bias(pull_up_down)
        debounce_ns = self._debounce_ns(debounce_timeout_ms)
        reg = _CallbackReg(self, gpio_id, gpio, callback, edge_name, bias,
                           bool(threaded_callback), debounce_ns, bool(with_event))
        try:
            self.attach_line(gpio, reg)
        except _ownership.PinOwnedError:
            raise
        except ConflictError as exc:
            with self._lock:
                watch = self._lines.get(gpio)
                current = watch.bias if watch else "?"
            raise ConflictError(
                f"gpio {gpio_id!r} already has callbacks with pull {current!r}; every callback "
                f"on a pin must use the same pull_up_down (call del_interrupt_callback first)"
            ) from exc
        log.debug("interrupt callback %r added on %r (gpio %s, %s, %s)", callback, gpio_id, gpio,
                  edge_name, bias)

    @staticmethod
    def _debounce_ns(debounce_timeout_ms: Any) -> int:
        if debounce_timeout_ms is None:
            return 0
        if isinstance(debounce_timeout_ms, bool) or not isinstance(debounce_timeout_ms, numbers.Real):
            raise InvalidArgumentError(
                f"debounce_timeout_ms must be a number of milliseconds or None, not {debounce_timeout_ms!r}")
        value = float(debounce_timeout_ms)
        if not math.isfinite(value) or value < 0:
            raise InvalidArgumentError(f"debounce_timeout_ms must be >= 0, not {debounce_timeout_ms!r}")
        return round(value * 1_000_000)

    def del_interrupt_callback(self, gpio_id: Any) -> None:
        """Remove every callback added with add_interrupt_callback for ``gpio_id``; release the line."""
        gpio = self.channel_to_gpio(gpio_id)
        with self._lock:
            watch = self._lines.get(gpio)
            regs = [lst for lst in watch.listeners if isinstance(lst, _CallbackReg)] if watch else []
            if not regs:
                raise NotRegisteredError(f"no interrupt callback registered for gpio {gpio_id!r}")
            for reg in regs:
                self.detach_line(reg)
        log.debug("interrupt callbacks removed from %r (gpio %s)", gpio_id, gpio)

    def interrupt_callbacks(self) -> dict[int, list[Callable]]:
        """{gpio: [callbacks in registration order]} of the add_interrupt_callback registrations."""
        with self._lock:
            out = {}
            for gpio, watch in self._lines.items():
                cbs = [lst.callback for lst in watch.listeners if isinstance(lst, _CallbackReg)]
                if cbs:
                    out[gpio] = cbs
            return out

    # -- line listeners (also used by gpio_events.EdgeDetector) ------------------------------
    def attach_line(self, gpio: int, listener: Any) -> None:
        """Add ``listener`` (attributes ``edge``, ``bias``; method ``deliver(event)``) to ``gpio``.

        The line is requested on the first listener and re-requested when the union of edges or
        the pull changes. On any error nothing has changed (the previous request is restored).
        """
        with self._lock:
            watch = self._lines.get(gpio)
            listeners = (watch.listeners if watch else []) + [listener]
            edge, bias = _combined_config(listeners)
            if watch is None:
                _ownership.claim(self.line_provider, gpio, _ownership.LOOP, self,
                                 f"the interrupt loop {self._name!r}")
                try:
                    self._lines[gpio] = self._open_line(gpio, edge, bias, [listener])
                except BaseException:
                    _ownership.release(gpio, self)
                    raise
                return
            if (edge, bias) != (watch.edge, watch.bias):
                self._rerequest(watch, edge, bias)
            watch.listeners.append(listener)
            watch.refresh()

    def detach_line(self, listener: Any) -> None:
        """Remove ``listener``; the line is released when its last listener goes."""
        with self._lock:
            listener.active = False
            watch = self._lines.get(listener.gpio)
            if watch is None or listener not in watch.listeners:
                return
            watch.listeners.remove(listener)
            watch.refresh()
            if not watch.listeners:
                del self._lines[watch.gpio]
                self._close_line(watch)
                _ownership.release(watch.gpio, self)

    def reconfigure_line(self, listener: Any, edge: str) -> None:
        """Change a listener's edge (re-requesting the line if needed); unchanged on error."""
        with self._lock:
            watch = self._lines[listener.gpio]
            old = listener.edge
            listener.edge = edge
            try:
                new_edge, bias = _combined_config(watch.listeners)
                if (new_edge, bias) != (watch.edge, watch.bias):
                    self._rerequest(watch, new_edge, bias)
            except BaseException:
                listener.edge = old
                raise
            finally:
                watch.refresh()

    def _open_line(self, gpio: int, edge: str, bias: str, listeners: list) -> _LineWatch:
        """Request the line and poll it, serving ``listeners`` from its first edge on."""
        provider = self.line_provider
        self._ensure_open()
        handle = provider.request(gpio, edge=edge, bias=bias, consumer=self._consumer)
        try:
            fd = handle.fileno()
            os.set_blocking(fd, False)
            watch = _LineWatch(self, gpio, handle, fd, edge, bias)
            watch.listeners = listeners
            watch.refresh()  # before the fd is polled: no edge can find an empty snapshot
            assert self._epoll is not None
            self._fdmap[fd] = watch
            try:
                self._epoll.register(fd, select.EPOLLIN)
            except BaseException:
                del self._fdmap[fd]
                raise
        except BaseException:
            handle.close()
            raise
        log.debug("gpio %s requested (%s, %s)", gpio, edge, bias)
        return watch

    def _close_line(self, watch: _LineWatch) -> None:
        if self._fdmap.get(watch.fd) is watch:
            del self._fdmap[watch.fd]
            if watch.polled and self._epoll is not None:
                try:
                    self._epoll.unregister(watch.fd)
                except (OSError, ValueError):
                    pass
        watch.polled = False
        try:
            watch.handle.close()
        except OSError as exc:
            log.warning("releasing gpio %s failed: %s", watch.gpio, exc)
        log.debug("gpio %s released", watch.gpio)

    def _rerequest(self, watch: _LineWatch, edge: str, bias: str) -> None:
        """Swap the request of ``watch`` for one with (edge, bias); restore the old one on error.

        Edges already queued on the old request and not yet read are lost (a documented gap).
        """
        old_edge, old_bias = watch.edge, watch.bias
        self._close_line(watch)
        try:
            fresh = self._open_line(watch.gpio, edge, bias, watch.listeners)
        except BaseException:
            try:
                fresh = self._open_line(watch.gpio, old_edge, old_bias, watch.listeners)
            except BaseException:
                log.exception("gpio %s: could not restore the previous request", watch.gpio)
                for lst in watch.listeners:
                    lst.active = False
                self._lines.pop(watch.gpio, None)
                _ownership.release(watch.gpio, self)
                raise
            self._adopt(watch, fresh)
            raise
        self._adopt(watch, fresh)

    def _adopt(self, watch: _LineWatch, fresh: _LineWatch) -> None:
        watch.handle, watch.fd, watch.edge, watch.bias = fresh.handle, fresh.fd, fresh.edge, fresh.bias
        watch.rest = b""
        watch.next_seqno = 0  # a new request counts from 1 again
        watch.polled = True
        self._fdmap[fresh.fd] = watch

    def _line_failed(self, watch: _LineWatch, exc: OSError | None) -> None:
        """Reading the line failed (``exc``) or hit end-of-file (None): stop polling it."""
        if exc is not None:
            if exc.errno == errno.EBADF:
                return
            log.error("gpio %s: reading events failed (%s); no more events from this line",
                      watch.gpio, exc)
        else:
            log.warning("gpio %s: the line's event source was closed; no more events from it",
                        watch.gpio)
        self._stop_polling(watch)

    def _count_lost(self, watch: _LineWatch, count: int) -> None:
        """``count`` edges of ``watch`` were dropped by the kernel (a seqno gap): count them, and
        say so once per line."""
        with self._lock:
            before = self._lost.get(watch.gpio, 0)
            self._lost[watch.gpio] = before + count
        if not before:
            log.warning("gpio %s: %s edge(s) lost: the callbacks fell behind and the kernel's event "
                        "queue overflowed; Interruptor.lost_events() counts further losses (this "
                        "is said once per pin)", watch.gpio, count)

    def lost_events(self) -> dict[int, int]:
        """``{gpio: edges lost}``: edges the kernel dropped because its event queue for the line
        was full (gaps in the events' ``seqno``), since the pin's first callback was added. A
        pin without losses is absent. Cleared by ``cleanup_interrupts()``."""
        with self._lock:
            return dict(self._lost)

    def _stop_polling(self, watch: _LineWatch) -> None:
        with self._lock:
            if watch.polled and self._fdmap.get(watch.fd) is watch:
                watch.polled = False
                del self._fdmap[watch.fd]
                if self._epoll is not None:
                    try:
                        self._epoll.unregister(watch.fd)
                    except (OSError, ValueError):
                        pass

    # -- TCP ----------------------------------------------------------------------------------
    def add_tcp_callback(self, port: int, callback: Callable, threaded_callback: bool = False, *,
                         bind: str = DEFAULT_BIND, encoding: str | None = "utf-8",
                         max_clients: int = DEFAULT_MAX_CLIENTS,
                         max_message: int = DEFAULT_MAX_MESSAGE,
                         max_outbuf: int = DEFAULT_MAX_OUTBUF,
                         backlog: int = socket.SOMAXCONN,
                         max_queued: int = DEFAULT_MAX_QUEUED,
                         max_queued_total: int = DEFAULT_MAX_QUEUED_TOTAL,
                         idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT) -> int:
        """Listen on ``bind``:``port`` and call ``callback(client, message)`` per received message.

        Returns the bound port (useful with ``port=0``). ``max_queued`` / ``max_queued_total``:
        byte budgets of messages waiting for threaded or coroutine callbacks, per client and for
        the whole server (a client over budget is not read until its queue drains).
        ``idle_timeout``: at ``max_clients``, a newcomer takes the place of a client silent for
        that many seconds (None: never). See :mod:`rpio_interrupts.tcp` for the message and
        socket semantics.
        """
        if not callable(callback):
            raise InvalidCallbackError(f"callback must be callable, not {callback!r}")
        _check_not_async_threaded(callback, threaded_callback)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise InvalidArgumentError(f"port must be an int from 0 to 65535, not {port!r}")
        if not isinstance(bind, str):
            raise InvalidArgumentError(f"bind must be a host name or address string, not {bind!r}")
        for name, value, low in (("max_clients", max_clients, 1), ("max_message", max_message, 1),
                                 ("max_outbuf", max_outbuf, 0), ("backlog", backlog, 0),
                                 ("max_queued", max_queued, 1),
                                 ("max_queued_total", max_queued_total, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidArgumentError(f"{name} must be an int >= {low}, not {value!r}")
        if idle_timeout is not None and (
                isinstance(idle_timeout, bool) or not isinstance(idle_timeout, numbers.Real)
                or not math.isfinite(idle_timeout) or idle_timeout < 0):
            raise InvalidArgumentError(
                f"idle_timeout must be a number of seconds >= 0 or None, not {idle_timeout!r}")
        if encoding is not None:
            import codecs
            try:
                codecs.lookup(encoding)
            except (LookupError, TypeError) as exc:
                raise InvalidArgumentError(f"unknown encoding {encoding!r}") from exc
        with self._lock:
            if port and port in self._servers:
                raise ConflictError(f"a TCP callback is already registered on port {port}")
            sock = self._listen(bind, port, backlog)
            try:
                server = TcpServer(self, sock, bind=bind, callback=callback,
                                   threaded=bool(threaded_callback), encoding=encoding,
                                   max_clients=max_clients, max_message=max_message,
                                   max_outbuf=max_outbuf, max_queued=max_queued,
                                   max_queued_total=max_queued_total,
                                   idle_timeout=None if idle_timeout is None else float(idle_timeout))
                if server.port in self._servers:
                    raise ConflictError(f"a TCP callback is already registered on port {server.port}")
                self._ensure_open()
                assert self._epoll is not None
                self._epoll.register(server.fd, select.EPOLLIN)
            except BaseException:
                sock.close()
                raise
            self._fdmap[server.fd] = server
            self._servers[server.port] = server
        log.info("TCP callback %r listening on %s:%s", callback, bind or "*", server.port)
        return server.port

    @staticmethod
    def _listen(bind: str, port: int, backlog: int) -> socket.socket:
        host = bind if bind else None
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                                   socket.AI_PASSIVE)
        if not bind:  # all interfaces: prefer IPv4's 0.0.0.0 like RPIO 0.10
            infos.sort(key=lambda info: info[0] != socket.AF_INET)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(backlog)
        except BaseException:
            sock.close()
            raise
        return sock

    def remove_tcp_callback(self, port: int) -> None:
        """Stop listening on ``port`` and close its clients."""
        with self._lock:
            server = self._servers.get(port)
            if server is None:
                raise NotRegisteredError(f"no TCP callback registered on port {port!r}")
            self._close_server(server)
        log.info("TCP callback on port %s removed", port)

    def close_tcp_client(self, fileno: int) -> None:
        """Close the TCP client with this file number and remove it from the loop."""
        with self._lock:
            client = self._clients.get(fileno)
            if client is None:
                raise NotRegisteredError(f"no TCP client with fileno {fileno!r}")
            self._close_client(client, reason="close_tcp_client")

    def tcp_ports(self) -> list[int]:
        with self._lock:
            return sorted(self._servers)

    def tcp_clients(self, port: int | None = None) -> list[TcpClient]:
        with self._lock:
            return [c for c in self._clients.values() if port is None or c.port == port]

    def _close_server(self, server: TcpServer) -> None:
        for client in list(server.clients.values()):
            self._close_client(client, reason="server removed")
        self._forget_fd(server.fd, server)
        server.sock.close()
        del self._servers[server.port]

    def _add_client(self, client: TcpClient) -> None:
        with self._lock:
            self._clients[client._fd] = client
            client._server.clients[client._fd] = client
            self._fdmap[client._fd] = client
            assert self._epoll is not None
            self._epoll.register(client._fd, select.EPOLLIN | select.EPOLLRDHUP)
        log.debug("TCP client %s connected from %s on port %s", client._fd, client._peer,
                  client._server.port)

    def _close_client(self, client: TcpClient, reason: str) -> None:
        with self._lock:
            if client.closed:
                return
            fd = client._fd
            if self._clients.get(fd) is client:
                del self._clients[fd]
            server = client._server
            if server.clients.get(fd) is client:
                del server.clients[fd]
            self._forget_fd(fd, client)
            client._shut()
            server.client_left()
            for srv in self._servers.values():
                srv.resume()
        log.debug("TCP client %s closed (%s)", fd, reason)

    def _forget_fd(self, fd: int, obj: Any) -> None:
        if self._fdmap.get(fd) is obj:
            del self._fdmap[fd]
            if self._epoll is not None:
                try:
                    self._epoll.unregister(fd)
                except (OSError, ValueError):
                    pass

    def _modify_fd(self, fd: int, mask: int) -> None:
        epoll = self._epoll
        if epoll is not None:
            try:
                epoll.modify(fd, mask)
            except (OSError, ValueError):
                pass

    def _dispatch_tcp(self, client: TcpClient, message: Any, nbytes: int) -> None:
        """A message of ``nbytes`` received bytes: call back inline, or queue it (charged to the
        client's byte budget until it has run) for a worker or the asyncio loop."""
        server = client._server
        key = ("tcp", id(client))
        if server.threaded:
            cost = client._charge(nbytes)
            if not self._submit(key, self._tcp_call_if_open, (server.callback, client, message, cost)):
                client._discharge(cost)  # dropped by the pool (its task limit; logged there)
            return
        try:
            result = server.callback(client, message)
        except Exception:
            log.exception("callback %r raised", server.callback)
            return
        if result is not None:
            if self._async_runner is not None and _isawaitable(result):
                result = _Charged(result, client, client._charge(nbytes))
            self._settle(server.callback, result, key)

    def _tcp_call_if_open(self, callback: Callable, client: TcpClient, message: Any,
                          cost: int) -> None:
        try:
            if not client.closed:
                result = callback(client, message)
                if result is not None:
                    self._settle(callback, result, ("tcp", id(client)))
        finally:
            client._discharge(cost)

    # -- calling back ---------------------------------------------------------------------------
    def _call(self, callback: Callable, args: tuple, key: Any = None) -> None:
        try:
            result = callback(*args)
            if result is not None:
                self._settle(callback, result, key)
        except Exception:
            log.exception("callback %r raised", callback)

    def _settle(self, callback: Callable, result: Any, key: Any) -> None:
        """A callback returned ``result``: an awaitable (a coroutine callback) is run by the
        asyncio loop serving this Interruptor (rpio_interrupts.aio), in order per ``key``."""
        if not _isawaitable(result):
            return
        runner = self._async_runner
        if runner is not None:
            runner(key, result)
            return
        close = getattr(result, "close", None)
        if close is not None:
            close()  # never awaited: no "coroutine was never awaited" warning on top of ours
        log.error("callback %r returned an awaitable: coroutine callbacks run only when the loop "
                  "is served by asyncio (await rpio_interrupts.aio.wait_for_interrupts()); "
                  "call skipped", callback)

    def _submit(self, key: Any, fn: Callable, args: tuple) -> bool:
        """Queue ``fn(*args)`` on the worker pool; False if the pool dropped it."""
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = SerialPool(self._max_workers, owner=self)
                    _install_exit_hooks()
                pool = self._pool
        return pool.submit(key, fn, args)

    # -- the loop -----------------------------------------------------------------------------
    def _ensure_open(self) -> None:
        """Create the epoll set and the wake-up eventfd (lock held)."""
        if self._epoll is not None:
            return
        epoll = select.epoll()
        try:
            wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        except BaseException:
            epoll.close()
            raise
        try:
            epoll.register(wake_fd, select.EPOLLIN)
        except BaseException:
            epoll.close()
            os.close(wake_fd)
            raise
        self._epoll = epoll
        self._wakeup = _Wakeup(wake_fd)
        self._fdmap[wake_fd] = self._wakeup
        _live.add(self)
        _install_exit_hooks()

    def _wake(self) -> None:
        wakeup = self._wakeup
        if wakeup is not None:
            try:
                os.eventfd_write(wakeup.fd, 1)
            except OSError:
                pass

    @staticmethod
    def _poll_timeout(epoll_timeout: Any) -> float:
        if epoll_timeout is None:
            return -1
        if isinstance(epoll_timeout, bool) or not isinstance(epoll_timeout, numbers.Real):
            raise InvalidArgumentError(f"epoll_timeout must be a number of seconds, not {epoll_timeout!r}")
        value = float(epoll_timeout)
        if value == -1:
            return -1
        if not math.isfinite(value) or value <= 0:
            raise InvalidArgumentError(
                f"epoll_timeout must be > 0 seconds (or None / -1 for no timeout), not {epoll_timeout!r}")
        return value

    def wait_for_interrupts(self, threaded: bool = False, epoll_timeout: float | None = 1) -> None:
        """Run the loop: block until stop_waiting_for_interrupts(), or with ``threaded=True`` run
        it in a background thread and return at once.

        ``epoll_timeout`` (seconds) only bounds how long one epoll wait lasts; stopping does not
        wait for it. Raises :class:`LoopRunningError` if the loop already runs.
        """
        timeout = self._poll_timeout(epoll_timeout)
        while True:
            with self._lock:
                run = self._run
                if run is None and self._endings and not self._inside():
                    run = self._endings[0]  # wait until the previous run is wound down
                elif run is None:
                    self._ensure_open()
                    self._closing = False
                    if threaded:
                        run = _Run(None)
                        run.thread = threading.Thread(target=self._loop, args=(run, timeout),
                                                      name=self._name, daemon=False)
                        try:
                            self._run = run
                            start_signal_free(run.thread)
                        except BaseException:
                            # interrupted (Ctrl-C, SIGTERM as KeyboardInterrupt) before the thread
                            # started: this run never was, so nobody waits for it to end
                            if run.thread.ident is None:
                                self._run = None
                            raise
                        return
                    run = self._run = _Run(None)
                    break
                if not run.stop:
                    raise LoopRunningError(self._running_message(run))
                if threading.get_ident() == self._loop_ident:
                    if not threaded:
                        raise LoopRunningError(
                            "wait_for_interrupts() cannot block inside a callback of its own loop")
                    run.stop = False  # restarted from a callback while stopping: keep going
                    return
            run.done.wait()  # a previous run is finishing; start after it
        self._loop(run, timeout)

    @staticmethod
    def _running_message(run: _Run) -> str:
        if run.asyncio:
            return ("wait_for_interrupts() is already running: an asyncio loop serves it "
                    "(rpio_interrupts.aio.wait_for_interrupts())")
        return "wait_for_interrupts() is already running"

    def _loop(self, run: _Run, timeout: float) -> None:
        epoll = self._epoll
        assert epoll is not None
        self._loop_ident = threading.get_ident()
        log.debug("waiting for interrupts")
        poll, dispatch = epoll.poll, self._dispatch
        try:
            while not run.stop:
                dispatch(run, poll(timeout))  # one call a wake-up, shared with RPIO.aio's runs
        finally:
            self._end_run(run)

    def _dispatch(self, run: _Run, events: list[tuple[int, int]]) -> None:
        """Hand each ready fd of one epoll wait to its owner (until the run is asked to stop)."""
        fdmap = self._fdmap
        for fd, mask in events:
            if run.stop:
                break
            obj = fdmap.get(fd)
            if obj is None:
                continue
            try:
                obj.on_ready(mask)
            except Exception:
                log.exception("error while handling fd %s", fd)

    def _begin_async_run(self) -> tuple[_Run, bool]:
        """For rpio_interrupts.aio: ``(run, True)``, a run served by the calling thread's asyncio
        loop, or ``(previous run, False)`` when a previous run is still winding down (wait for its
        ``done``, then ask again). Raises LoopRunningError while another loop serves."""
        with self._lock:
            run = self._run
            if run is not None:
                if run.stop:
                    return run, False
                raise LoopRunningError(self._running_message(run))
            if self._endings:
                return self._endings[0], False
            self._ensure_open()
            self._closing = False
            run = self._run = _Run(None, asyncio=True)
            self._loop_ident = threading.get_ident()
            return run, True

    def _end_run(self, run: _Run) -> None:
        """Wind a run down: the pool's queued callbacks run to the end, waiters are released."""
        run.stop = True  # also when leaving by an exception (e.g. KeyboardInterrupt)
        with self._lock:
            if self._run is run:
                self._run = None
            self._endings.append(run)
            self._loop_ident = None
            pool, self._pool = self._pool, None
            if self._closing and not self._lines and not self._servers and not self._clients:
                self._close_epoll()  # cleanup_interrupts() was called from inside the loop
        if pool is not None:
            pool.shutdown(wait=True)  # queued threaded callbacks run to the end first
        run.done.set()
        with self._lock:
            self._endings.remove(run)
        log.debug("stopped waiting for interrupts")

    def stop_waiting_for_interrupts(self) -> None:
        """Stop the loop now (not after epoll_timeout). Joins the loop thread unless called from
        the loop itself or from a threaded callback; running callbacks finish first."""
        with self._lock:
            run = self._run
            if run is not None and not run.stop:
                run.stop = True
                self._wake()
            runs = ([run] if run is not None else []) + list(self._endings)
        if not runs or self._inside():
            return  # inside the loop or one of its workers: the loop ends after this callback
        for each in runs:
            if each.thread is not None:
                each.thread.join()
            else:
                each.done.wait()

    def _inside(self) -> bool:
        """True in the loop's thread or in one of its callback workers."""
        return current_owner() is self or self._loop_ident == threading.get_ident()

    def cleanup_interrupts(self) -> None:
        """Stop the loop, release every line, close every TCP server and client. Idempotent; the
        Interruptor can be used again afterwards."""
        self.stop_waiting_for_interrupts()
        with self._lock:
            for watch in list(self._lines.values()):
                for lst in watch.listeners:
                    lst.active = False
                self._close_line(watch)
                _ownership.release(watch.gpio, self)
            self._lines.clear()
            self._lost.clear()
            for server in list(self._servers.values()):
                self._close_server(server)
            for client in list(self._clients.values()):  # not expected, but never leak one
                self._close_client(client, reason="cleanup")
            pool = None
            if self._run is None:
                self._close_epoll()
                pool, self._pool = self._pool, None
            else:  # called from the loop or a threaded callback: the loop closes it on its way out
                self._closing = True
        if pool is not None:
            pool.shutdown(wait=True)

    def _close_epoll(self) -> None:
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None
        if self._wakeup is not None:
            self._fdmap.pop(self._wakeup.fd, None)
            os.close(self._wakeup.fd)
            self._wakeup = None
        _live.discard(self)

    close = cleanup_interrupts

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup_interrupts()

    def __repr__(self) -> str:
        return (f"<Interruptor lines={sorted(self._lines)} ports={sorted(self._servers)} "
                f"clients={len(self._clients)} running={self.running}>")
