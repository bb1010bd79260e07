"""A small facade over the kernel's gpio-sim driver (configfs + sysfs), for the kernel tier.

gpio-sim makes a GPIO chip out of thin air: it is configured under
/sys/kernel/config/gpio-sim/ (Documentation/admin-guide/gpio/gpio-sim.rst) and its lines are
"driven from outside" by writing ``pull-up``/``pull-down`` to
/sys/devices/platform/gpio-sim.N/gpiochipM/sim_gpioK/pull; ``value`` there shows what the line
is (an output's driven level, or an input's pull). Pure Python, root only.

    with Chip(num_lines=8, label="pinctrl-bcm2711", line_names={5: "BUTTON"}) as sim:
        sim.dev_path            # /dev/gpiochipM
        sim.set_pull(5, "pull-up")
        sim.get_value(5)        # 1
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from typing import Self

CONFIGFS = "/sys/kernel/config/gpio-sim"

__all__ = ["CONFIGFS", "Chip", "available"]

_counter = itertools.count()


def available() -> tuple[bool, str]:
    """(True, '') when gpio-sim can be used here, else (False, why not)."""
    if not os.path.isdir("/sys/kernel/config"):
        return False, "configfs is not mounted at /sys/kernel/config"
    if not os.path.isdir(CONFIGFS):
        return False, f"{CONFIGFS} is missing (the gpio-sim module is not loaded)"
    if not os.access(CONFIGFS, os.W_OK):
        return False, f"{CONFIGFS} is not writable (gpio-sim needs root)"
    return True, ""


def _write(path: str, value: str | int) -> None:
    with open(path, "w") as f:
        f.write(str(value))


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


class Chip:
    """One simulated GPIO chip with one bank of ``num_lines`` lines.

    ``line_names``: {offset: name}. ``hogs``: {offset: (consumer, direction)} with direction
    ``'input'``, ``'output-high'`` or ``'output-low'``: the kernel itself holds those lines (as a
    device-tree hog would), so requesting them fails with EBUSY.
    """

    def __init__(
        self,
        num_lines: int = 1,
        label: str | None = None,
        line_names: Mapping[int, str] | None = None,
        hogs: Mapping[int, tuple[str, str]] | None = None,
    ) -> None:
        ok, why = available()
        if not ok:
            raise RuntimeError(f"gpio-sim unavailable: {why}")
        self.num_lines = num_lines
        self.label = label
        self._cfg = f"{CONFIGFS}/rpio-{os.getpid()}-{next(_counter)}"
        self._line_dirs: list[str] = []
        self._hog_dirs: list[str] = []
        self._live = False
        os.mkdir(self._cfg)
        try:
            bank = f"{self._cfg}/bank0"
            os.mkdir(bank)
            _write(f"{bank}/num_lines", num_lines)
            if label is not None:
                _write(f"{bank}/label", label)
            offsets = set(line_names or {}) | set(hogs or {})
            for off in sorted(offsets):
                d = f"{bank}/line{off}"
                os.mkdir(d)
                self._line_dirs.append(d)
                if line_names and off in line_names:
                    _write(f"{d}/name", line_names[off])
                if hogs and off in hogs:
                    consumer, direction = hogs[off]
                    os.mkdir(f"{d}/hog")
                    self._hog_dirs.append(f"{d}/hog")
                    _write(f"{d}/hog/name", consumer)
                    _write(f"{d}/hog/direction", direction)
            _write(f"{self._cfg}/live", 1)
            self._live = True
            self.dev_name = _read(f"{self._cfg}/dev_name")  # gpio-sim.N
            self.name = _read(f"{bank}/chip_name")  # gpiochipM
        except BaseException:
            self.close()
            raise
        self.dev_path = f"/dev/{self.name}"
        self.sysfs = f"/sys/devices/platform/{self.dev_name}/{self.name}"

    def _line(self, offset: int) -> str:
        if not 0 <= offset < self.num_lines:
            raise ValueError(f"line {offset} is not on this {self.num_lines}-line chip")
        return f"{self.sysfs}/sim_gpio{offset}"

    def set_pull(self, offset: int, pull: str) -> None:
        """Drive line ``offset`` from outside: ``'pull-up'`` (1) or ``'pull-down'`` (0)."""
        if pull not in ("pull-up", "pull-down"):
            raise ValueError(f"pull must be 'pull-up' or 'pull-down', not {pull!r}")
        _write(f"{self._line(offset)}/pull", pull)

    def get_pull(self, offset: int) -> str:
        return _read(f"{self._line(offset)}/pull")

    def get_value(self, offset: int) -> int:
        """What the line shows: an output's driven level, otherwise its pull."""
        return int(_read(f"{self._line(offset)}/value"))

    def pull_fd(self, offset: int) -> int:
        """An fd on the line's ``pull`` attribute, for back-to-back writes with os.pwrite(fd, b'pull-up', 0)."""
        return os.open(f"{self._line(offset)}/pull", os.O_WRONLY | os.O_CLOEXEC)

    def close(self) -> None:
        """Take the chip down and remove its configuration (idempotent)."""
        if self._live:
            _write(f"{self._cfg}/live", 0)
            self._live = False
        for d in reversed(self._hog_dirs):
            os.rmdir(d)
        self._hog_dirs.clear()
        for d in reversed(self._line_dirs):
            os.rmdir(d)
        self._line_dirs.clear()
        if os.path.isdir(f"{self._cfg}/bank0"):
            os.rmdir(f"{self._cfg}/bank0")
        if os.path.isdir(self._cfg):
            os.rmdir(self._cfg)

    cleanup = close

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = getattr(self, "dev_path", "not live")
        return f"<gpiosim.Chip {where} label={self.label!r} lines={self.num_lines}>"
