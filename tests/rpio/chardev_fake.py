"""A fake kernel GPIO character device at the ioctl layer, for the chardev backend's logic.

It replaces ``rpio_interrupts.uapi``'s ``ioctl`` (and sees its ``os.close``), so the real uAPI
structs are built, passed and read back exactly as against the kernel. Chips are character
devices that exist everywhere (/dev/null, /dev/zero, ...) reached through ``gpiochipN`` symlinks
in a fake /dev; a chip is told apart by the device number. A line request is a pipe: its read
end is the request fd (edge records are written into the write end, as the kernel queues them),
so C++'s SET/GET_VALUES on it fails (ENOTTY) and the hot path hands every call to the Python
fallback, which this fake serves. The rules are the kernel's (gpiolib-cdev): EBUSY for a held
line, EINVAL for a bias without a direction or an edge on an output, EPERM for setting an input,
ENODEV once a chip has gone away.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass, field

from rpio_interrupts import uapi
from rpio_interrupts.event import encode_event

_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/urandom")
_DIR = uapi.FLAG_INPUT | uapi.FLAG_OUTPUT
_BIAS = uapi.FLAG_BIAS_PULL_UP | uapi.FLAG_BIAS_PULL_DOWN | uapi.FLAG_BIAS_DISABLED
_EDGE = uapi.FLAG_EDGE_RISING | uapi.FLAG_EDGE_FALLING


@dataclass
class FakeLine:
    flags: int = uapi.FLAG_INPUT
    consumer: str = ""
    used: bool = False
    value: int = 0  # what an output drives
    outside: int = 0  # what the world drives onto an input without bias (the sim's "pull")
    request: FakeRequest | None = None
    seqno: int = 0


@dataclass
class FakeChip:
    name: str
    label: str
    lines: list
    rdev: int
    gone: bool = False

    def level(self, offset: int) -> int:
        line = self.lines[offset]
        if line.flags & uapi.FLAG_OUTPUT:
            return line.value
        if line.flags & uapi.FLAG_BIAS_PULL_UP:
            return 1
        if line.flags & uapi.FLAG_BIAS_PULL_DOWN:
            return 0
        return line.outside


@dataclass
class FakeRequest:
    chip: FakeChip
    offsets: tuple
    rfd: int
    wfd: int
    consumer: str
    log: list = field(default_factory=list)


class FakeKernel:
    def __init__(self, dev_dir):
        self.dev_dir = str(dev_dir)
        os.makedirs(self.dev_dir, exist_ok=True)
        self.chips: dict[int, FakeChip] = {}  # rdev -> chip
        self.requests: dict[int, FakeRequest] = {}  # request fd -> request
        self.calls: list[tuple[str, int, int]] = []  # (ioctl name, flags, values) of line calls

    # -- building the world
    def add_chip(self, lines=8, label="fake-gpio", hogs=None) -> str:
        index = len(self.chips)
        device = _DEVICES[index]
        rdev = os.stat(device).st_rdev
        chip = FakeChip(f"gpiochip{index}", label, [FakeLine() for _ in range(lines)], rdev)
        for offset, (consumer, direction) in (hogs or {}).items():
            line = chip.lines[offset]
            line.used, line.consumer = True, consumer
            line.flags = uapi.FLAG_OUTPUT if direction.startswith("output") else uapi.FLAG_INPUT
            line.value = 1 if direction == "output-high" else 0
        self.chips[rdev] = chip
        path = os.path.join(self.dev_dir, chip.name)
        os.symlink(device, path)
        return path

    def chip(self, path) -> FakeChip:
        return self.chips[os.stat(path).st_rdev]

    def drive(self, path, offset, level):
        """The outside world drives an input line; edge records go where the request asks."""
        chip = self.chip(path)
        before = chip.level(offset)
        chip.lines[offset].outside = level
        after = chip.level(offset)
        line = chip.lines[offset]
        if before == after or line.request is None:
            return
        wanted = uapi.FLAG_EDGE_RISING if after else uapi.FLAG_EDGE_FALLING
        if line.flags & wanted:
            line.seqno += 1
            record = encode_event(time.monotonic_ns(), 1 if after else 2, offset, line.seqno, line.seqno)
            os.write(line.request.wfd, record)

    # -- the patched calls
    def install(self, monkeypatch):
        real_os = os

        class _Os:
            def __getattr__(self, name):
                return getattr(real_os, name)

            def close(_self, fd):
                self._closed(fd)
                real_os.close(fd)

        monkeypatch.setattr(uapi, "ioctl", self.ioctl)
        monkeypatch.setattr(uapi, "os", _Os())

    def _closed(self, fd):
        request = self.requests.pop(fd, None)
        if request is None:
            return
        os.close(request.wfd)
        for offset in request.offsets:
            line = request.chip.lines[offset]
            line.used, line.consumer, line.request = False, "", None
            line.flags &= _DIR  # the kernel forgets bias and edges; the direction stays

    def ioctl(self, fd, number, arg, mutate=True):
        request = self.requests.get(fd)
        if request is not None:
            return self._line_ioctl(request, number, arg)
        st = os.fstat(fd)
        chip = self.chips.get(st.st_rdev)
        if chip is None:
            raise OSError(errno.ENOTTY, os.strerror(errno.ENOTTY))
        if chip.gone:
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        if number == uapi.GPIO_GET_CHIPINFO_IOCTL:
            arg.name, arg.label, arg.lines = chip.name.encode(), chip.label.encode(), len(chip.lines)
        elif number == uapi.GPIO_V2_GET_LINEINFO_IOCTL:
            if arg.offset >= len(chip.lines):
                raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
            line = chip.lines[arg.offset]
            arg.consumer = line.consumer.encode()
            arg.flags = line.flags | (uapi.FLAG_USED if line.used else 0)
        elif number == uapi.GPIO_V2_GET_LINE_IOCTL:
            self._get_line(chip, arg)
        else:
            raise OSError(errno.ENOTTY, os.strerror(errno.ENOTTY))
        return 0

    @staticmethod
    def _validate(flags):
        if (flags & _DIR) == _DIR or (flags & _EDGE and not flags & uapi.FLAG_INPUT) or (
                flags & _BIAS and not flags & _DIR) or bin(flags & _BIAS).count("1") > 1:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))

    @staticmethod
    def _output_values(config):
        for i in range(config.num_attrs):
            if config.attrs[i].attr.id == uapi.ATTR_ID_OUTPUT_VALUES:
                return config.attrs[i].attr.values, config.attrs[i].mask
        return 0, 0

    def _get_line(self, chip, req):
        offsets = tuple(req.offsets[i] for i in range(req.num_lines))
        self._validate(req.config.flags)
        if any(chip.lines[o].used for o in offsets):
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))
        rfd, wfd = os.pipe()
        request = FakeRequest(chip, offsets, rfd, wfd, req.consumer.decode())
        self.requests[rfd] = request
        self._apply(request, req.config, "request")
        for offset in offsets:
            line = chip.lines[offset]
            line.used, line.consumer, line.request = True, request.consumer, request
        req.fd = rfd

    def _apply(self, request, config, what):
        bits, mask = self._output_values(config)
        flags = config.flags
        for i, offset in enumerate(request.offsets):
            line = request.chip.lines[offset]
            line.flags = (flags if flags & _DIR else (line.flags & _DIR) | flags)
            if flags & uapi.FLAG_OUTPUT:
                line.value = (bits >> i) & 1 if mask >> i & 1 else 0
        self.calls.append((what, flags, bits))

    def _line_ioctl(self, request, number, arg):
        if request.chip.gone:
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        lines = [request.chip.lines[o] for o in request.offsets]
        if number == uapi.GPIO_V2_LINE_SET_CONFIG_IOCTL:
            self._validate(arg.flags)
            self._apply(request, arg, "set_config")
        elif number == uapi.GPIO_V2_LINE_GET_VALUES_IOCTL:
            arg.bits = sum(request.chip.level(o) << i for i, o in enumerate(request.offsets)
                           if arg.mask >> i & 1)
            self.calls.append(("get_values", 0, arg.bits))
        elif number == uapi.GPIO_V2_LINE_SET_VALUES_IOCTL:
            for i, line in enumerate(lines):
                if arg.mask >> i & 1:
                    if not line.flags & uapi.FLAG_OUTPUT:
                        raise OSError(errno.EPERM, os.strerror(errno.EPERM))
            for i, line in enumerate(lines):
                if arg.mask >> i & 1:
                    line.value = arg.bits >> i & 1
            self.calls.append(("set_values", 0, arg.bits))
        else:
            raise OSError(errno.ENOTTY, os.strerror(errno.ENOTTY))
        return 0
