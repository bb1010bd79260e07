"""The Linux GPIO character device, uAPI v2, in pure Python (ctypes + fcntl.ioctl).

This is how RPIO reaches the kernel's GPIO lines for edge events: ``/dev/gpiochipN`` opened,
lines requested with ``GPIO_V2_GET_LINE_IOCTL``, edges read as 48-byte
``struct gpio_v2_line_event`` records from the request's file descriptor. Never sysfs.

The layouts below are those of ``include/uapi/linux/gpio.h``; they are the same on 32- and 64-bit
kernels (the header pads them explicitly) and their sizes are checked at import.

Public pieces:

- :class:`Chip` -- one ``/dev/gpiochipN``: :meth:`Chip.info`, :meth:`Chip.line_info`,
  :meth:`Chip.request_lines`.
- :class:`LineRequest` -- a set of requested lines: values, :meth:`~LineRequest.reconfigure`,
  :meth:`~LineRequest.read_events`, :meth:`~LineRequest.fileno` for poll/epoll.
- :func:`find_chip` -- the Raspberry Pi's main GPIO chip, by label or device-tree compatible,
  never by number (it is ``gpiochip0`` on Pi 0-4 and on newer Pi 5 kernels, ``gpiochip4`` on older).
- :class:`ChardevLineProvider` -- the line provider the interrupt loop uses on real hardware.
- Errors: :class:`LineBusyError` (EBUSY, says who holds the line), :class:`ChipNotFoundError`
  (ENOENT), :class:`LineConfigError` (EINVAL, names the refused combination), and
  :class:`PermissionError` with a message that says what to do.
"""

from __future__ import annotations

import ctypes
import errno
import grp
import os
import re
import select
import stat
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fcntl import ioctl
from typing import Self

from .event import EVENT_SIZE, LineEvent, decode_events, encode_event
from .exceptions import InterruptError

__all__ = [
    "EVENT_SIZE",
    "LINES_MAX",
    "MAX_EVENT_BUFFER_SIZE",
    "RPI_CHIP_COMPATIBLES",
    "RPI_CHIP_LABELS",
    "ChardevLineProvider",
    "Chip",
    "ChipInfo",
    "ChipNotFoundError",
    "LineBusyError",
    "LineConfigError",
    "LineEvent",
    "LineInfo",
    "LineRequest",
    "decode_events",
    "encode_event",
    "find_chip",
    "flags_to_names",
    "list_chips",
    "request_lines",
]

# --------------------------------------------------------------------------------------------
# Kernel ABI: sizes, flags, attribute ids, ioctl numbers
# --------------------------------------------------------------------------------------------

MAX_NAME_SIZE = 32
LINES_MAX = 64
NUM_ATTRS_MAX = 10

FLAG_USED = 1 << 0
FLAG_ACTIVE_LOW = 1 << 1
FLAG_INPUT = 1 << 2
FLAG_OUTPUT = 1 << 3
FLAG_EDGE_RISING = 1 << 4
FLAG_EDGE_FALLING = 1 << 5
FLAG_OPEN_DRAIN = 1 << 6
FLAG_OPEN_SOURCE = 1 << 7
FLAG_BIAS_PULL_UP = 1 << 8
FLAG_BIAS_PULL_DOWN = 1 << 9
FLAG_BIAS_DISABLED = 1 << 10
FLAG_EVENT_CLOCK_REALTIME = 1 << 11
FLAG_EVENT_CLOCK_HTE = 1 << 12

_FLAG_NAMES = (
    (FLAG_USED, "USED"),
    (FLAG_ACTIVE_LOW, "ACTIVE_LOW"),
    (FLAG_INPUT, "INPUT"),
    (FLAG_OUTPUT, "OUTPUT"),
    (FLAG_EDGE_RISING, "EDGE_RISING"),
    (FLAG_EDGE_FALLING, "EDGE_FALLING"),
    (FLAG_OPEN_DRAIN, "OPEN_DRAIN"),
    (FLAG_OPEN_SOURCE, "OPEN_SOURCE"),
    (FLAG_BIAS_PULL_UP, "BIAS_PULL_UP"),
    (FLAG_BIAS_PULL_DOWN, "BIAS_PULL_DOWN"),
    (FLAG_BIAS_DISABLED, "BIAS_DISABLED"),
    (FLAG_EVENT_CLOCK_REALTIME, "EVENT_CLOCK_REALTIME"),
    (FLAG_EVENT_CLOCK_HTE, "EVENT_CLOCK_HTE"),
)

ATTR_ID_FLAGS = 1
ATTR_ID_OUTPUT_VALUES = 2
ATTR_ID_DEBOUNCE = 3

_DIRECTIONS = {"input": FLAG_INPUT, "output": FLAG_OUTPUT, "as-is": 0}
_EDGES = {
    None: 0,
    "none": 0,
    "rising": FLAG_EDGE_RISING,
    "falling": FLAG_EDGE_FALLING,
    "both": FLAG_EDGE_RISING | FLAG_EDGE_FALLING,
}
_BIASES = {
    "as-is": 0,
    "disabled": FLAG_BIAS_DISABLED,
    "pull-up": FLAG_BIAS_PULL_UP,
    "pull-down": FLAG_BIAS_PULL_DOWN,
}

RPI_CHIP_LABELS = ("pinctrl-bcm2835", "pinctrl-bcm2711", "pinctrl-rp1")
RPI_CHIP_COMPATIBLES = ("brcm,bcm2835-gpio", "brcm,bcm2711-gpio", "raspberrypi,rp1-gpio")


