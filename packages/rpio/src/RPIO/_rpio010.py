"""RPIO 0.10's module-level names that RPIO 2 keeps for old programs: VERSION_GPIO, MODEL_DATA,
GPIO_LIST_R1, GPIO_LIST_R2, HEADER_P5 and PIN_LIST. Derived from rpio_core's board tables (the one
place chip and header facts live), so they cannot drift from what setup() accepts."""

from __future__ import annotations

from collections.abc import Mapping

import rpio_core
from rpio_core import boards

# 0.10 reported "its version/RPi.GPIO's version" of the C GPIO code; RPIO 2's is rpio-core.
VERSION_GPIO = rpio_core.__version__


def _header_gpios(header: str) -> list[int]:
    return [pin.gpio for pin in boards.header_pins(header) if pin.gpio is not None]


GPIO_LIST_R1 = tuple(sorted(boards.board_to_bcm_map(1).values()))
GPIO_LIST_R2 = tuple(sorted(list(boards.board_to_bcm_map(2).values()) + _header_gpios("P5")))

# 0.10's board pins of the revision 2 P1 header, then its P5 header's gpio pins tagged 5 << 8
HEADER_P5 = 5 << 8
PIN_LIST = tuple(sorted(boards.board_to_bcm_map(2))) + tuple(
    pin.number | HEADER_P5 for pin in boards.header_pins("P5") if pin.gpio is not None
)


class _ModelData(Mapping):
    """0.10's MODEL_DATA: ``{revision hex without leading zeros: (model, pcb_revision, ram_mb,
    maker)}``. It lists the old-style codes 0.10 knew about, and answers for every code RPIO knows
    (``MODEL_DATA['c03111']``), so 0.10's ``MODEL_DATA[RPI_REVISION_HEX.lstrip('0')]`` works on
    today's boards; an unknown code is a KeyError, as in 0.10."""

    _LISTED = ("2", "3", "4", "5", "6", "7", "8", "9", "d", "e", "f")

    def __getitem__(self, key):
        if not isinstance(key, str) or not key or key != key.lstrip("0"):
            raise KeyError(key)
        try:
            info = boards.decode_revision(key)
        except (TypeError, ValueError):
            raise KeyError(key) from None
        entry = boards.sysinfo(info)[1:]
        if entry[0] == "Unknown":
            raise KeyError(key)
        return entry

    def __iter__(self):
        return iter(self._LISTED)

    def __len__(self) -> int:
        return len(self._LISTED)

    def __contains__(self, key) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __repr__(self) -> str:
        return repr(dict(self.items()))


MODEL_DATA = _ModelData()
