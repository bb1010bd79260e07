"""RPi.GPIO 0.7.1's event API on RPIO's one event path.

:class:`EdgeDetector` gives ``add_event_detect``, ``add_event_callback``, ``remove_event_detect``,
``event_detected`` and ``wait_for_edge`` with RPi.GPIO's keyword names, exception types, messages
and check order, but reads edges as uAPI v2 event records (kernel or simulated board), so it
works on 6.6+ kernels and on the Pi 5 where RPi.GPIO's sysfs code fails.

Semantics kept from RPi.GPIO:

* callbacks run on one background thread, in registration order, as ``cb(channel)``;
  an exception in a callback is logged with its traceback (logger ``RPIO.events``) and swallowed;
* ``bouncetime`` (ms): an edge is accepted if it is the first, or if more than ``bouncetime`` ms
  passed since the last *accepted* edge (measured on the events' kernel timestamps, not on the
  time the thread woke up);
* the ``event_detected`` latch is set by every accepted edge once ``add_event_detect`` was called,
  with or without callbacks;
* ``wait_for_edge`` returns the channel, or None after ``timeout`` ms; it leaves the pin armed, so
  a later ``add_event_detect`` with another edge raises "Conflicting..." until
  ``remove_event_detect``; it overrides a callback-free detection on another edge.

Fixed: RPi.GPIO runs every callback of a pin N times per edge when N callbacks are registered
(a, b, a, b); here each runs once per edge. RPi.GPIO's first-wake-up discard (a sysfs artefact)
does not exist here: nothing fires until a real edge.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ._cargs import MISSING, parse_keywords, parse_positional
from .event import EDGE_FALLING, EDGE_RISING, LineEvent
from .exceptions import LoopRunningError
from .loop import Interruptor

__all__ = ["BOTH", "FALLING", "RISING", "EdgeDetector"]

log = logging.getLogger("RPIO.events")

RISING = 31
FALLING = 32
BOTH = 33

_NO_BOUNCE = -666          # RPi.GPIO's value for "bouncetime omitted"
_NO_TIMEOUT = -1           # and for "timeout omitted"
_EDGE_NAMES = {RISING: "rising", FALLING: "falling", BOTH: "both"}
_EDGE_IDS = {RISING: (EDGE_RISING,), FALLING: (EDGE_FALLING,), BOTH: (EDGE_RISING, EDGE_FALLING)}

_INPUT_FIRST = "You must setup() the GPIO channel as an input first"
_BAD_EDGE = "The edge must be set to RISING, FALLING or BOTH"
_BAD_BOUNCE = "Bouncetime must be greater than 0"
_BAD_TIMEOUT = "Timeout must be greater than 0"
_NOT_CALLABLE = "Parameter must be callable"
_CONFLICT_ADD = "Conflicting edge detection already enabled for this GPIO channel"
_CONFLICT_WAIT = "Conflicting edge detection events already exist for this GPIO channel"
_NO_DETECT = "Add event detection using add_event_detect first before adding a callback"
_ADD_FAILED = "Failed to add edge detection"
_WAIT_FAILED = "Error waiting for edge"


class _Waiter:
    __slots__ = ("fired",)

    def __init__(self) -> None:
        self.fired = False


class _Detection:
    """Edge detection on one gpio (a line listener of the detector's Interruptor)."""

    __slots__ = (
        "active",
        "bouncetime",
        "callbacks",
        "detector",
        "edge",
        "edge_const",
        "gpio",
        "ids",
        "last_ns",
        "latch",
        "thread_added",
        "waiters",
    )

    bias = "as-is"  # RPi.GPIO's setup() owns the pull; detection never changes it

    def __init__(self, detector: EdgeDetector, gpio: int, edge_const: int, bouncetime: int):
        self.detector = detector
        self.gpio = gpio
        self.edge_const = edge_const
        self.edge = _EDGE_NAMES[edge_const]
        self.ids = _EDGE_IDS[edge_const]
        self.bouncetime = bouncetime
        self.last_ns: int | None = None
        self.thread_added = False          # add_event_detect() was called (not only wait_for_edge)
        self.callbacks: list[tuple[int, Callable]] = []
        self.latch = False
        self.waiters: list[_Waiter] = []
        self.active = True

    def deliver(self, event: LineEvent) -> None:
        detector = self.detector
        with detector._cond:
            if not self.active or event.id not in self.ids:
                return
            if not (self.thread_added or self.waiters):
                return  # armed by wait_for_edge but nobody is waiting: RPi.GPIO reads nothing
            if self.bouncetime != _NO_BOUNCE and self.last_ns is not None:
                elapsed = event.timestamp_ns - self.last_ns
                if 0 <= elapsed <= self.bouncetime * 1_000_000:
                    return
            self.last_ns = event.timestamp_ns
            callbacks: list[tuple[int, Callable]] = []
            if self.thread_added:
                self.latch = True
                callbacks = list(self.callbacks)
            if self.waiters:
                for waiter in self.waiters:
                    waiter.fired = True
                detector._cond.notify_all()
        for channel, callback in callbacks:
            try:
                callback(channel)
            except Exception:
                log.exception("event callback %r for channel %s raised", callback, channel)

    def set_edge(self, edge_const: int) -> None:
        self.edge_const = edge_const
        self.ids = _EDGE_IDS[edge_const]


class EdgeDetector:
    """The RPi.GPIO event functions over an :class:`~rpio_interrupts.loop.Interruptor` of its own.

    ``resolve(channel) -> gpio`` maps a channel in the current numbering mode to the chip gpio and
    raises RPi.GPIO's channel errors; ``is_input(gpio) -> bool`` says whether this process set the
    pin up as an input. ``provider`` is the line provider (default: the GPIO character device).

    The detector owns one background thread (``RPIO-events``) from the first detection until
    :meth:`remove_all` / :meth:`close`, like RPi.GPIO's poll thread.
    """

    def __init__(self, resolve: Callable[[Any], int], is_input: Callable[[int], bool],
                 provider: Any = None, *, consumer: str = "RPIO"):
        if not callable(resolve) or not callable(is_input):
            raise TypeError("resolve and is_input must be callables")
        self._resolve = resolve
        self._is_input = is_input
        self._loop = Interruptor(provider, consumer=consumer, max_workers=1, name="RPIO-events")
        self._cond = threading.Condition(threading.RLock())
        self._detections: dict[int, _Detection] = {}
        self._start_lock = threading.Lock()

    # -- plumbing -----------------------------------------------------------------------------
    def set_line_provider(self, provider: Any) -> None:
        """Use ``provider`` for lines requested from now on."""
        self._loop.set_line_provider(provider)

    @property
    def interruptor(self) -> Interruptor:
        return self._loop

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if not self._loop.running:
                try:
                    self._loop.wait_for_interrupts(threaded=True, epoll_timeout=None)
                except LoopRunningError:
                    pass  # started meanwhile (e.g. re-armed from inside a callback)

    def _gpio(self, channel: int) -> int:
        return self._resolve(channel)

    def _checked_input(self, channel, edge: int, bouncetime: int) -> int:
        """RPi.GPIO's checks shared by add_event_detect and wait_for_edge, in its order: the
        channel, that it is an input, the edge, the bouncetime. Returns the gpio."""
        gpio = self._gpio(channel)
        self._check_input(gpio)
        if edge not in _EDGE_NAMES:
            raise ValueError(_BAD_EDGE)
        if bouncetime <= 0 and bouncetime != _NO_BOUNCE:
            raise ValueError(_BAD_BOUNCE)
        return gpio

    def _check_input(self, gpio: int) -> None:
        if not self._is_input(gpio):
            raise RuntimeError(_INPUT_FIRST)

    def _drop(self, det: _Detection) -> None:
        """Forget ``det`` (condition held): release its line and wake its waiters."""
        det.active = False
        det.callbacks.clear()
        det.latch = False
        if self._detections.get(det.gpio) is det:
            del self._detections[det.gpio]
        self._loop.detach_line(det)
        self._cond.notify_all()

    # -- the RPi.GPIO API ---------------------------------------------------------------------
    def add_event_detect(self, *args: Any, **kwargs: Any) -> None:
        """add_event_detect(gpio, edge, callback=None, bouncetime=None)

        Enable edge detection for a channel. ``edge``: RISING, FALLING or BOTH; ``callback``
        gets the channel; ``bouncetime`` in ms."""
        channel, edge, callback, bouncetime = parse_keywords(
            args, kwargs, ("gpio", "edge", "callback", "bouncetime"), 2, "iiOi")
        if bouncetime is MISSING:
            bouncetime = _NO_BOUNCE
        if callback is not MISSING and not callable(callback):
            raise TypeError(_NOT_CALLABLE)
        gpio = self._checked_input(channel, edge, bouncetime)
        with self._cond:
            det = self._detections.get(gpio)
            if det is not None:
                if det.edge_const != edge or det.thread_added or (
                        bouncetime != _NO_BOUNCE and det.bouncetime != bouncetime):
                    raise RuntimeError(_CONFLICT_ADD)
                det.thread_added = True  # armed by wait_for_edge before: take it over
            else:
                det = _Detection(self, gpio, edge, bouncetime)
                try:
                    self._loop.attach_line(gpio, det)
                except Exception as exc:
                    raise RuntimeError(_ADD_FAILED) from exc
                det.thread_added = True
                self._detections[gpio] = det
            if callback is not MISSING:
                det.callbacks.append((channel, callback))
        try:
            self._ensure_thread()
        except Exception as exc:
            with self._cond:
                self._drop(det)
            raise RuntimeError(_ADD_FAILED) from exc

    def add_event_callback(self, *args: Any, **kwargs: Any) -> None:
        """add_event_callback(gpio, callback)

        Add a callback for an event already defined using add_event_detect()."""
        channel, callback = parse_keywords(args, kwargs, ("gpio", "callback"), 2, "iO")
        if not callable(callback):
            raise TypeError(_NOT_CALLABLE)
        gpio = self._gpio(channel)
        self._check_input(gpio)
        with self._cond:
            det = self._detections.get(gpio)
            if det is None:
                raise RuntimeError(_NO_DETECT)
            det.callbacks.append((channel, callback))

    def remove_event_detect(self, *args: Any, **kwargs: Any) -> None:
        """remove_event_detect(channel)

        Remove edge detection for a channel (never raises for a channel without detection)."""
        (channel,) = parse_positional("remove_event_detect", args, kwargs, 1, "i")
        gpio = self._gpio(channel)
        self.remove_gpio(gpio)

    def event_detected(self, *args: Any, **kwargs: Any) -> bool:
        """event_detected(channel)

        True once per detected edge since the last call (the latch is then cleared)."""
        (channel,) = parse_positional("event_detected", args, kwargs, 1, "i")
        gpio = self._gpio(channel)
        with self._cond:
            det = self._detections.get(gpio)
            if det is not None and det.latch:
                det.latch = False
                return True
            return False

    def wait_for_edge(self, *args: Any, **kwargs: Any) -> int | None:
        """wait_for_edge(channel, edge, bouncetime=None, timeout=None)

        Block until an edge; return the channel, or None after ``timeout`` ms."""
        channel, edge, bouncetime, timeout = parse_keywords(
            args, kwargs, ("channel", "edge", "bouncetime", "timeout"), 2, "iiii")
        if bouncetime is MISSING:
            bouncetime = _NO_BOUNCE
        if timeout is MISSING:
            timeout = _NO_TIMEOUT
        gpio = self._checked_input(channel, edge, bouncetime)
        if timeout <= 0 and timeout != _NO_TIMEOUT:
            raise ValueError(_BAD_TIMEOUT)
        waiter = _Waiter()
        with self._cond:
            det = self._detections.get(gpio)
            if det is not None and det.callbacks:
                raise RuntimeError(_CONFLICT_WAIT)
            if det is None:
                det = _Detection(self, gpio, edge, bouncetime)
                try:
                    self._loop.attach_line(gpio, det)
                except Exception as exc:
                    raise RuntimeError(_WAIT_FAILED) from exc
                self._detections[gpio] = det
            elif det.edge_const == edge:
                if det.bouncetime != _NO_BOUNCE and det.bouncetime != bouncetime:
                    raise RuntimeError(_CONFLICT_WAIT)
            else:  # another edge, no callbacks: RPi.GPIO re-arms the pin for this edge
                old = det.edge_const
                det.set_edge(edge)
                try:
                    self._loop.reconfigure_line(det, _EDGE_NAMES[edge])
                except Exception as exc:
                    det.set_edge(old)
                    raise RuntimeError(_WAIT_FAILED) from exc
                det.bouncetime = bouncetime
            det.waiters.append(waiter)
        try:
            self._ensure_thread()
            deadline = None if timeout == _NO_TIMEOUT else time.monotonic() + timeout / 1000.0
            with self._cond:
                while not waiter.fired and det.active:
                    if deadline is None:
                        self._cond.wait()
                    else:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            break
                        self._cond.wait(remaining)
                return channel if waiter.fired else None
        except RuntimeError as exc:
            raise RuntimeError(_WAIT_FAILED) from exc
        finally:
            with self._cond:
                if waiter in det.waiters:
                    det.waiters.remove(waiter)

    # -- cleanup support (for the umbrella's cleanup()) ---------------------------------------
    def has_detection(self, gpio: int) -> bool:
        with self._cond:
            return gpio in self._detections

    def remove_gpio(self, gpio: int) -> None:
        """Remove detection (callbacks, latch, the line) from chip ``gpio``; no error if none."""
        with self._cond:
            det = self._detections.get(gpio)
            if det is not None:
                self._drop(det)

    def remove_all(self) -> None:
        """Remove every detection and stop the background thread."""
        with self._cond:
            for det in list(self._detections.values()):
                self._drop(det)
        self._loop.stop_waiting_for_interrupts()

    def close(self) -> None:
        """remove_all() and release every resource (idempotent)."""
        self.remove_all()
        self._loop.cleanup_interrupts()

    def __repr__(self) -> str:
        return f"<EdgeDetector gpios={sorted(self._detections)}>"