class _ChipInfoStruct(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char * MAX_NAME_SIZE),
        ("label", ctypes.c_char * MAX_NAME_SIZE),
        ("lines", ctypes.c_uint32),
    ]


class _AttrUnion(ctypes.Union):
    _fields_ = [
        ("flags", ctypes.c_uint64),
        ("values", ctypes.c_uint64),
        ("debounce_period_us", ctypes.c_uint32),
    ]


class _LineAttribute(ctypes.Structure):
    _anonymous_ = ("u",)
    _fields_ = [("id", ctypes.c_uint32), ("padding", ctypes.c_uint32), ("u", _AttrUnion)]


class _LineConfigAttribute(ctypes.Structure):
    _fields_ = [("attr", _LineAttribute), ("mask", ctypes.c_uint64)]


class _LineConfig(ctypes.Structure):
    _fields_ = [
        ("flags", ctypes.c_uint64),
        ("num_attrs", ctypes.c_uint32),
        ("padding", ctypes.c_uint32 * 5),
        ("attrs", _LineConfigAttribute * NUM_ATTRS_MAX),
    ]


class _LineRequestStruct(ctypes.Structure):
    _fields_ = [
        ("offsets", ctypes.c_uint32 * LINES_MAX),
        ("consumer", ctypes.c_char * MAX_NAME_SIZE),
        ("config", _LineConfig),
        ("num_lines", ctypes.c_uint32),
        ("event_buffer_size", ctypes.c_uint32),
        ("padding", ctypes.c_uint32 * 5),
        ("fd", ctypes.c_int32),
    ]


class _LineInfoStruct(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char * MAX_NAME_SIZE),
        ("consumer", ctypes.c_char * MAX_NAME_SIZE),
        ("offset", ctypes.c_uint32),
        ("num_attrs", ctypes.c_uint32),
        ("flags", ctypes.c_uint64),
        ("attrs", _LineAttribute * NUM_ATTRS_MAX),
        ("padding", ctypes.c_uint32 * 4),
    ]


class _LineValues(ctypes.Structure):
    _fields_ = [("bits", ctypes.c_uint64), ("mask", ctypes.c_uint64)]


class _LineEventStruct(ctypes.Structure):
    _fields_ = [
        ("timestamp_ns", ctypes.c_uint64),
        ("id", ctypes.c_uint32),
        ("offset", ctypes.c_uint32),
        ("seqno", ctypes.c_uint32),
        ("line_seqno", ctypes.c_uint32),
        ("padding", ctypes.c_uint32 * 6),
    ]


def _check_layout() -> None:
    sizes = {
        _ChipInfoStruct: 68,
        _LineAttribute: 16,
        _LineConfigAttribute: 24,
        _LineConfig: 272,
        _LineRequestStruct: 592,
        _LineInfoStruct: 256,
        _LineValues: 16,
        _LineEventStruct: 48,
    }
    for cls, size in sizes.items():
        if ctypes.sizeof(cls) != size:  # pragma: no cover - a broken ctypes/ABI, not a user error
            raise ImportError(f"uAPI v2 layout: {cls.__name__} is {ctypes.sizeof(cls)} bytes, not {size}")
    if _LineRequestStruct.fd.offset != 588 or _LineInfoStruct.attrs.offset != 80:  # pragma: no cover
        raise ImportError("uAPI v2 layout: field offsets differ from include/uapi/linux/gpio.h")
    if EVENT_SIZE != ctypes.sizeof(_LineEventStruct):  # pragma: no cover
        raise ImportError("event.EVENT_SIZE disagrees with struct gpio_v2_line_event")


_check_layout()

_IOC_WRITE = 1
_IOC_READ = 2


def _ioc(direction: int, nr: int, size: int) -> int:
    # asm-generic/ioctl.h: dir<<30 | size<<16 | type<<8 | nr, type 0xB4 for GPIO
    return (direction << 30) | (size << 16) | (0xB4 << 8) | nr


GPIO_GET_CHIPINFO_IOCTL = _ioc(_IOC_READ, 0x01, ctypes.sizeof(_ChipInfoStruct))
GPIO_V2_GET_LINEINFO_IOCTL = _ioc(_IOC_READ | _IOC_WRITE, 0x05, ctypes.sizeof(_LineInfoStruct))
GPIO_V2_GET_LINEINFO_WATCH_IOCTL = _ioc(_IOC_READ | _IOC_WRITE, 0x06, ctypes.sizeof(_LineInfoStruct))
GPIO_V2_GET_LINE_IOCTL = _ioc(_IOC_READ | _IOC_WRITE, 0x07, ctypes.sizeof(_LineRequestStruct))
GPIO_GET_LINEINFO_UNWATCH_IOCTL = _ioc(_IOC_READ | _IOC_WRITE, 0x0C, 4)
GPIO_V2_LINE_SET_CONFIG_IOCTL = _ioc(_IOC_READ | _IOC_WRITE, 0x0D, ctypes.sizeof(_LineConfig))
GPIO_V2_LINE_GET_VALUES_IOCTL = _ioc(_IOC_READ | _IOC_WRITE, 0x0E, ctypes.sizeof(_LineValues))
GPIO_V2_LINE_SET_VALUES_IOCTL = _ioc(_IOC_READ | _IOC_WRITE, 0x0F, ctypes.sizeof(_LineValues))

# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class LineBusyError(OSError, InterruptError):
    """A requested line is held already (EBUSY): by a kernel driver, a hog or another request.

    ``offsets`` are the busy lines, ``consumer`` the label of the first one's holder (from the
    line info), ``holders`` the processes found holding it (``[(pid, command)]``, may be empty),
    ``holder_text`` the sentence that says who holds it.
    """

    def __init__(
        self,
        message: str,
        *,
        chip: str = "",
        offsets: Sequence[int] = (),
        consumer: str = "",
        holders: Sequence[tuple[int, str]] = (),
        holder_text: str = "",
    ) -> None:
        super().__init__(errno.EBUSY, message)
        self.chip = chip
        self.offsets = tuple(offsets)
        self.consumer = consumer
        self.holders = tuple(holders)
        self.holder_text = holder_text


class ChipNotFoundError(FileNotFoundError, InterruptError):
    """No such GPIO chip: the device node is missing, or no chip has the wanted label."""

    def __init__(self, message: str, filename: str | None = None) -> None:
        if filename is None:
            super().__init__(errno.ENOENT, message)
        else:
            super().__init__(errno.ENOENT, message, filename)


class LineConfigError(OSError, InterruptError, ValueError):
    """The kernel refuses (or would refuse) this line request or configuration (EINVAL).

    Also a :class:`ValueError`: it is raised before any system call for arguments that
    cannot work (an edge on an output, a bias on an as-is line, an offset the chip lacks).
    """

    def __init__(self, message: str) -> None:
        super().__init__(errno.EINVAL, message)


def flags_to_names(flags: int) -> str:
    """``'INPUT|EDGE_RISING|BIAS_PULL_UP'`` for a flags word (unknown bits as hex)."""
    names = [name for bit, name in _FLAG_NAMES if flags & bit]
    rest = flags & ~sum(bit for bit, _ in _FLAG_NAMES)
    if rest:
        names.append(hex(rest))
    return "|".join(names) if names else "0"


def _permission_error(path: str, err: OSError, action: str) -> PermissionError:
    try:
        st = os.stat(path)
        try:
            group = grp.getgrgid(st.st_gid).gr_name
        except KeyError:
            group = str(st.st_gid)
        mode = f" (group {group!r}, mode {stat.S_IMODE(st.st_mode):04o})"
    except OSError:
        group, mode = "gpio", ""
    hint = (
        f"add your user to the {group!r} group (sudo usermod -aG {group} $USER, then log in again), "
        f"or check the permissions of {path}"
    )
    if group == "root":
        hint = f"run as root, or give a group read-write access to {path} (udev rule) and join it"
    return PermissionError(err.errno, f"no permission to {action} {path}{mode}: {hint}", path)


# --------------------------------------------------------------------------------------------
# Data returned to callers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChipInfo:
    """What ``GPIO_GET_CHIPINFO_IOCTL`` says: ``name`` (gpiochipN), ``label`` (the driver's
    name for it, e.g. ``pinctrl-bcm2711``) and the number of ``lines``."""

    name: str
    label: str
    lines: int


@dataclass(frozen=True, slots=True)
class LineInfo:
    """One line as the kernel describes it (``GPIO_V2_GET_LINEINFO_IOCTL``)."""

    offset: int
    name: str
    consumer: str
    flags: int
    debounce_us: int = 0

    @property
    def used(self) -> bool:
        """True when the line is held (by a kernel driver, a hog or a line request)."""
        return bool(self.flags & FLAG_USED)

    @property
    def direction(self) -> str:
        return "output" if self.flags & FLAG_OUTPUT else "input"

    @property
    def edge(self) -> str | None:
        both = FLAG_EDGE_RISING | FLAG_EDGE_FALLING
        e = self.flags & both
        return {0: None, FLAG_EDGE_RISING: "rising", FLAG_EDGE_FALLING: "falling", both: "both"}[e]

    @property
    def bias(self) -> str:
        """``'pull-up'``, ``'pull-down'``, ``'disabled'``, or ``'as-is'`` when unknown/unset."""
        if self.flags & FLAG_BIAS_PULL_UP:
            return "pull-up"
        if self.flags & FLAG_BIAS_PULL_DOWN:
            return "pull-down"
        if self.flags & FLAG_BIAS_DISABLED:
            return "disabled"
        return "as-is"

    @property
    def active_low(self) -> bool:
        return bool(self.flags & FLAG_ACTIVE_LOW)


# --------------------------------------------------------------------------------------------
# Building a line configuration
# --------------------------------------------------------------------------------------------


def _choice(kind: str, value: object, table: Mapping) -> int:
    try:
        return table[value]
    except (KeyError, TypeError):
        allowed = ", ".join(repr(k) for k in table if k is not None and k != "none")
        if kind == "edge":
            allowed = "None, " + allowed
        raise LineConfigError(f"{kind}={value!r} is not one of {allowed}") from None


def _values_bits(values: Sequence[int] | Mapping[int, int], offsets: Sequence[int], what: str) -> tuple[int, int]:
    """(bits, mask) over request indices, from a sequence aligned with offsets or {offset: value}."""
    bits = mask = 0
    if isinstance(values, Mapping):
        index = {off: i for i, off in enumerate(offsets)}
        for off, v in values.items():
            if off not in index:
                raise LineConfigError(f"{what}: line {off!r} is not one of the requested lines {list(offsets)}")
            i = index[off]
            mask |= 1 << i
            if _bit(v, what):
                bits |= 1 << i
    else:
        values = list(values)
        if len(values) != len(offsets):
            raise LineConfigError(
                f"{what}: {len(values)} values for {len(offsets)} lines {list(offsets)}; "
                "give one value per line, or a {offset: value} mapping"
            )
        for i, v in enumerate(values):
            mask |= 1 << i
            if _bit(v, what):
                bits |= 1 << i
    return bits, mask


