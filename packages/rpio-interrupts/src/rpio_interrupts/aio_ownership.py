"""Who owns a pin: the interrupt loop, or RPIO.aio's edge streams.

A pin (a gpio of one line provider) is served by one side at a time:

* the **interrupt loop** side: an :class:`~rpio_interrupts.loop.Interruptor` with listeners on the
  pin (``add_interrupt_callback``, or RPi.GPIO's event API, which runs on an Interruptor of its
  own). Whether that Interruptor is run by ``wait_for_interrupts()`` in a thread or by
  ``await rpio_interrupts.aio.wait_for_interrupts()`` on an asyncio loop does not matter: the
  callbacks belong to the Interruptor.
* the **asyncio** side: an open ``rpio_interrupts.aio.edges()`` stream or a pending
  ``aio.wait_for_edge()``. Exactly one of them per pin.

Claiming a pin the other side holds raises :class:`PinOwnedError` before any line is requested,
so the caller gets a message naming the holder instead of the provider's EBUSY. Two interrupt
loops on one pin are not checked here: the provider refuses the second request (EBUSY), as the
kernel does. This module has no dependency on asyncio, so the loop can import it for free.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from .exceptions import ConflictError

__all__ = ["ASYNCIO", "LOOP", "PinOwnedError", "claim", "owners", "release"]

LOOP = "interrupt loop"
ASYNCIO = "asyncio"


class PinOwnedError(ConflictError):
    """The pin is owned by the other side (the interrupt loop or RPIO.aio), or by another RPIO.aio
    stream. A :class:`ConflictError`, so also a ValueError and an AttributeError.

    ``gpio`` is the chip gpio, ``side`` the holder's side (``'interrupt loop'`` or ``'asyncio'``),
    ``holder`` a description of the holder.
    """

    def __init__(self, message: str, *, gpio: int, side: str, holder: str):
        super().__init__(message)
        self.gpio = gpio
        self.side = side
        self.holder = holder


class _Claim:
    __slots__ = ("holder", "provider", "side", "what")

    def __init__(self, provider: Any, side: str, holder: Any, what: str):
        self.provider = provider
        self.side = side
        self.holder = weakref.ref(holder)  # weak: an abandoned stream can still be collected
        self.what = what


_lock = threading.Lock()
_claims: dict[int, list[_Claim]] = {}


def _refusal(gpio: int, channel: Any, side: str, what: str, held: _Claim) -> PinOwnedError:
    pin = f"gpio {gpio}" if channel is None or channel == gpio else f"channel {channel!r} (gpio {gpio})"
    if held.side == LOOP:
        hint = ("remove its callbacks first (del_interrupt_callback / remove_event_detect), or "
                "serve them on asyncio with await RPIO.aio.wait_for_interrupts()")
    elif side == ASYNCIO:
        hint = "close that stream first (leave its 'async with' block or call close())"
    else:
        hint = "close that stream first; a pin is served by the threaded loop or by asyncio, not both"
    return PinOwnedError(f"{pin} is owned by {held.what}; {what} cannot claim it: {hint}",
                         gpio=gpio, side=held.side, holder=held.what)


def claim(provider: Any, gpio: int, side: str, holder: Any, what: str, channel: Any = None) -> None:
    """Record that ``holder`` (on ``side``) serves ``gpio`` of ``provider``.

    Raises :class:`PinOwnedError` if the other side holds it, or (for the asyncio side) if
    anyone else holds it. ``what`` describes the holder in messages.
    """
    with _lock:
        held = _claims.get(gpio, [])
        held[:] = [c for c in held if c.holder() is not None]  # holders gone without release
        for other in held:
            if other.provider is not provider or other.holder() is holder:
                continue
            if other.side != side or side == ASYNCIO:
                raise _refusal(gpio, channel, side, what, other)
        _claims.setdefault(gpio, []).append(_Claim(provider, side, holder, what))


def release(gpio: int, holder: Any) -> None:
    """Forget every claim of ``holder`` on ``gpio`` (idempotent)."""
    with _lock:
        held = _claims.get(gpio)
        if not held:
            return
        held[:] = [c for c in held if c.holder() not in (holder, None)]
        if not held:
            del _claims[gpio]


def owners(gpio: int | None = None) -> list[tuple[int, str, str]]:
    """``[(gpio, side, holder description)]`` of the current claims (all pins, or one)."""
    with _lock:
        return [(g, c.side, c.what) for g, held in sorted(_claims.items()) if gpio in (None, g)
                for c in held if c.holder() is not None]
