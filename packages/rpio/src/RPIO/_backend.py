"""Which GPIO block RPIO drives: a Raspberry Pi's registers, or the simulated board.

Environment (read when RPIO first needs the board, never at import):

``RPIO_BACKEND``    ``auto`` (default): a Raspberry Pi's registers when this is a Pi, else the
                    simulated board; ``hardware``: a Pi or an error; ``sim``: always simulated.
``RPIO_SIM_BOARD``  the simulated model: a revision code (``c03111``) or an alias (``pi4``, see
                    ``rpio_core.boards``); default ``c03111``, a Pi 4 Model B.
``RPIO_DEVMEM``     ``1``: map ``/dev/mem`` at the SoC base instead of ``/dev/gpiomem`` (root only).
``RPIO_ROOT``       the directory that holds ``proc/`` and ``dev/`` (default ``/``); tests point it
                    at a fake tree with a file-backed register page.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import rpio_core
from rpio_core import boards

from .Exceptions import BoardAccessError, UnknownBoardError

log = logging.getLogger("RPIO")

DEFAULT_SIM_BOARD = "c03111"
GPIO_BLOCK_OFFSET = 0x200000  # from the peripheral base, BCM2835..BCM2711
RP1_WINDOW = 0x30000  # IO_BANK + SYS_RIO + PADS of RP1, as /dev/gpiomem0 maps them


@dataclass
class Board:
    """The board RPIO talks to: what it is, and the driver for its GPIO block."""

    info: Any  # rpio_core.boards.BoardInfo
    simulated: bool
    driver: Any = None  # opened by open(): registers are mapped lazily, like RPi.GPIO does
    chip: Any = None  # the simulated chip (its outside world) when simulated
    root: str = "/"
    devmem: bool = False

    @property
    def gpio_count(self) -> int:
        return self.info.gpio_count

    def open(self):
        """Map the registers (or build the model) once; returns the driver."""
        if self.driver is None:
            if self.simulated:
                self.chip = rpio_core.SimChip(self.info.chip)
                self.driver = rpio_core.make_driver(self.info.chip, self.chip)
            else:
                self.driver = rpio_core.make_driver(self.info.chip, self._map_registers())
        return self.driver

    def _map_registers(self):
        if self.info.chip == "rp1":
            path, offset, length = _under(self.root, "dev/gpiomem0"), 0, RP1_WINDOW
        elif self.devmem:
            ranges = boards.soc_ranges_base(self.root)
            if ranges is None:
                raise BoardAccessError("Cannot determine SOC peripheral base address")
            path, offset, length = _under(self.root, "dev/mem"), ranges[0] + GPIO_BLOCK_OFFSET, 4096
        else:
            path, offset, length = _under(self.root, "dev/gpiomem"), 0, 4096
        try:
            bus = rpio_core.MmapBus(path, offset, length)
        except PermissionError:
            raise BoardAccessError(
                f"No access to {path}. Add your user to the 'gpio' group "
                "(sudo adduser $USER gpio, then log in again) or run as root."
            ) from None
        except FileNotFoundError:
            raise BoardAccessError(
                f"{path} does not exist: this kernel does not provide it. As root, "
                "RPIO_DEVMEM=1 maps /dev/mem instead."
            ) from None
        except OSError as error:
            raise BoardAccessError(f"Mmap of GPIO registers failed ({path}: {error})") from None
        log.info("GPIO registers of %s mapped through %s", self.info.model, path)
        return bus


def _under(root: str, relative: str) -> str:
    return os.path.join(root, relative)


def identify(environ: Optional[Mapping[str, str]] = None) -> Board:
    """Decide which board RPIO runs on, without touching any register."""
    environ = os.environ if environ is None else environ
    choice = environ.get("RPIO_BACKEND", "auto").strip().lower() or "auto"
    if choice not in ("auto", "hardware", "sim"):
        raise ValueError(f"RPIO_BACKEND={choice!r}: expected auto, hardware or sim")
    root = environ.get("RPIO_ROOT", "/")
    if choice != "sim":
        info = boards.detect_board(root)
        if info is not None:
            if info.chip is None:
                raise UnknownBoardError(
                    f"This Raspberry Pi (revision {info.revision_hex}, processor "
                    f"{info.processor}) has a SoC RPIO does not know, and RPIO never writes to the "
                    "registers of an unknown chip. Please report it; RPIO_BACKEND=sim runs the "
                    "simulated board."
                )
            log.info("RPIO on %s (revision %s)", info.model, info.revision_hex)
            return Board(info, simulated=False, root=root, devmem=environ.get("RPIO_DEVMEM") == "1")
        if choice == "hardware":
            raise RuntimeError("This module can only be run on a Raspberry Pi!")
    return simulated_board(environ.get("RPIO_SIM_BOARD", DEFAULT_SIM_BOARD))


def simulated_board(name: str = DEFAULT_SIM_BOARD) -> Board:
    """A simulated board of the model named by a revision code or an alias."""
    info = boards.decode_revision(boards.resolve_board_name(name))
    if info.chip is None:
        raise ValueError(f"RPIO_SIM_BOARD={name!r}: RPIO has no model of that board's SoC")
    log.info(
        "No Raspberry Pi here: RPIO drives a simulated %s (revision %s); "
        "RPIO_SIM_BOARD picks another model",
        info.model,
        info.revision_hex,
    )
    return Board(info, simulated=True)