def _bit(v: object, what: str) -> int:
    if v in (0, 1) and not isinstance(v, float):
        return int(v)  # type: ignore[arg-type]
    raise LineConfigError(f"{what}: values must be 0 or 1 (or a bool), not {v!r}")


def _build_config(
    offsets: Sequence[int],
    *,
    direction: str,
    edge: str | None,
    bias: str,
    debounce_us: int,
    output_values: Sequence[int] | Mapping[int, int] | None,
) -> _LineConfig:
    flags = _choice("direction", direction, _DIRECTIONS)
    edge_flags = _choice("edge", edge, _EDGES)
    bias_flags = _choice("bias", bias, _BIASES)
    # The kernel's rules (gpiolib-cdev), checked here so the error can name the combination.
    if edge_flags and direction != "input":
        raise LineConfigError(
            f"edge={edge!r} needs direction='input', not {direction!r}: the kernel detects edges only on "
            "lines requested as inputs"
        )
    if bias_flags and direction == "as-is":
        raise LineConfigError(
            f"bias={bias!r} needs direction='input' or 'output', not 'as-is': the kernel sets a bias only "
            "together with an explicit direction"
        )
    if isinstance(debounce_us, bool) or not isinstance(debounce_us, int) or not 0 <= debounce_us < 2**32:
        raise LineConfigError(f"debounce_us must be an int from 0 to {2**32 - 1} (microseconds), not {debounce_us!r}")
    if debounce_us and direction != "input":
        raise LineConfigError(
            f"debounce_us={debounce_us} needs direction='input', not {direction!r}: the kernel debounces inputs only"
        )
    if output_values is not None and direction != "output":
        raise LineConfigError(f"output_values need direction='output', not {direction!r}")

    cfg = _LineConfig()
    cfg.flags = flags | edge_flags | bias_flags
    n = 0
    all_lines = (1 << len(offsets)) - 1
    if output_values is not None:
        bits, mask = _values_bits(output_values, offsets, "output_values")
        attr = cfg.attrs[n]
        attr.attr.id = ATTR_ID_OUTPUT_VALUES
        attr.attr.values = bits
        attr.mask = mask
        n += 1
    if debounce_us:
        attr = cfg.attrs[n]
        attr.attr.id = ATTR_ID_DEBOUNCE
        attr.attr.debounce_period_us = debounce_us
        attr.mask = all_lines
        n += 1
    cfg.num_attrs = n
    return cfg


def _config_summary(cfg: _LineConfig) -> str:
    parts = [f"flags={flags_to_names(cfg.flags)}"]
    for i in range(cfg.num_attrs):
        a = cfg.attrs[i]
        if a.attr.id == ATTR_ID_DEBOUNCE:
            parts.append(f"debounce={a.attr.debounce_period_us}us")
        elif a.attr.id == ATTR_ID_OUTPUT_VALUES:
            parts.append(f"output_values={a.attr.values:#x}/mask={a.mask:#x}")
    return ", ".join(parts)


# --------------------------------------------------------------------------------------------
# Who holds a line
# --------------------------------------------------------------------------------------------

_FDINFO_CHIP = re.compile(r"^gpio-chip:\s*(\S+)\s*$", re.MULTILINE)
_FDINFO_LINE = re.compile(r"^gpio-line:\s*(\d+)\s*$", re.MULTILINE)


def _find_holders(chip_name: str, offset: int, proc: str = "/proc") -> tuple[list[tuple[int, str]], bool]:
    """Processes holding ``offset`` of ``chip_name`` through a uAPI v2 line request.

    Reads /proc/PID/fdinfo (the kernel lists ``gpio-chip:`` and ``gpio-line:`` there for line
    request fds). Returns ([(pid, command)], complete) where ``complete`` is False when some
    process could not be inspected (another user's, without root).
    """
    holders: list[tuple[int, str]] = []
    complete = True
    try:
        pids = [p for p in os.listdir(proc) if p.isdigit()]
    except OSError:
        return holders, False
    for pid in pids:
        fddir = f"{proc}/{pid}/fd"
        try:
            fds = os.listdir(fddir)
        except PermissionError:
            complete = False
            continue
        except OSError:
            continue  # the process went away
        for fd in fds:
            try:
                if os.readlink(f"{fddir}/{fd}") != "anon_inode:gpio-line":
                    continue
                with open(f"{proc}/{pid}/fdinfo/{fd}") as f:
                    text = f.read()
            except PermissionError:
                complete = False
                continue
            except OSError:
                continue
            m = _FDINFO_CHIP.search(text)
            if m and m.group(1) == chip_name and str(offset) in _FDINFO_LINE.findall(text):
                try:
                    with open(f"{proc}/{pid}/comm") as f:
                        comm = f.read().strip()
                except OSError:
                    comm = "?"
                holders.append((int(pid), comm))
                break
    return holders, complete


def _holder_text(consumer: str, holders: list[tuple[int, str]], complete: bool) -> str:
    who = f"held by {consumer!r}" if consumer else "held by a consumer with no label"
    if holders:
        procs = ", ".join(
            "this process" if pid == os.getpid() else f"process {pid} ({comm})" for pid, comm in holders
        )
        return f"{who}, a line request of {procs}"
    if consumer == "sysfs":
        return f"{who}: exported through /sys/class/gpio (write its number to /sys/class/gpio/unexport)"
    if complete:
        return (
            f"{who}, the kernel (a driver or a device-tree hog; no process holds it through a uAPI v2 "
            "line request, though one using the deprecated v1 uAPI would not show)"
        )
    return f"{who}, a kernel driver or another user's process (run as root to tell which)"


