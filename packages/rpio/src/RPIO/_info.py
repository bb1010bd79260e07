"""Board facts: RPI_INFO, RPI_REVISION, RPI_REVISION_HEX, sysinfo() and version()."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version

import rpio_core
from rpio_core import boards

from ._gpio import _state


def _rpio_version() -> str:
    try:
        return _dist_version("rpio")
    except PackageNotFoundError:  # running from a checkout: all four share rpio_core's version
        return rpio_core.__version__


VERSION = _rpio_version()


def rpi_info() -> dict:
    """RPi.GPIO's RPI_INFO for this board (a fresh dict each time). Off a Raspberry Pi (the
    chardev backend on another Linux board): no header (P1_REVISION 0) and the chip as TYPE."""
    board = _state.board
    if not board.on_pi:
        return {"P1_REVISION": 0, "REVISION": "0000", "TYPE": board.info.model,
                "MANUFACTURER": "Unknown", "PROCESSOR": "Unknown", "RAM": "Unknown"}
    return boards.rpi_info(board.info)


def sysinfo() -> tuple:
    """(hex_rev, model, pcb_revision, ram_mb, maker) of this board; never raises."""
    return boards.sysinfo(_state.board.info)


def version() -> tuple:
    """(version of RPIO, version of its register core rpio-core)."""
    return VERSION, rpio_core.__version__


# Module attributes computed on first access (PEP 562), so `import RPIO` reads no file.
LAZY_ATTRIBUTES = {
    "RPI_INFO": rpi_info,
    "RPI_REVISION": lambda: _state.board.info.p1_revision,
    "RPI_REVISION_HEX": lambda: _state.board.info.rpio_revision_hex,
}
