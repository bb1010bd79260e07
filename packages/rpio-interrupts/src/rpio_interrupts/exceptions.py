"""Exceptions raised by rpio-interrupts.

Every class derives from :class:`InterruptError` (so ``except InterruptError`` catches them all)
and from the builtin that matches the failure. Argument errors derive from **both** ``ValueError``
(what a modern caller expects) and ``AttributeError`` (what RPIO 0.10 raised for a bad edge,
pull or callback), so code written against either keeps working.
"""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "InterruptError",
    "InvalidArgumentError",
    "InvalidCallbackError",
    "InvalidChannelError",
    "InvalidEdgeError",
    "InvalidPullError",
    "LoopRunningError",
    "NotRegisteredError",
    "TcpSendLimitError",
]


class InterruptError(Exception):
    """Base class of every rpio-interrupts error."""


class InvalidArgumentError(InterruptError, ValueError, AttributeError):
    """An argument has a bad value (also a ValueError, and an AttributeError as in RPIO 0.10)."""


class InvalidChannelError(InvalidArgumentError):
    """The gpio id / channel is not a valid pin."""


class InvalidEdgeError(InvalidArgumentError):
    """The edge is not 'rising', 'falling' or 'both'."""


class InvalidPullError(InvalidArgumentError):
    """The pull_up_down value is not PUD_OFF, PUD_DOWN or PUD_UP."""


class InvalidCallbackError(InterruptError, TypeError, AttributeError):
    """The callback is not callable (also a TypeError; RPIO 0.10 raised AttributeError)."""


class ConflictError(InvalidArgumentError):
    """The request conflicts with an existing registration (e.g. a different pull on one pin)."""


class NotRegisteredError(InterruptError, KeyError):
    """Nothing is registered under that gpio id, port or file number (a KeyError, as in RPIO 0.10)."""

    def __str__(self) -> str:  # KeyError's str() quotes the message; keep it readable
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class LoopRunningError(InterruptError, RuntimeError):
    """wait_for_interrupts() was called while the loop is already running."""


class TcpSendLimitError(InterruptError, BrokenPipeError):
    """A TCP client's buffered outgoing data passed the limit; the client was closed."""