# --------------------------------------------------------------------------------------------
# Chip
# --------------------------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class Chip:
    """One GPIO chip, ``/dev/gpiochipN``. Closing it does not release lines it handed out."""

    def __init__(self, path: str) -> None:
        self.path = os.fspath(path)
        self._fd = -1
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            raise ChipNotFoundError(
                f"no GPIO chip at {self.path}; list the chips with rpio_interrupts.uapi.list_chips() "
                "or find the Raspberry Pi's with find_chip()",
                self.path,
            ) from None
        except PermissionError as e:
            raise _permission_error(self.path, e, "open") from None
        try:
            if not stat.S_ISCHR(os.fstat(fd).st_mode):
                raise OSError(errno.ENOTTY, f"{self.path} is not a character device, so not a GPIO chip")
            info = _ChipInfoStruct()
            try:
                ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, info, True)
            except OSError as e:
                if e.errno in (errno.ENOTTY, errno.EINVAL):
                    raise OSError(e.errno, f"{self.path} is not a GPIO character device") from None
                raise
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._info = ChipInfo(_decode(info.name), _decode(info.label), int(info.lines))

    # -- plumbing
    def fileno(self) -> int:
        if self._fd < 0:
            raise ValueError(f"I/O operation on closed chip {self.path}")
        return self._fd

    @property
    def fd(self) -> int:
        return self.fileno()

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def close(self) -> None:
        """Close the chip's fd (idempotent). Line requests made through it stay valid."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            self.close()

    def __repr__(self) -> str:
        if self.closed:
            return f"<Chip {self.path!r} closed>"
        i = self._info
        return f"<Chip {self.path!r} name={i.name!r} label={i.label!r} lines={i.lines}>"

    # -- queries
    def info(self) -> ChipInfo:
        """Name, label and number of lines (read once, when the chip was opened)."""
        self.fileno()
        return self._info

    def _check_offset(self, offset: object) -> int:
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise LineConfigError(f"a line offset must be an int, not {offset!r}")
        if not 0 <= offset < self._info.lines:
            raise LineConfigError(
                f"line {offset} does not exist on {self._info.name} ({self._info.label}): "
                f"it has {self._info.lines} lines, 0 to {self._info.lines - 1}"
            )
        return offset

    def line_info(self, offset: int) -> LineInfo:
        """Name, consumer, flags (and debounce) of one line."""
        fd = self.fileno()
        self._check_offset(offset)
        li = _LineInfoStruct()
        li.offset = offset
        ioctl(fd, GPIO_V2_GET_LINEINFO_IOCTL, li, True)
        debounce = 0
        for i in range(min(li.num_attrs, NUM_ATTRS_MAX)):
            if li.attrs[i].id == ATTR_ID_DEBOUNCE:
                debounce = int(li.attrs[i].debounce_period_us)
        return LineInfo(int(li.offset), _decode(li.name), _decode(li.consumer), int(li.flags), debounce)

    def request_lines(
        self,
        offsets: Iterable[int],
        *,
        consumer: str = "rpio",
        direction: str = "input",
        edge: str | None = None,
        bias: str = "as-is",
        debounce_us: int = 0,
        output_values: Sequence[int] | Mapping[int, int] | None = None,
        event_buffer_size: int = 0,
    ) -> LineRequest:
        """Request lines (``GPIO_V2_GET_LINE_IOCTL``); every line gets the same settings.

        direction: ``'input'``, ``'output'`` or ``'as-is'``. edge (inputs only): ``None``,
        ``'rising'``, ``'falling'`` or ``'both'``. bias: ``'as-is'``, ``'disabled'``, ``'pull-up'``
        or ``'pull-down'`` (needs a direction). debounce_us (inputs only): the kernel reports an
        edge only once the line has been stable that long. output_values: one 0/1 per offset or
        ``{offset: value}``; outputs without one start at 0. event_buffer_size: kernel event
        queue length (0: 16 per line; the kernel caps it at 1024).
        """
        fd = self.fileno()
        offs = list(offsets) if not isinstance(offsets, int) else [offsets]
        if not offs:
            raise LineConfigError("request_lines needs at least one line offset")
        if len(offs) > LINES_MAX:
            raise LineConfigError(f"a request holds at most {LINES_MAX} lines, not {len(offs)}")
        for off in offs:
            self._check_offset(off)
        if len(set(offs)) != len(offs):
            dup = sorted({o for o in offs if offs.count(o) > 1})
            raise LineConfigError(f"line offsets {dup} appear more than once in {offs}")
        if not isinstance(consumer, str):
            raise LineConfigError(f"consumer must be a str, not {consumer!r}")
        label = consumer.encode("utf-8")
        if len(label) >= MAX_NAME_SIZE or b"\0" in label:
            raise LineConfigError(
                f"consumer {consumer!r} is too long or holds a NUL: the kernel keeps at most "
                f"{MAX_NAME_SIZE - 1} bytes of it"
            )
        if isinstance(event_buffer_size, bool) or not isinstance(event_buffer_size, int) or not (
            0 <= event_buffer_size < 2**32
        ):
            raise LineConfigError(f"event_buffer_size must be a non-negative int, not {event_buffer_size!r}")
        cfg = _build_config(
            offs, direction=direction, edge=edge, bias=bias, debounce_us=debounce_us, output_values=output_values
        )
        req = _LineRequestStruct()
        for i, off in enumerate(offs):
            req.offsets[i] = off
        req.consumer = label
        req.config = cfg
        req.num_lines = len(offs)
        req.event_buffer_size = event_buffer_size
        req.fd = -1
        try:
            ioctl(fd, GPIO_V2_GET_LINE_IOCTL, req, True)
        except OSError as e:
            raise self._request_error(e, offs, cfg) from None
        if req.fd < 0:  # pragma: no cover - the kernel always returns an fd on success
            raise OSError(errno.EIO, f"{self.path}: the kernel returned no line request fd")
        return LineRequest(req.fd, self.path, self._info, offs, consumer)

    def _request_error(self, e: OSError, offsets: list[int], cfg: _LineConfig) -> OSError:
        where = f"{self._info.name} ({self._info.label})"
        if e.errno == errno.EBUSY:
            return self._busy_error(offsets, noun_prefix="line", where=f" of {where}")
        if e.errno == errno.EINVAL:
            return LineConfigError(
                f"{where} refused the request for lines {offsets} with {_config_summary(cfg)} (EINVAL)"
            )
        if e.errno in (errno.EACCES, errno.EPERM):
            return _permission_error(self.path, e, "request lines on")
        if e.errno == errno.EOPNOTSUPP:
            return OSError(e.errno, f"{where} does not support {_config_summary(cfg)}")
        if e.errno == errno.ENODEV:
            return OSError(e.errno, f"{where} has gone away (its driver was unbound)")
        return OSError(e.errno, f"requesting lines {offsets} on {where}: {os.strerror(e.errno)}")

    def _busy_error(self, offsets: Sequence[int], *, noun_prefix: str, where: str) -> LineBusyError:
        """A LineBusyError naming the first busy line among ``offsets`` and who holds it."""
        busy = []
        for off in offsets:
            try:
                info = self.line_info(off)
            except OSError:
                continue
            if info.used:
                busy.append(info)
        if not busy:
            text = "but no holder was found: it was released meanwhile, try again"
            return LineBusyError(
                f"{noun_prefix} {', '.join(map(str, offsets))}{where} is busy (EBUSY), {text}",
                chip=self.path,
                offsets=offsets,
                holder_text=text,
            )
        first = busy[0]
        holders, complete = _find_holders(self._info.name, first.offset)
        text = _holder_text(first.consumer, holders, complete)
        others = ""
        if len(busy) > 1:
            others = " (also busy: " + ", ".join(f"{b.offset} by {b.consumer!r}" for b in busy[1:]) + ")"
        return LineBusyError(
            f"{noun_prefix} {first.offset}{where} is busy: {text}{others}",
            chip=self.path,
            offsets=[b.offset for b in busy],
            consumer=first.consumer,
            holders=holders,
            holder_text=text + others,
        )


def request_lines(path: str, offsets: Iterable[int], **settings: object) -> LineRequest:
    """Open the chip at ``path``, request ``offsets`` with ``settings`` (as
    :meth:`Chip.request_lines`), close the chip, return the request."""
    with Chip(path) as chip:
        return chip.request_lines(offsets, **settings)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# LineRequest
# --------------------------------------------------------------------------------------------


class LineRequest:
    """Requested lines: their fd signals POLLIN when edge events are queued."""

    def __init__(self, fd: int, chip_path: str, chip_info: ChipInfo, offsets: Sequence[int], consumer: str) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self.chip_path = chip_path
        self.chip_name = chip_info.name
        self.chip_label = chip_info.label
        self.offsets = tuple(offsets)
        self.consumer = consumer
        self._index = {off: i for i, off in enumerate(self.offsets)}

    # -- plumbing
    def fileno(self) -> int:
        fd = self._fd
        if fd < 0:
            raise ValueError(f"I/O operation on a released line request (lines {list(self.offsets)})")
        return fd

    @property
    def fd(self) -> int:
        return self.fileno()

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def close(self, *, reset: bool = False) -> None:
        """Release the lines (idempotent). With ``reset=True`` they are first set to inputs with
        the bias disabled (RPi.GPIO's cleanup) -- otherwise the kernel keeps whatever state the
        driver leaves a released line in."""
        with self._lock:
            fd, self._fd = self._fd, -1
        if fd < 0:
            return
        try:
            if reset:
                cfg = _build_config(
                    self.offsets, direction="input", edge=None, bias="disabled", debounce_us=0, output_values=None
                )
                try:
                    ioctl(fd, GPIO_V2_LINE_SET_CONFIG_IOCTL, cfg, True)
                except OSError as e:
                    if e.errno != errno.ENODEV:  # a vanished chip needs no reset
                        raise self._error(e, "resetting") from None
        finally:
            os.close(fd)

    release = close

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            self.close()

    def __repr__(self) -> str:
        state = "released" if self.closed else f"fd={self._fd}"
        return (
            f"<LineRequest {self.chip_name} ({self.chip_label}) lines={list(self.offsets)} "
            f"consumer={self.consumer!r} {state}>"
        )

    def _error(self, e: OSError, doing: str) -> OSError:
        where = f"lines {list(self.offsets)} of {self.chip_name} ({self.chip_label})"
        if e.errno == errno.ENODEV:
            return OSError(e.errno, f"{doing} {where}: the chip has gone away (driver unbound); release this request")
        if e.errno in (errno.EACCES, errno.EPERM):
            return PermissionError(e.errno, f"{doing} {where}: not permitted ({os.strerror(e.errno)})")
        return OSError(e.errno, f"{doing} {where}: {os.strerror(e.errno)}")

    def _mask(self, offsets: Iterable[int] | None) -> tuple[list[int], int]:
        if offsets is None:
            offs = list(self.offsets)
        else:
            offs = list(offsets)
            for off in offs:
                if off not in self._index:
                    raise LineConfigError(f"line {off!r} is not in this request (lines {list(self.offsets)})")
        mask = 0
        for off in offs:
            mask |= 1 << self._index[off]
        return offs, mask

    # -- values
    def get_values(self, offsets: Iterable[int] | None = None) -> list[int]:
        """Levels (0/1) of ``offsets`` (default: every requested line, in request order)."""
        offs, mask = self._mask(offsets)
        if not offs:
            return []
        lv = _LineValues(0, mask)
        try:
            ioctl(self.fileno(), GPIO_V2_LINE_GET_VALUES_IOCTL, lv, True)
        except OSError as e:
            raise self._error(e, "reading") from None
        return [(lv.bits >> self._index[off]) & 1 for off in offs]

    def get_value(self, offset: int | None = None) -> int:
        """Level of one line; ``offset`` may be left out when the request holds a single line."""
        if offset is None:
            if len(self.offsets) != 1:
                raise LineConfigError(f"this request holds lines {list(self.offsets)}: say which one")
            offset = self.offsets[0]
        return self.get_values([offset])[0]

    def set_values(self, values: Sequence[int] | Mapping[int, int]) -> None:
        """Drive outputs: one 0/1 per requested line (request order), or ``{offset: value}``."""
        bits, mask = _values_bits(values, self.offsets, "set_values")
        lv = _LineValues(bits, mask)
        try:
            ioctl(self.fileno(), GPIO_V2_LINE_SET_VALUES_IOCTL, lv, True)
        except OSError as e:
            if e.errno == errno.EPERM:
                raise LineConfigError(
                    f"set_values on lines {list(self.offsets)}: they are not outputs (EPERM); "
                    "reconfigure(direction='output') first"
                ) from None
            raise self._error(e, "setting") from None

    def set_value(self, offset: int, value: int) -> None:
        self.set_values({offset: value})

    # -- configuration
    def reconfigure(
        self,
        *,
        direction: str = "input",
        edge: str | None = None,
        bias: str = "as-is",
        debounce_us: int = 0,
        output_values: Sequence[int] | Mapping[int, int] | None = None,
    ) -> None:
        """Replace the whole configuration of every line (``GPIO_V2_LINE_SET_CONFIG_IOCTL``), the
        same arguments as :meth:`Chip.request_lines`. ``direction='as-is'`` leaves lines unchanged.
        Events already queued stay queued."""
        cfg = _build_config(
            self.offsets,
            direction=direction,
            edge=edge,
            bias=bias,
            debounce_us=debounce_us,
            output_values=output_values,
        )
        try:
            ioctl(self.fileno(), GPIO_V2_LINE_SET_CONFIG_IOCTL, cfg, True)
        except OSError as e:
            if e.errno == errno.EINVAL:
                raise LineConfigError(
                    f"{self.chip_name} ({self.chip_label}) refused {_config_summary(cfg)} for lines "
                    f"{list(self.offsets)} (EINVAL)"
                ) from None
            raise self._error(e, "reconfiguring") from None

    # -- events
    def wait_events(self, timeout: float | None = None) -> bool:
        """True when an edge event can be read; waits up to ``timeout`` seconds (None: forever)."""
        p = select.poll()
        p.register(self.fileno(), select.POLLIN | select.POLLPRI)
        ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
        return bool(p.poll(ms))

    def read_events(self, max_events: int = 16) -> list[LineEvent]:
        """Read up to ``max_events`` queued edge events (whole 48-byte records; blocks until at
        least one is there unless the fd was made non-blocking, then returns [] when none)."""
        if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 1:
            raise ValueError(f"max_events must be a positive int, not {max_events!r}")
        try:
            buf = os.read(self.fileno(), EVENT_SIZE * max_events)
        except BlockingIOError:
            return []
        except OSError as e:
            raise self._error(e, "reading events of") from None
        if len(buf) % EVENT_SIZE:  # pragma: no cover - the kernel writes whole records
            raise OSError(errno.EIO, f"short edge event record ({len(buf)} bytes) from {self.chip_name}")
        return decode_events(buf)


# --------------------------------------------------------------------------------------------
# Finding the Raspberry Pi's chip
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _FoundChip:
    path: str
    info: ChipInfo | None
    compatible: tuple[str, ...]
    error: str = ""

    def describe(self) -> str:
        name = os.path.basename(self.path)
        if self.info is not None:
            text = f"{name} {self.info.label!r} ({self.info.lines} lines)"
        else:
            text = f"{name} ({self.error})"
        if self.compatible:
            text += f" compatible {'/'.join(self.compatible)}"
        return text


def _chip_number(name: str) -> int:
    return int(name[len("gpiochip"):])


def list_chips(dev_dir: str = "/dev", sys_dir: str = "/sys") -> list[_FoundChip]:
    """Every ``gpiochipN`` in ``dev_dir`` with its info (or why it could not be read) and its
    device-tree compatible strings from ``sys_dir``, in chip-number order."""
    try:
        names = [n for n in os.listdir(dev_dir) if re.fullmatch(r"gpiochip\d+", n)]
    except FileNotFoundError:
        names = []
    found = []
    for name in sorted(names, key=_chip_number):
        path = os.path.join(dev_dir, name)
        compatible: tuple[str, ...] = ()
        try:
            with open(os.path.join(sys_dir, "bus", "gpio", "devices", name, "of_node", "compatible"), "rb") as f:
                compatible = tuple(s.decode("ascii", "replace") for s in f.read().split(b"\0") if s)
        except OSError:
            pass
        try:
            with Chip(path) as chip:
                found.append(_FoundChip(path, chip.info(), compatible))
        except PermissionError:
            found.append(_FoundChip(path, None, compatible, "permission denied"))
        except OSError as e:
            found.append(_FoundChip(path, None, compatible, e.strerror or str(e)))
    return found


def find_chip(
    labels: Sequence[str] = RPI_CHIP_LABELS,
    dev_dir: str = "/dev",
    sys_dir: str = "/sys",
    compatibles: Sequence[str] = RPI_CHIP_COMPATIBLES,
) -> str:
    """Path of the GPIO chip whose label is one of ``labels`` or whose device-tree node is
    compatible with one of ``compatibles`` -- never chosen by its number. Earlier labels win,
    then lower chip numbers. Raises :class:`ChipNotFoundError` listing what was found."""
    if isinstance(labels, str):
        labels = (labels,)
    chips = list_chips(dev_dir, sys_dir)
    best: tuple[int, str] | None = None
    for chip in chips:
        rank = None
        if chip.info is not None and chip.info.label in labels:
            rank = list(labels).index(chip.info.label)
        for c in chip.compatible:
            if c in compatibles:
                r = list(compatibles).index(c)
                rank = r if rank is None else min(rank, r)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, chip.path)
    if best is not None:
        return best[1]
    wanted = "GPIO chip labelled " + " or ".join(repr(x) for x in labels)
    if compatibles:
        wanted += " (or compatible with " + " or ".join(repr(c) for c in compatibles) + ")"
    if not chips:
        raise ChipNotFoundError(
            f"found no {wanted}: there is no gpiochip device in {dev_dir} at all (not a Linux machine with "
            "GPIO, or a container without the /dev/gpiochip* devices passed through)"
        )
    listing = "; ".join(c.describe() for c in chips)
    hint = ""
    if any(c.error == "permission denied" for c in chips):
        hint = " Some chips could not be opened: add your user to the 'gpio' group, or run as root."
    raise ChipNotFoundError(f"found no {wanted} in {dev_dir}; there are: {listing}.{hint}")


# --------------------------------------------------------------------------------------------
# The line provider for the interrupt loop
# --------------------------------------------------------------------------------------------


# The kernel's largest edge event queue per request: GPIO_V2_LINES_MAX (64) * 16 records; a larger
# event_buffer_size is clamped to it, 0 means 16 per requested line (gpiolib-cdev.c).
MAX_EVENT_BUFFER_SIZE = LINES_MAX * 16


class ChardevLineProvider:
    """Edges from the kernel: each :meth:`request` is a one-line uAPI v2 request (input, edge
    and bias flags) on the Raspberry Pi's GPIO chip, where a BCM GPIO number is the line offset.

    ``chip_path`` picks a chip explicitly; by default it is found with :func:`find_chip` on
    first use (so constructing a provider on a machine without GPIO does not fail).

    ``event_buffer_size``: the kernel's queue of edge events for each line, in records. The
    default is the largest the kernel grants (1024 records, 48 KiB of kernel memory per line;
    the kernel's own default is 16). Edges arriving while the queue is full are dropped by the
    kernel and show as gaps in ``seqno`` (counted by ``Interruptor.lost_events()``). Size it as
    the edge rate times the longest time the callbacks may fall behind: 1024 records hold 100 ms
    of a 10 kHz signal.
    """

    def __init__(
        self,
        chip_path: str | None = None,
        labels: Sequence[str] = RPI_CHIP_LABELS,
        *,
        dev_dir: str = "/dev",
        sys_dir: str = "/sys",
        event_buffer_size: int = MAX_EVENT_BUFFER_SIZE,
    ) -> None:
        if (isinstance(event_buffer_size, bool) or not isinstance(event_buffer_size, int)
                or not 1 <= event_buffer_size <= MAX_EVENT_BUFFER_SIZE):
            raise LineConfigError(
                f"event_buffer_size must be an int from 1 to {MAX_EVENT_BUFFER_SIZE} (records), "
                f"not {event_buffer_size!r}")
        self.event_buffer_size = event_buffer_size
        self._chip_path = chip_path
        self._labels = tuple((labels,) if isinstance(labels, str) else labels)
        self._dev_dir = dev_dir
        self._sys_dir = sys_dir
        self._lock = threading.Lock()

    @property
    def chip_path(self) -> str:
        """The chip in use (found now if it was not given)."""
        with self._lock:
            if self._chip_path is None:
                self._chip_path = find_chip(self._labels, self._dev_dir, self._sys_dir)
            return self._chip_path

    def __repr__(self) -> str:
        chip = self._chip_path if self._chip_path is not None else f"labels={list(self._labels)}"
        return f"<ChardevLineProvider {chip}>"

    def request(
        self, gpio: int, *, edge: str, bias: str = "as-is", consumer: str = "rpio", debounce_us: int = 0
    ) -> LineRequest:
        """Request GPIO ``gpio`` as an input with edge detection (``'rising'``, ``'falling'`` or
        ``'both'``) and ``bias``; the returned request's fd yields the edge records."""
        if edge not in ("rising", "falling", "both"):
            raise LineConfigError(f"edge={edge!r} is not one of 'rising', 'falling', 'both'")
        with Chip(self.chip_path) as chip:
            try:
                return chip.request_lines(
                    [gpio], consumer=consumer, direction="input", edge=edge, bias=bias, debounce_us=debounce_us,
                    event_buffer_size=self.event_buffer_size,
                )
            except LineBusyError as e:
                raise LineBusyError(
                    f"GPIO {gpio} is busy: {e.holder_text}",
                    chip=e.chip,
                    offsets=e.offsets,
                    consumer=e.consumer,
                    holders=e.holders,
                    holder_text=e.holder_text,
                ) from None
