"""GPIO edges and RPIO's callbacks on the running asyncio loop, with no thread in the path.

Edges reach the process as 48-byte ``gpio_v2_line_event`` records on a file descriptor (from the
kernel's GPIO character device or from the simulated board), so asyncio can wait for them like
for a socket: the fd is registered with the running loop (``loop.add_reader``) and its records are
decoded in the loop's own thread. It works on asyncio's default loop and on uvloop::

    from rpio_interrupts import aio        # `import RPIO` then RPIO.aio.... is the same module

    async def main():
        async with aio.edges(17, edge="falling", pull_up_down=aio.PUD_UP,
                             debounce_timeout_ms=20) as presses:
            async for event in presses:
                print(event.channel, event.value, event.timestamp_ns, event.seqno)

* :func:`edges` - an async iterator of :class:`EdgeEvent` and an async context manager: the line
  is requested when it opens (``async with`` or the first ``async for`` step) and released when it
  closes: on leaving the ``async with`` block, on ``close()``, and when a task waiting on it is
  cancelled (as an async generator would end).
* :meth:`EdgeStream.next_batch` and :meth:`EdgeStream.batches` - every queued edge in one list
  per wake-up, for fast signals.
* :func:`wait_for_edge` - one edge, or None after ``timeout`` seconds.
* :func:`wait_for_interrupts` - serves the callbacks registered with ``add_interrupt_callback``
  and ``add_tcp_callback`` on the running loop; callbacks may be coroutine functions.

Every function acts on an :class:`~rpio_interrupts.loop.Interruptor` (the default one unless
``interruptor=`` says otherwise) and uses its line provider, channel mapper and consumer label, so
channels are in the numbering the rest of RPIO uses. :func:`bind` gives the same functions bound to
one Interruptor (the umbrella's ``RPIO.aio`` is ``bind(<RPIO's Interruptor>)``). A pin is served by the interrupt loop's
callbacks or by RPIO.aio's streams, never both: :class:`PinOwnedError` says who holds it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import warnings
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from typing import Any, NamedTuple, Self

from . import aio_ownership as _ownership
from .aio_ownership import PinOwnedError
from .event import _RECORD, EVENT_SIZE, _whole_records
from .exceptions import InvalidArgumentError
from .loop import (
    _EDGE_IDS,
    BOTH,
    FALLING,
    PUD_DOWN,
    PUD_OFF,
    PUD_UP,
    RISING,
    Interruptor,
    normalize_edge,
    pull_to_bias,
)

__all__ = [  # noqa: RUF022 - grouped by topic
    "edges", "wait_for_edge", "wait_for_interrupts", "bind",
    "BoundAio", "EdgeEvent", "EdgeStream", "PinOwnedError",
    "PUD_OFF", "PUD_DOWN", "PUD_UP", "RISING", "FALLING", "BOTH",
]

log = logging.getLogger("RPIO.aio")

DEFAULT_MAX_QUEUE = 1024
# Records a stream reads per wake-up. Unlike the loop, which drops each record once dispatched, a
# stream keeps what it read (as EdgeEvents) until consumed: 256 at a time measured fastest
# (bench/edge_path.py: 1024 per read cost 1.6x as much per edge, cache misses; 64 1.4x).
_STREAM_READ_RECORDS = 256
# event.py's whole-record struct: records straight into tuples, with no intermediate LineEvent
# per edge (the hot path of edges(); the layout is defined once, there)
_get_running_loop = asyncio._get_running_loop  # public (documented for loop implementers), in C
_new_event = tuple.__new__  # an EdgeEvent from its fields without NamedTuple._make's checks


def _interruptor(interruptor: Interruptor | None) -> Interruptor:
    if interruptor is None:
        from . import default_interruptor
        return default_interruptor()
    if not isinstance(interruptor, Interruptor):
        raise TypeError(f"interruptor must be an rpio_interrupts.Interruptor, not {interruptor!r}")
    return interruptor


def _timeout_seconds(timeout: Any) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise InvalidArgumentError(f"timeout must be a number of seconds or None, not {timeout!r}")
    value = float(timeout)
    if value != value or value < 0:
        raise InvalidArgumentError(f"timeout must be >= 0 seconds or None, not {timeout!r}")
    return value


# ---------------------------------------------------------------------------------------------
# edges() and wait_for_edge()
class EdgeEvent(NamedTuple):
    """One edge, as an :class:`EdgeStream` yields it.

    ``channel`` is the channel exactly as given to :func:`edges` (the user's numbering);
    ``value`` is the level after the edge (1 rising, 0 falling), taken from the event itself;
    ``timestamp_ns`` is the kernel's (CLOCK_MONOTONIC); ``seqno`` and ``line_seqno`` are the
    kernel's sequence numbers (a gap means edges were lost: the kernel's queue overflowed);
    ``gpio`` is the chip gpio the channel maps to.
    """

    channel: Any
    value: int
    timestamp_ns: int
    seqno: int
    line_seqno: int
    gpio: int

    @property
    def edge(self) -> str:
        """``'rising'`` or ``'falling'``."""
        return "rising" if self.value else "falling"


_NEW, _OPEN, _CLOSED = "new", "open", "closed"
_PENDING, _DONE, _CANCELLED = 0, 1, 2


class _Waiter:
    """What a stream's consumer awaits while the stream is empty: a future-like object (the
    protocol ``asyncio.isfuture`` documents: ``_asyncio_future_blocking``, ``get_loop``,
    ``add_done_callback``, ``result``, ``cancel``; asyncio's Task and uvloop accept it as they
    accept a Future).

    Why not an asyncio.Future: a Future schedules its done callbacks with ``call_soon``, so the
    waiting task resumes one turn of the loop after the reader callback that resolved it, and each
    edge costs the loop two turns (on asyncio's default loop, a pure-Python ``_run_once`` with its
    own ``epoll_wait``). :meth:`wake_now` instead runs the task's wake-up at once, inside the reader
    callback, when no task is running (the reader callback is called by the loop itself, so none
    is); every other completion (close, timeout, cancellation, errors) is scheduled with
    ``call_soon`` as a Future's is. Used by one awaiting task (``EdgeStream._next``), in the loop's
    thread only.
    """

    __slots__ = ("_asyncio_future_blocking", "_callbacks", "_cancel_msg", "_loop", "_result",
                 "_state")

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._state = _PENDING
        self._result: Any = None
        self._cancel_msg: Any = None
        self._callbacks: list[tuple[Any, Any]] = []
        self._asyncio_future_blocking = False

    # -- the Future protocol the Task uses ----------------------------------------------------
    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def done(self) -> bool:
        return self._state != _PENDING

    def cancelled(self) -> bool:
        return self._state == _CANCELLED

    def add_done_callback(self, fn: Any, *, context: Any = None) -> None:
        if self._state != _PENDING:
            self._loop.call_soon(fn, self, context=context)
        else:
            self._callbacks.append((fn, context))

    def remove_done_callback(self, fn: Any) -> int:
        kept = [(f, c) for f, c in self._callbacks if f != fn]
        removed = len(self._callbacks) - len(kept)
        self._callbacks = kept
        return removed

    def result(self) -> Any:
        if self._state == _CANCELLED:
            raise asyncio.CancelledError(*(() if self._cancel_msg is None else (self._cancel_msg,)))
        if self._state != _DONE:
            raise asyncio.InvalidStateError("result is not set")
        return self._result

    def exception(self) -> BaseException | None:
        self.result()
        return None

    def cancel(self, msg: Any = None) -> bool:
        if self._state != _PENDING:
            return False
        self._state, self._cancel_msg = _CANCELLED, msg
        self._schedule_callbacks()
        return True

    def set_result(self, value: Any) -> None:
        """Complete the waiter; its callbacks run in a later turn (as a Future's do)."""
        if self._state != _PENDING:
            raise asyncio.InvalidStateError(f"{self!r} is already done")
        self._state, self._result = _DONE, value
        self._schedule_callbacks()

    def wake_now(self, value: Any) -> None:
        """Complete the waiter and run the waiting task's wake-up now, in this turn of the loop.
        Only from a callback the loop itself runs (a reader callback): the task resumes inside
        it. If a task is running (this was reached from a task), it falls back to set_result."""
        if asyncio.current_task(self._loop) is not None:
            self.set_result(value)
            return
        self._state, self._result = _DONE, value
        callbacks, self._callbacks = self._callbacks, []
        for fn, context in callbacks:
            if context is None:
                fn(self)
            else:
                context.run(fn, self)

    def rearm(self) -> None:
        """Pending again, for the next wait of the task that awaited it (which has resumed, so
        nothing else refers to it): one waiter serves a stream's every wait."""
        self._state, self._result, self._cancel_msg = _PENDING, None, None

    def _schedule_callbacks(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for fn, context in callbacks:
            self._loop.call_soon(fn, self, context=context)

    def __await__(self) -> Any:
        if self._state == _PENDING:
            self._asyncio_future_blocking = True
            yield self  # the Task registers its wake-up with add_done_callback
        if self._state == _DONE:
            return self._result  # the edge path: no result() call
        if self._state == _PENDING:
            raise RuntimeError("await wasn't used with future")
        return self.result()

    __iter__ = __await__

    def __repr__(self) -> str:
        state = ("pending", "done", "cancelled")[self._state]
        return f"<RPIO.aio waiter {state}>"


class EdgeStream:
    """Edges of one pin on the running asyncio loop. Made by :func:`edges`; see there."""

    __slots__ = (
        "_bias", "_channel", "_debounce_ns", "_edge", "_eof", "_error", "_fd", "_gpio", "_handle",
        "_hot", "_ids", "_intr", "_last_ns", "_loop", "_lost", "_max_queue", "_next_seqno", "_queue",
        "_read_size", "_reading", "_rest", "_spare", "_state", "_thread", "_waiter", "_what", "__weakref__",
    )  # fmt: skip

    def __init__(self, channel: Any, edge: Any = "both", pull_up_down: int = PUD_OFF,
                 debounce_timeout_ms: float | None = None, *, max_queue: int = DEFAULT_MAX_QUEUE,
                 interruptor: Interruptor | None = None, what: str = "RPIO.aio.edges()"):
        self._state = _NEW  # first: __del__ looks at it even if a check below raises
        self._intr = _interruptor(interruptor)
        self._channel = channel
        self._edge = normalize_edge(edge)
        self._bias = pull_to_bias(pull_up_down)
        self._debounce_ns = Interruptor._debounce_ns(debounce_timeout_ms)
        if isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue < 1:
            raise InvalidArgumentError(f"max_queue must be an int >= 1, not {max_queue!r}")
        self._max_queue = max_queue
        self._read_size = EVENT_SIZE * min(max_queue, _STREAM_READ_RECORDS)  # one read fills the queue at most
        self._next_seqno = 0
        self._lost = 0
        self._what = what
        self._ids = _EDGE_IDS[self._edge]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._handle: Any = None
        self._fd = -1
        self._gpio = -1
        self._queue: deque[EdgeEvent] = deque()
        self._rest = b""
        self._last_ns: int | None = None
        self._reading = False
        self._waiter: _Waiter | None = None
        self._hot: tuple = ()  # what _on_readable reads, in one load (set when the stream opens)
        self._spare: _Waiter | None = None  # __anext__'s waiter, re-armed for each wait
        self._error: BaseException | None = None
        self._eof = False

    # -- public surface -----------------------------------------------------------------------
    @property
    def channel(self) -> Any:
        return self._channel

    @property
    def gpio(self) -> int | None:
        """The chip gpio (known once the stream is open)."""
        return self._gpio if self._gpio >= 0 else None

    @property
    def edge(self) -> str:
        return self._edge

    @property
    def closed(self) -> bool:
        return self._state == _CLOSED

    @property
    def pending(self) -> int:
        """Events read from the line and not yet taken by the consumer."""
        return len(self._queue)

    @property
    def lost(self) -> int:
        """Edges the kernel dropped because its event queue for the line was full (gaps in the
        events' ``seqno``: the consumer fell behind). The first loss is also logged, once."""
        return self._lost

    def get_value(self) -> int:
        """The pin's current level, read through the line (the stream must be open)."""
        if self._state != _OPEN:
            raise RuntimeError(f"{self!r} is not open")
        return self._handle.get_value()

    async def __aenter__(self) -> Self:
        self._open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> EdgeEvent:
        queue = self._queue
        loop = self._loop
        if (not queue and self._state == _OPEN and self._waiter is None and not self._eof
                and self._error is None and loop is _get_running_loop()):
            # the consumer caught up: wait here (the reader callback resumes this task in its own
            # turn, see _Waiter), without _next's frame; everything else goes through _next
            waiter = self._spare
            if waiter is None or waiter._loop is not loop:
                waiter = self._spare = _Waiter(loop)
            else:
                waiter.rearm()  # done with: the task that awaited it has resumed
            self._waiter = waiter
            try:
                await waiter
            except asyncio.CancelledError:
                self.close()  # like an async generator: a cancelled wait ends the stream
                raise
            finally:
                self._waiter = None
        if queue:  # the common case while edges stream in: no suspension
            if self._reading:
                return queue.popleft()
            return self._pop()
        event = await self._next(None)
        assert event is not None
        return event

    async def next(self, timeout: float | None = None) -> EdgeEvent | None:
        """The next edge, or None if none came within ``timeout`` seconds (the stream stays open).

        Raises StopAsyncIteration once the stream has ended, like ``anext(stream)``.
        """
        return await self._next(_timeout_seconds(timeout))

    async def next_batch(self, timeout: float | None = None) -> list[EdgeEvent]:
        """Every edge read and not yet taken, oldest first, in one list: at least one (waiting
        for it as :meth:`next` does), or ``[]`` if none came within ``timeout`` seconds (the
        stream stays open). For fast signals (counters, encoders): one await per burst instead
        of one per edge.

        Raises StopAsyncIteration once the stream has ended, like ``anext(stream)``.
        """
        first = await self._next(_timeout_seconds(timeout))
        if first is None:
            return []
        queue = self._queue
        batch = [first, *queue]
        queue.clear()
        self._resume_reading()
        return batch

    async def batches(self) -> AsyncIterator[list[EdgeEvent]]:
        """``async for events in stream.batches():`` the stream as lists of edges, one list per
        wake-up (see :meth:`next_batch`); ends when the stream ends. Mixing it with ``async for``
        over the stream itself is allowed: each edge goes to one of them, in order."""
        while True:
            try:
                batch = await self.next_batch()
            except StopAsyncIteration:
                return
            yield batch

    async def aclose(self) -> None:
        """Close the stream (same as :meth:`close`)."""
        self.close()

    def close(self) -> None:
        """Release the line and end the iteration (idempotent). Call it from the loop's thread."""
        state, self._state = self._state, _CLOSED
        self._queue.clear()
        if state == _OPEN:
            self._stop_reading()
            try:
                self._handle.close()
            except OSError as exc:
                log.warning("releasing gpio %s failed: %s", self._gpio, exc)
            _ownership.release(self._gpio, self)
            log.debug("gpio %s released by %s", self._gpio, self._what)
        self._wake()

    def __repr__(self) -> str:
        gpio = f" gpio {self._gpio}" if self._gpio >= 0 else ""
        return f"<EdgeStream {self._channel!r}{gpio} {self._edge} {self._state}>"

    def __del__(self) -> None:
        if getattr(self, "_state", _NEW) != _OPEN:
            return
        warnings.warn(f"unclosed {self!r}: use 'async with' or close()", ResourceWarning,
                      source=self, stacklevel=1)
        loop = self._loop
        if loop is None or loop.is_closed():
            self._reading = False  # the selector is gone with its loop
            self.close()
        elif self._thread == threading.get_ident():
            self.close()
        else:
            loop.call_soon_threadsafe(self.close)

    # -- opening and reading ------------------------------------------------------------------
    def _open(self) -> None:
        if self._state == _OPEN:
            return
        if self._state == _CLOSED:
            raise RuntimeError(f"{self!r} was closed; call edges() again for a new stream")
        loop = asyncio.get_running_loop()
        intr = self._intr
        gpio = intr.channel_to_gpio(self._channel)
        provider = intr.line_provider
        _ownership.claim(provider, gpio, _ownership.ASYNCIO, self, self._what, self._channel)
        try:
            handle = provider.request(gpio, edge=self._edge, bias=self._bias,
                                      consumer=intr._consumer)
            try:
                fd = handle.fileno()
                os.set_blocking(fd, False)
                loop.add_reader(fd, _on_readable, weakref.ref(self))
            except BaseException:
                handle.close()
                raise
        except BaseException:
            _ownership.release(gpio, self)
            raise
        self._loop, self._handle, self._fd, self._gpio = loop, handle, fd, gpio
        self._hot = (fd, self._read_size, self._queue, None if self._edge == "both" else self._ids,
                     self._channel, gpio, self._debounce_ns)
        self._thread = threading.get_ident()
        self._reading = True
        self._state = _OPEN
        log.debug("gpio %s requested by %s (%s, %s)", gpio, self._what, self._edge, self._bias)

    def _count_lost(self, count: int) -> None:
        if not self._lost:
            log.warning("gpio %s: %s edge(s) lost by %s: the consumer fell behind and the kernel's "
                        "event queue overflowed; the stream's .lost counts further losses (this is "
                        "said once per stream)", self._gpio, count, self._what)
        self._lost += count

    def _pop(self) -> EdgeEvent:
        """The next queued event; reading resumes once the queue is down to half of max_queue."""
        event = self._queue.popleft()
        self._resume_reading()
        return event

    def _resume_reading(self) -> None:
        if (not self._reading and self._state == _OPEN and not self._eof
                and self._error is None and len(self._queue) <= self._max_queue // 2):
            self._reading = True
            assert self._loop is not None
            self._loop.add_reader(self._fd, _on_readable, weakref.ref(self))

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.remove_reader(self._fd)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(False)

    async def _next(self, timeout: float | None) -> EdgeEvent | None:
        if self._state == _NEW:
            self._open()
        elif self._loop is not asyncio.get_running_loop() and self._state == _OPEN:
            raise RuntimeError(f"{self!r} belongs to another event loop")
        queue = self._queue
        timer = None
        try:
            while True:
                if queue:
                    return self._pop()
                if self._state != _OPEN or self._eof:
                    raise StopAsyncIteration
                if self._error is not None:
                    error, self._error = self._error, None
                    self.close()
                    raise error
                if self._waiter is not None:
                    raise RuntimeError(f"another task is already waiting on {self!r}")
                assert self._loop is not None
                waiter = self._waiter = _Waiter(self._loop)
                if timeout is not None and timer is None:
                    timer = self._loop.call_later(timeout, _time_out, waiter)
                try:
                    timed_out = await waiter
                except asyncio.CancelledError:
                    self.close()  # like an async generator: a cancelled wait ends the stream
                    raise
                finally:
                    self._waiter = None
                if timed_out and not queue:
                    return None
        finally:
            if timer is not None:
                timer.cancel()


def _on_readable(ref: weakref.ref[EdgeStream]) -> None:
    """A stream's line fd is readable: read and decode its records, wake its waiting consumer.

    The loop holds the stream weakly: an abandoned open stream is collected, warned about and
    released (EdgeStream.__del__) instead of living as long as the loop. One function, not a
    trampoline to a method: it is on every wake-up's path."""
    stream = ref()
    if stream is None:
        return
    fd, read_size, queue, ids, channel, gpio, debounce = stream._hot
    try:
        data = os.read(fd, read_size)
    except (BlockingIOError, InterruptedError):
        return
    except OSError as exc:
        log.error("gpio %s: reading events failed (%s)", stream._gpio, exc)
        stream._stop_reading()
        stream._error = exc
        stream._wake()
        return
    if not data:
        log.warning("gpio %s: the line's event source was closed; no more events from it",
                    stream._gpio)
        stream._stop_reading()
        stream._eof = True
        stream._wake()
        return
    if stream._rest or len(data) % EVENT_SIZE:  # a pipe may split records; the kernel never does
        data, stream._rest = _whole_records(stream._rest, data)
    expected = stream._next_seqno
    append = queue.append
    for ts, eid, _offset, seqno, line_seqno in _RECORD.iter_unpack(data):
        if seqno != expected and seqno:
            if expected and seqno > expected:
                stream._count_lost(seqno - expected)
        expected = seqno + 1
        if ids is not None and eid not in ids:
            continue
        if debounce:
            last = stream._last_ns
            if last is not None and ts - last < debounce:
                continue
            stream._last_ns = ts
        append(_new_event(EdgeEvent, (channel, 2 - eid, ts, seqno, line_seqno, gpio)))
    stream._next_seqno = expected
    if len(queue) >= stream._max_queue:
        stream._stop_reading()  # back-pressure: the kernel queues (and counts) what follows
    waiter = stream._waiter
    if queue and waiter is not None and waiter._state == _PENDING:
        waiter.wake_now(False)  # the consumer resumes here, in this turn of the loop


def _time_out(waiter: _Waiter) -> None:
    if not waiter.done():
        waiter.set_result(True)


def edges(channel: Any, edge: Any = "both", pull_up_down: int = PUD_OFF,
          debounce_timeout_ms: float | None = None, *, max_queue: int = DEFAULT_MAX_QUEUE,
          interruptor: Interruptor | None = None) -> EdgeStream:
    """The edges of ``channel`` as an async iterator of :class:`EdgeEvent`; also an async
    context manager that releases the line on exit.

    ``edge``: ``'rising'``, ``'falling'`` or ``'both'`` (or RISING/FALLING/BOTH), filtered by the
    line request. ``pull_up_down``: PUD_OFF (the default: bias disabled), PUD_DOWN or PUD_UP.
    ``debounce_timeout_ms``: an edge is dropped if it comes less than that many ms (on the
    events' kernel timestamps) after the last edge this stream yielded.
    ``max_queue``: events read and not yet consumed; when that many wait, the stream stops
    reading and the kernel queues what follows (and drops it when its own queue is full: a gap
    in ``seqno`` shows the loss).

    The arguments are checked at once. The channel is mapped and the line requested when the
    stream opens (``async with``, or the first ``async for`` step); errors from there (an
    unknown channel, a busy line, no permission, :class:`PinOwnedError`) are raised by that
    awaiting statement and leave nothing registered. Call it while an asyncio loop runs.
    """
    return EdgeStream(channel, edge, pull_up_down, debounce_timeout_ms, max_queue=max_queue,
                      interruptor=interruptor)


async def wait_for_edge(channel: Any, edge: Any = "both", timeout: float | None = None, *,
                        pull_up_down: int = PUD_OFF,
                        interruptor: Interruptor | None = None) -> EdgeEvent | None:
    """Wait for one edge on ``channel``: the :class:`EdgeEvent`, or None after ``timeout``
    seconds (None: no limit).

    The line is requested on the call and released before it returns, also when the awaiting
    task is cancelled. Raises as :func:`edges` does; EOFError if the line's event source closes.
    """
    seconds = _timeout_seconds(timeout)
    stream = EdgeStream(channel, edge, pull_up_down, interruptor=interruptor,
                        what="RPIO.aio.wait_for_edge()")
    stream._open()
    try:
        return await stream._next(seconds)
    except StopAsyncIteration:
        raise EOFError(f"gpio {stream._gpio}: the line's event source was closed") from None
    finally:
        stream.close()


# ---------------------------------------------------------------------------------------------
# wait_for_interrupts()
class _CoroutineRunner:
    """Runs the awaitables returned by callbacks: in order per key (a pin, a TCP client), keys
    in parallel, as tasks of the loop. ``submit`` may be called from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._thread = threading.get_ident()
        self._queues: dict[Any, deque[Awaitable]] = {}
        self.tasks: set[asyncio.Task] = set()
        self.closed = False

    def submit(self, key: Any, awaitable: Awaitable) -> None:
        if threading.get_ident() != self._thread:
            try:
                self._loop.call_soon_threadsafe(self.submit, key, awaitable)
            except RuntimeError:  # the loop is closed
                _discard(awaitable)
            return
        if self.closed:
            _discard(awaitable)
            return
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(awaitable)
            return
        queue = self._queues[key] = deque((awaitable,))
        task = self._loop.create_task(self._drain(key, queue), name=f"RPIO.aio callback {key}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _drain(self, key: Any, queue: deque[Awaitable]) -> None:
        try:
            while queue:
                awaitable = queue.popleft()
                try:
                    await awaitable
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise  # the runner is being cancelled
                    log.error("coroutine callback %r was cancelled", awaitable)
                except Exception:
                    log.exception("coroutine callback %r raised", awaitable)
        finally:
            if self._queues.get(key) is queue:
                del self._queues[key]
            while queue:
                _discard(queue.popleft())


def _discard(awaitable: Any) -> None:
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()
    log.debug("coroutine callback %r dropped: its loop stopped serving", awaitable)


async def _previous_run_ended(run: Any) -> None:
    # A previous run is winding down (its threaded callbacks finish). Rare; no thread for it.
    delay = 0.001
    while not run.done.is_set():
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


async def wait_for_interrupts(interruptor: Interruptor | None = None) -> None:
    """Serve the callbacks registered with ``add_interrupt_callback`` and ``add_tcp_callback``
    on the running asyncio loop, until ``stop_waiting_for_interrupts()`` (from any thread) or
    until the awaiting task is cancelled.

    The Interruptor's epoll set (its lines, TCP listeners and clients, and its wake-up eventfd)
    is one fd registered with the loop (``add_reader``); when it is readable the loop thread
    dispatches exactly as the threaded loop does: plain callbacks run inline (keep them short),
    ``threaded_callback=True`` ones on the worker pool, and coroutine callbacks (or callbacks
    returning an awaitable) as tasks, in order per pin and per TCP client. TCP clients are the
    threaded loop's :class:`~rpio_interrupts.tcp.TcpClient`: same messages, same ``send``.

    On stop it returns after the coroutine and threaded callbacks already queued have finished;
    on cancellation it cancels the coroutine callbacks. Either way it removes everything it added
    to the loop; registrations stay (``cleanup_interrupts()`` releases them), and a later call
    serves them again. Raises LoopRunningError if the Interruptor is already being served.
    """
    intr = _interruptor(interruptor)
    loop = asyncio.get_running_loop()
    while True:
        run, started = intr._begin_async_run()
        if started:
            break
        await _previous_run_ended(run)
    runner = _CoroutineRunner(loop)
    reader_fd = -1
    try:
        epoll = intr._epoll
        assert epoll is not None
        stopped: asyncio.Future = loop.create_future()

        def on_ready() -> None:
            if not run.stop:
                try:
                    events = epoll.poll(0)
                except OSError as exc:  # pragma: no cover - the epoll fd itself failed
                    log.error("interrupt loop: epoll failed: %s", exc)
                    run.stop = True
                else:
                    intr._dispatch(run, events)
            if run.stop and not stopped.done():
                stopped.set_result(None)

        intr._async_runner = runner.submit
        loop.add_reader(epoll.fileno(), on_ready)
        reader_fd = epoll.fileno()
        log.debug("waiting for interrupts on %r", loop)
        while True:
            await stopped
            loop.remove_reader(reader_fd)
            reader_fd = -1
            while runner.tasks:  # queued coroutine callbacks run to the end, as threaded ones do
                await asyncio.wait(set(runner.tasks))
            if run.stop:
                break
            # wait_for_interrupts(threaded=True) from one of our callbacks while stopping: go on
            stopped = loop.create_future()
            loop.add_reader(epoll.fileno(), on_ready)
            reader_fd = epoll.fileno()
    finally:
        try:
            if reader_fd >= 0:
                loop.remove_reader(reader_fd)
            runner.closed = True
            intr._async_runner = None
            pending = [task for task in runner.tasks if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                try:
                    await asyncio.wait(pending)
                except asyncio.CancelledError:
                    pass  # cancelled again while unwinding: the tasks end on their own
        finally:
            intr._end_run(run)


# ---------------------------------------------------------------------------------------------
class BoundAio:
    """This module's API acting on one :class:`~rpio_interrupts.loop.Interruptor`: its line
    provider, channel mapper and callbacks. Made by :func:`bind`; ``RPIO.aio`` is one."""

    EdgeEvent = EdgeEvent
    EdgeStream = EdgeStream
    PinOwnedError = PinOwnedError
    DEFAULT_MAX_QUEUE = DEFAULT_MAX_QUEUE
    PUD_OFF, PUD_DOWN, PUD_UP = PUD_OFF, PUD_DOWN, PUD_UP
    RISING, FALLING, BOTH = RISING, FALLING, BOTH

    def __init__(self, interruptor: Interruptor):
        if not isinstance(interruptor, Interruptor):
            raise TypeError(f"bind() needs an rpio_interrupts.Interruptor, not {interruptor!r}")
        self.interruptor = interruptor

    def edges(self, channel: Any, edge: Any = "both", pull_up_down: int = PUD_OFF,
              debounce_timeout_ms: float | None = None, *,
              max_queue: int = DEFAULT_MAX_QUEUE) -> EdgeStream:
        """:func:`rpio_interrupts.aio.edges` on this Interruptor."""
        return EdgeStream(channel, edge, pull_up_down, debounce_timeout_ms, max_queue=max_queue,
                          interruptor=self.interruptor)

    async def wait_for_edge(self, channel: Any, edge: Any = "both", timeout: float | None = None,
                            *, pull_up_down: int = PUD_OFF) -> EdgeEvent | None:
        """:func:`rpio_interrupts.aio.wait_for_edge` on this Interruptor."""
        return await wait_for_edge(channel, edge, timeout, pull_up_down=pull_up_down,
                                   interruptor=self.interruptor)

    async def wait_for_interrupts(self) -> None:
        """:func:`rpio_interrupts.aio.wait_for_interrupts` on this Interruptor."""
        await wait_for_interrupts(self.interruptor)

    def __repr__(self) -> str:
        return f"<rpio_interrupts.aio bound to {self.interruptor!r}>"


def bind(interruptor: Interruptor) -> BoundAio:
    """This module's functions, acting on ``interruptor`` (for a package that owns its own
    Interruptor, as the umbrella RPIO does: ``RPIO.aio = rpio_interrupts.aio.bind(interruptor)``)."""
    return BoundAio(interruptor)
