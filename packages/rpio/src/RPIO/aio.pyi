# The typed face of RPIO.aio: rpio_interrupts.aio's functions bound to RPIO's Interruptor (the
# runtime names are bound methods, whose return types checkers do not follow through the module).
from typing import Literal, TypeAlias

from rpio_interrupts.aio import (
    BOTH as BOTH,
    FALLING as FALLING,
    PUD_DOWN as PUD_DOWN,
    PUD_OFF as PUD_OFF,
    PUD_UP as PUD_UP,
    RISING as RISING,
    EdgeEvent as EdgeEvent,
    EdgeStream as EdgeStream,
    PinOwnedError as PinOwnedError,
)

_Edge: TypeAlias = Literal["rising", "falling", "both"] | int

def edges(
    channel: int,
    edge: _Edge = "both",
    pull_up_down: int = 20,
    debounce_timeout_ms: float | None = None,
    *,
    max_queue: int = 1024,
) -> EdgeStream: ...
async def wait_for_edge(
    channel: int, edge: _Edge = "both", timeout: float | None = None, *, pull_up_down: int = 20
) -> EdgeEvent | None: ...
async def wait_for_interrupts() -> None: ...

__all__ = [
    "edges", "wait_for_edge", "wait_for_interrupts", "EdgeEvent", "EdgeStream", "PinOwnedError",
    "PUD_OFF", "PUD_DOWN", "PUD_UP", "RISING", "FALLING", "BOTH",
]
