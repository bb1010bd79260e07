"""A minimal GPIO character-device (uAPI v2) output writer, so rpio_pwm's software timing works on a
Pi 5 without any other package. The umbrella ``RPIO`` passes its own writer instead
(:func:`rpio_pwm.set_gpio_writer`). The chip is found by label, never by number.
"""

from __future__ import annotations

import fcntl
import os
import struct
from typing import Callable, Dict, Optional, Sequence

__all__ = ["ChardevWriter", "line_request", "LABELS"]

GPIO_GET_CHIPINFO_IOCTL = 0x8044B401
GPIO_V2_GET_LINE_IOCTL = 0xC250B407
GPIO_V2_LINE_SET_VALUES_IOCTL = 0xC010B40F
GPIO_V2_LINE_FLAG_OUTPUT = 1 << 3
GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES = 2
LINE_REQUEST_SIZE = 592
CHIPINFO_SIZE = 68
LABELS = ("pinctrl-rp1", "pinctrl-bcm2711", "pinctrl-bcm2835")


def line_request(offsets: Sequence[int], consumer: str, flags: int, output_values: int = 0) -> bytearray:
    """struct gpio_v2_line_request (592 bytes) for ``offsets`` with an OUTPUT_VALUES attribute."""
    if not 1 <= len(offsets) <= 64:
        raise ValueError("1..64 lines per request")
    buf = bytearray(LINE_REQUEST_SIZE)
    struct.pack_into(f"={len(offsets)}I", buf, 0, *offsets)
    name = consumer.encode()[:31]
    buf[256:256 + len(name)] = name
    cfg = 288
    struct.pack_into("=QI", buf, cfg, flags, 1)  # flags, num_attrs
    mask = (1 << len(offsets)) - 1
    struct.pack_into("=IIQQ", buf, cfg + 32, GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES, 0, output_values & mask, mask)
    struct.pack_into("=II", buf, 560, len(offsets), 0)  # num_lines, event_buffer_size
    return buf


class ChardevWriter:
    """``writer(gpio, level)`` requests the line as an output on first use, then sets it."""

    def __init__(self, dev_dir: str = "/dev", *, ioctl: Callable = fcntl.ioctl, consumer: str = "rpio-pwm",
                 labels: Sequence[str] = LABELS):
        self._dir = dev_dir
        self._ioctl = ioctl
        self._consumer = consumer
        self._labels = labels
        self._chip_fd: Optional[int] = None
        self._lines: Dict[int, int] = {}

    def chip_path(self) -> str:
        for name in sorted(os.listdir(self._dir)):
            if not name.startswith("gpiochip"):
                continue
            path = os.path.join(self._dir, name)
            try:
                fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                info = bytearray(CHIPINFO_SIZE)
                self._ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, info, True)
                label = info[32:64].split(b"\0", 1)[0].decode(errors="replace")
            except OSError:
                label = ""
            finally:
                os.close(fd)
            if label in self._labels:
                return path
        raise OSError(f"no GPIO chip labelled {' or '.join(self._labels)} in {self._dir}")

    def _line(self, gpio: int, level: int) -> int:
        fd = self._lines.get(gpio)
        if fd is not None:
            return fd
        if self._chip_fd is None:
            self._chip_fd = os.open(self.chip_path(), os.O_RDWR | os.O_CLOEXEC)
        req = line_request([gpio], self._consumer, GPIO_V2_LINE_FLAG_OUTPUT, level)
        self._ioctl(self._chip_fd, GPIO_V2_GET_LINE_IOCTL, req, True)
        fd = struct.unpack_from("=i", req, 588)[0]
        if fd <= 0:
            raise OSError(f"line request for GPIO {gpio} returned no file descriptor")
        self._lines[gpio] = fd
        return fd

    def __call__(self, gpio: int, level: int) -> None:
        fd = self._line(gpio, level)
        vals = bytearray(struct.pack("=QQ", 1 if level else 0, 1))
        self._ioctl(fd, GPIO_V2_LINE_SET_VALUES_IOCTL, vals, True)

    def release(self, gpio: int) -> None:
        fd = self._lines.pop(gpio, None)
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        for g in list(self._lines):
            self.release(g)
        if self._chip_fd is not None:
            os.close(self._chip_fd)
            self._chip_fd = None
