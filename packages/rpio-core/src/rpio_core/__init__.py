"""RPIO register core: buses, chip drivers, simulated chips and the GPIO hot path.

The drivers are written once in C++ against a bus (``read32``/``write32``): an ``MmapBus`` over
``/dev/gpiomem``, ``/dev/gpiomem0``, ``/dev/mem`` or a file, or a simulated chip whose registers
have the real side effects. ``fast_output``/``fast_input`` are the hot path of ``RPIO.output`` and
``RPIO.input``; every case they do not serve goes to the Python fallbacks bound with
``fastpath_bind``. Board knowledge lives in :mod:`rpio_core.boards`.
"""

from __future__ import annotations

import atexit
from typing import TYPE_CHECKING

from ._core import (  # benchmark baselines (bench/io.py)
    ALT0,
    ALT1,
    ALT2,
    ALT3,
    ALT4,
    ALT5,
    ALT6,
    ALT7,
    ALT8,
    INPUT,
    NONE,
    OUTPUT,
    PULL_DOWN,
    PULL_OFF,
    PULL_UNKNOWN,
    PULL_UP,
    Bcm2711Driver,
    Bcm2835Driver,
    Bus,
    ChardevLines,
    Driver,
    HistoryEntry,
    MmapBus,
    PinState,
    Rp1Driver,
    SimBcm2711,
    SimBcm2835,
    SimChip,
    SimEventLine,
    SimRp1,
    __version__,
    fastpath_bind,
    fastpath_reset,
    fastpath_set_channel_map,
    fastpath_set_direction,
    fastpath_state,
    function_name,
    list_boards,
    open_board,
    reset_board,
)
from ._core import _shutdown as _shutdown
from ._core import board_segment_path as board_segment_path
from ._core import (
    _bench_fastcall_noop2 as _bench_fastcall_noop2,  # baselines for bench/io.py
)
from ._core import _bench_noop2 as _bench_noop2
from ._core import input as fast_input
from ._core import output as fast_output

if TYPE_CHECKING:
    from . import boards

__all__ = [
    "ALT0",
    "ALT1",
    "ALT2",
    "ALT3",
    "ALT4",
    "ALT5",
    "ALT6",
    "ALT7",
    "ALT8",
    "CHIP_KINDS",
    "INPUT",
    "NONE",
    "OUTPUT",
    "PULL_DOWN",
    "PULL_OFF",
    "PULL_UNKNOWN",
    "PULL_UP",
    "Bcm2711Driver",
    "Bcm2835Driver",
    "Bus",
    "ChardevLines",
    "Driver",
    "HistoryEntry",
    "MmapBus",
    "PinState",
    "Rp1Driver",
    "SimBcm2711",
    "SimBcm2835",
    "SimChip",
    "SimEventLine",
    "SimRp1",
    "__version__",
    "boards",
    "fast_input",
    "fast_output",
    "fastpath_bind",
    "fastpath_reset",
    "fastpath_set_channel_map",
    "fastpath_set_direction",
    "fastpath_state",
    "function_name",
    "list_boards",
    "make_driver",
    "open_board",
    "reset_board",
    "sim_chip",
]

# Chip kinds and the driver class each one uses (BCM2836/2837 share the BCM2835 GPIO block).
_DRIVERS = {
    "bcm2835": Bcm2835Driver,
    "bcm2836": Bcm2835Driver,
    "bcm2837": Bcm2835Driver,
    "bcm2711": Bcm2711Driver,
    "rp1": Rp1Driver,
}
CHIP_KINDS = tuple(_DRIVERS)


def _check_kind(chip_kind: str) -> str:
    if chip_kind not in _DRIVERS:
        raise ValueError(f"unknown chip kind {chip_kind!r}; expected one of {', '.join(CHIP_KINDS)}")
    return chip_kind


def make_driver(chip_kind: str, bus: Bus) -> Driver:
    """The driver for ``chip_kind`` ('bcm2835', 'bcm2836', 'bcm2837', 'bcm2711', 'rp1') over ``bus``."""
    return _DRIVERS[_check_kind(chip_kind)](bus)


def sim_chip(chip_kind: str, *, history_capacity: int = 65536) -> SimChip:
    """A fresh simulated chip of ``chip_kind`` in its reset state (same as ``SimChip(chip_kind)``)."""
    return SimChip(_check_kind(chip_kind), history_capacity=history_capacity)


# A generator runs in a thread of the process that started it: it stops when that process ends.
# On a normal exit this detaches from every board first (this process's event lines and
# generators leave the shared boards at once); after a crash the next process to attach cleans up.
atexit.register(_shutdown)


def __getattr__(name: str) -> object:
    # Board data is imported on first use, so `import rpio_core` stays cheap.
    if name == "boards":
        import importlib

        return importlib.import_module(".boards", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
