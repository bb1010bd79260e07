"""The simulated board, seen from outside the chip: drive inputs, watch levels, read history.

On a machine without GPIO hardware ``import RPIO`` drives a simulated Raspberry Pi (a register
model of its chip, running the same driver code as a real Pi). This module is the bench around it::

    import RPIO, RPIO.sim
    RPIO.setup(17, RPIO.IN)
    RPIO.sim.drive(17, 1)          # something outside pulls GPIO 17 high
    assert RPIO.input(17) == 1
    RPIO.sim.release(17)           # nothing drives it: the pull decides, floating reads 0

Channels are given in the current numbering mode (BCM by default), like every RPIO call.
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional

from . import _backend
from ._gpio import _state


class LevelChange(NamedTuple):
    """One entry of the board's history: when (CLOCK_MONOTONIC ns), which gpio, which level."""

    timestamp_ns: int
    gpio: int
    level: int


def chip():
    """The simulated chip of the current board (``rpio_core.SimChip``)."""
    board = _state.board
    if not board.simulated:
        raise RuntimeError("RPIO drives a real Raspberry Pi here: there is no simulated board")
    _state.driver  # builds the model on first use
    return board.chip


def is_simulated() -> bool:
    """True when RPIO drives the simulated board."""
    return _state.board.simulated


def use_board(name: str = _backend.DEFAULT_SIM_BOARD):
    """Start again on a fresh simulated board of the named model (revision code or alias).

    Everything this process set up is forgotten, as after a new ``import RPIO``; returns the chip.
    """
    _state.use_board(_backend.simulated_board(name))
    return chip()


def drive(channel: int, level: Optional[int]) -> None:
    """Drive a pin from outside: 1 or 0, or None to let go of it."""
    if level is not None and level not in (0, 1):
        raise ValueError(f"level must be 0, 1 or None, not {level!r}")
    chip().drive(_state.gpio_number(channel), level)


def release(channel: int) -> None:
    """Stop driving a pin from outside: its pull (or nothing) decides its level again."""
    drive(channel, None)


def level(channel: int) -> int:
    """The level a pin shows right now, whatever its function (a floating pin reads 0)."""
    return chip().level(_state.gpio_number(channel))


def history(channel: Optional[int] = None) -> List[LevelChange]:
    """Every level change the board recorded, oldest first, optionally for one channel only."""
    gpio = None if channel is None else _state.gpio_number(channel)
    return [
        LevelChange(*entry) for entry in chip().history() if gpio is None or entry[1] == gpio
    ]


def clear_history() -> None:
    """Forget the recorded level changes."""
    chip().clear_history()


__all__ = [
    "LevelChange",
    "chip",
    "is_simulated",
    "use_board",
    "drive",
    "release",
    "level",
    "history",
    "clear_history",
]
