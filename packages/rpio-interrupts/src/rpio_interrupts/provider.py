"""The line-provider interface: the only thing the loop knows about where edges come from.

A provider hands out *line handles*. A handle's file descriptor becomes readable when edges
arrive and yields whole 48-byte ``struct gpio_v2_line_event`` records (see :mod:`.event`).
Two providers exist: :class:`rpio_interrupts.uapi.ChardevLineProvider` (the Linux GPIO character
device, uAPI v2, the default) and the umbrella package's simulated board.

Rules a provider must follow:

* ``request`` either returns a working handle or raises (``OSError`` subclasses for kernel
  errors, e.g. ``EBUSY`` when another holder has the line, ``EACCES`` without permission) and
  leaves nothing behind.
* Only edges matching the requested ``edge`` are reported ("filtering by the request").
* ``close`` releases the line and is idempotent.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

__all__ = ["BIASES", "EDGES", "Bias", "Edge", "LineHandle", "LineProvider"]

Edge = Literal["rising", "falling", "both"]
Bias = Literal["as-is", "disabled", "pull-up", "pull-down"]

EDGES: tuple[str, ...] = ("rising", "falling", "both")
BIASES: tuple[str, ...] = ("as-is", "disabled", "pull-up", "pull-down")


@runtime_checkable
class LineHandle(Protocol):
    """One requested input line with edge detection."""

    def fileno(self) -> int:
        """A readable fd yielding whole 48-byte gpio_v2_line_event records (epoll-able)."""
        ...

    def get_value(self) -> int:
        """The line's current level, 0 or 1."""
        ...

    def close(self) -> None:
        """Release the line (idempotent)."""
        ...


@runtime_checkable
class LineProvider(Protocol):
    """Hands out line handles for chip gpio numbers."""

    def request(self, gpio: int, *, edge: str, bias: str, consumer: str) -> LineHandle:
        """Request ``gpio`` as an input reporting ``edge`` edges, with ``bias`` applied."""
        ...
