"""The header of a Raspberry Pi model as data, and the simulated chip's edge lines.

The lowest layer of the workbench (it imports rpio_core alone): :mod:`.vcd` and :mod:`RPIO.sim`
build on it, :mod:`.board` and the page above them.

- :func:`layout_for` turns a revision code's :class:`~rpio_core.boards.BoardInfo` into a
  :class:`Layout`: the header's rows of two pins (40-pin, 26-pin rev 1 or rev 2, plus the P5 pads
  of rev 2 boards), or, for a compute module (no header), the chip's GPIOs in a list.
- :func:`signal_name`: the signal of a GPIO in an ALT function ('SDA1').
- :func:`open_edge_lines`: non-blocking edge lines of a simulated chip (the page, the recorder).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

import rpio_core
from rpio_core import boards

log = logging.getLogger("RPIO.workbench")


def signal_name(chip: str, gpio: int, function: int) -> Optional[str]:
    """The signal of a GPIO in an ALT function ('SDA1'), None for IN/OUT/NONE or a reserved ALT."""
    if rpio_core.ALT0 <= function < rpio_core.NONE:
        try:
            return boards.alt_function_name(chip, gpio, function - rpio_core.ALT0)
        except ValueError:
            return None
    return None


# ---------------------------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    """One place in the picture: a header pin (number 1..40), or a module GPIO (number None)."""

    number: Optional[int]
    name: str
    kind: str  # 'gpio', 'power', 'ground', 'id'
    gpio: Optional[int]

    def as_dict(self) -> Dict[str, Any]:
        return {"number": self.number, "name": self.name, "kind": self.kind, "gpio": self.gpio}


@dataclass(frozen=True)
class Layout:
    """What a model's header looks like, and which GPIOs are worth watching on it."""

    info: Any  # rpio_core.boards.BoardInfo
    header: Optional[str]  # "40", "26-rev2", "26-rev1", or None (compute module: no header)
    rows: Tuple[Tuple[Pin, Pin], ...]  # the main header, (odd pin, even pin), pin 1 first
    extra: Tuple[Tuple[str, Tuple[Tuple[Pin, Pin], ...]], ...] = ()  # ("P5", rows) on rev 2
    module_gpios: Tuple[int, ...] = ()  # a compute module's GPIOs (no header to draw)

    @property
    def title(self) -> str:
        info = self.info
        what = f"{self.header.split('-')[0]}-pin header" if self.header else "no GPIO header"
        return f"{info.model} (revision {info.rpio_revision_hex}, {info.processor}): {what}"

    @property
    def gpios(self) -> Tuple[int, ...]:
        """Every GPIO the picture shows (header GPIOs and the ID pins, or a module's GPIOs)."""
        if self.module_gpios:
            return self.module_gpios
        found = []
        for _title, rows in (("", self.rows),) + self.extra:
            for pair in rows:
                for pin in pair:
                    if pin.gpio is not None and pin.gpio not in found:
                        found.append(pin.gpio)
        return tuple(found)

    def as_dict(self) -> Dict[str, Any]:
        info = self.info
        return {
            "title": self.title,
            "model": info.model,
            "revision": info.rpio_revision_hex,
            "processor": info.processor,
            "chip": info.chip,
            "header": self.header,
            "rows": [[pin.as_dict() for pin in pair] for pair in self.rows],
            "extra": [
                {"name": name, "rows": [[pin.as_dict() for pin in pair] for pair in rows]}
                for name, rows in self.extra
            ],
            "module_gpios": list(self.module_gpios),
        }


def _rows(header: str) -> Tuple[Tuple[Pin, Pin], ...]:
    pins = [Pin(p.number, p.name, p.kind, p.gpio) for p in boards.header_pins(header)]
    return tuple((pins[i], pins[i + 1]) for i in range(0, len(pins), 2))


def layout_for(info) -> Layout:
    """The layout of a board (a BoardInfo, a revision code or a board name such as 'pi4')."""
    if not isinstance(info, boards.BoardInfo):
        info = boards.decode_revision(boards.resolve_board_name(info))
    header = info.header
    if header is None:
        count = info.gpio_count or 0
        # a compute module brings every GPIO of its chip out on its connector; RP1's 28 user
        # GPIOs and the BCM chips' bank 0-1 are what a carrier board can reach
        module = tuple(range(min(count, 28 if info.chip == "rp1" else 46)))
        return Layout(info, None, (), (), module)
    extra = (("P5", _rows("P5")),) if header == "26-rev2" else ()
    return Layout(info, header, _rows(header), extra)


def open_edge_lines(chip, gpios: Sequence[int], who: str) -> list:
    """Non-blocking event lines of a simulated chip, one per gpio. A line the board refuses (its
    table of subscribers is shared by every process and bounded) is left out, said once: that
    pin's state is still polled, only its edges between two looks go unseen."""
    lines, refused = [], []
    for gpio in gpios:
        try:
            line = chip.request_events(gpio, True, True)
        except (OSError, RuntimeError, ValueError) as error:
            refused.append((gpio, error))
            continue
        os.set_blocking(line.fileno(), False)
        lines.append(line)
    if refused:
        log.warning("%s: no edge line for GPIO %s (%s): polling instead", who,
                    ", ".join(str(gpio) for gpio, _ in refused), refused[0][1])
    return lines


__all__ = ["Layout", "Pin", "layout_for", "open_edge_lines", "signal_name"]
