"""The kernel's hardware PWM through /sys/class/pwm (Pi 5: RP1 PWM0; Pi 0-4: the BCM PWM block).

Chips are found by the name of their ``device`` (``1f00098000.pwm`` on the Pi 5, ``7e20c000.pwm`` on
Pi 0-4), never by the chip number, which changed between kernels (pwmchip2 -> pwmchip0 on the Pi 5).
The pin must be muxed to its PWM function by a device-tree overlay (``dtoverlay=pwm-2chan`` gives
GPIO 18/19) or by ``pinctrl``; writing the pin as a GPIO would take it back from the PWM block.
"""

from __future__ import annotations

import os
import re
import time
from typing import Callable, Dict, Iterable, Optional

__all__ = ["SysfsPwmChip", "PI5_DEVICE", "LEGACY_DEVICE", "PI5_GPIO_CHANNELS", "LEGACY_GPIO_CHANNELS", "find_chip",
           "find_pio_overlay_chips"]

PI5_DEVICE = "1f00098000.pwm"
LEGACY_DEVICE = "7e20c000.pwm"
# RP1 PWM0: GPIO12 -> ch0, 13 -> ch1 (function a0), 18 -> ch2, 19 -> ch3 (function a3)
PI5_GPIO_CHANNELS = {12: 0, 13: 1, 18: 2, 19: 3}
# BCM PWM0: PWM0 on 12/18/40/52, PWM1 on 13/19/41/45/53
LEGACY_GPIO_CHANNELS = {12: 0, 18: 0, 40: 0, 52: 0, 13: 1, 19: 1, 41: 1, 45: 1, 53: 1}


def _pwm_chips(root: str):
    """(pwmchipN directory, the name of the device node its ``device`` link points at), in order."""
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return
    for e in entries:
        if not e.startswith("pwmchip"):
            continue
        dev = os.path.join(root, e, "device")
        try:
            target = os.readlink(dev)
        except OSError:
            target = os.path.realpath(dev) if os.path.exists(dev) else ""
        yield os.path.join(root, e), os.path.basename(target.rstrip("/"))


def find_chip(root: str, device_names: Iterable[str]) -> Optional[str]:
    """The pwmchipN directory under ``root`` whose ``device`` link points at one of ``device_names``."""
    names = set(device_names)
    return next((path for path, device in _pwm_chips(root) if device in names), None)


PIO_OVERLAY_COMPATIBLE = "raspberrypi,pwm-pio-rp1"
_PIO_OVERLAY_NODE = re.compile(r"pwm_pio@([0-9a-fA-F]+)$")


def find_pio_overlay_chips(root: str = "/sys/class/pwm") -> Dict[int, SysfsPwmChip]:
    """The channels of the kernel's ``pwm-pio`` overlay (``dtoverlay=pwm-pio,gpio=N``): one pwmchip
    per instance, whose device is the node ``pwm_pio@N`` (compatible ``raspberrypi,pwm-pio-rp1``) and
    whose one channel drives GPIO N through a PIO state machine the kernel holds. gpio -> chip."""
    found: Dict[int, SysfsPwmChip] = {}
    for path, device in _pwm_chips(root):
        m = _PIO_OVERLAY_NODE.search(device)
        compatible = b""
        try:
            with open(os.path.join(path, "device", "of_node", "compatible"), "rb") as f:
                compatible = f.read(256)
        except OSError:
            pass
        if m is None or (compatible and PIO_OVERLAY_COMPATIBLE.encode() not in compatible):
            continue
        gpio = int(m.group(1), 16)  # a DT unit address is hexadecimal
        try:
            found[gpio] = SysfsPwmChip(path, {gpio: 0})
        except (OSError, ValueError):
            continue
    return found


class SysfsPwmChip:
    """One pwmchip: export channels, set period/duty in nanoseconds, enable and disable them."""

    def __init__(self, path: str, gpio_channels: Dict[int, int], *, export_timeout_s: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.path = path
        self.gpio_channels = dict(gpio_channels)
        self._timeout = export_timeout_s
        self._sleep = sleep
        with open(os.path.join(path, "npwm")) as f:
            self.npwm = int(f.read().strip())

    @classmethod
    def find(cls, root: str = "/sys/class/pwm", *, pi5: bool = True, **kw) -> Optional[SysfsPwmChip]:
        device = PI5_DEVICE if pi5 else LEGACY_DEVICE
        path = find_chip(root, [device])
        if path is None:
            return None
        return cls(path, PI5_GPIO_CHANNELS if pi5 else LEGACY_GPIO_CHANNELS, **kw)

    def channel_for(self, gpio: int) -> Optional[int]:
        ch = self.gpio_channels.get(gpio)
        return ch if ch is not None and ch < self.npwm else None

    # ---- file helpers
    def _ch_path(self, channel: int, name: str = "") -> str:
        return os.path.join(self.path, f"pwm{channel}", name)

    def _write(self, path: str, value) -> None:
        with open(path, "w") as f:
            f.write(f"{value}\n")

    def _read_int(self, path: str) -> int:
        try:
            with open(path) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def export(self, channel: int) -> None:
        if not 0 <= channel < self.npwm:
            raise ValueError(f"{self.path} has no PWM channel {channel}")
        if os.path.isdir(self._ch_path(channel)):
            return
        self._write(os.path.join(self.path, "export"), channel)
        deadline = time.monotonic() + self._timeout
        # udev fixes the new files' permissions shortly after the directory appears
        while not os.access(self._ch_path(channel, "period"), os.W_OK):
            if time.monotonic() > deadline:
                raise OSError(f"{self._ch_path(channel)} did not appear after export")
            self._sleep(0.01)

    def configure(self, channel: int, period_ns: int, duty_ns: int) -> None:
        """Sets period and duty (kernel rule: duty <= period at every step) and enables the channel."""
        if period_ns <= 0 or not 0 <= duty_ns <= period_ns:
            raise ValueError(f"bad PWM setting: period {period_ns} ns, duty {duty_ns} ns")
        self.export(channel)
        cur_duty = self._read_int(self._ch_path(channel, "duty_cycle"))
        if cur_duty > period_ns:
            self._write(self._ch_path(channel, "duty_cycle"), duty_ns)
            self._write(self._ch_path(channel, "period"), period_ns)
        else:
            self._write(self._ch_path(channel, "period"), period_ns)
            self._write(self._ch_path(channel, "duty_cycle"), duty_ns)
        self._write(self._ch_path(channel, "enable"), 1)

    def disable(self, channel: int, unexport: bool = True) -> None:
        if not os.path.isdir(self._ch_path(channel)):
            return
        self._write(self._ch_path(channel, "duty_cycle"), 0)
        self._write(self._ch_path(channel, "enable"), 0)
        if unexport:
            self._write(os.path.join(self.path, "unexport"), channel)
