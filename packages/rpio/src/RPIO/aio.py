"""``RPIO.aio``: RPIO's edges and interrupt callbacks on the running asyncio loop.

rpio_interrupts.aio bound to RPIO's own Interruptor, so channels follow RPIO's numbering mode and
edges come from this board (the kernel on a Pi, the simulated chip elsewhere). Guide:
docs/asyncio.md. ``import RPIO`` does not import asyncio; the first use of ``RPIO.aio`` does.

    async with RPIO.aio.edges(17, edge="falling", pull_up_down=RPIO.PUD_UP) as presses:
        async for event in presses:
            print(event.channel, event.value, event.timestamp_ns)
"""

from rpio_interrupts.aio import (
    BOTH,
    FALLING,
    PUD_DOWN,
    PUD_OFF,
    PUD_UP,
    RISING,
    EdgeEvent,
    EdgeStream,
    PinOwnedError,
    bind,
)

from ._interrupts import interruptor as _interruptor

_bound = bind(_interruptor)

edges = _bound.edges
wait_for_edge = _bound.wait_for_edge
wait_for_interrupts = _bound.wait_for_interrupts

__all__ = [
    "edges", "wait_for_edge", "wait_for_interrupts", "EdgeEvent", "EdgeStream", "PinOwnedError",
    "PUD_OFF", "PUD_DOWN", "PUD_UP", "RISING", "FALLING", "BOTH",
]  # fmt: skip
