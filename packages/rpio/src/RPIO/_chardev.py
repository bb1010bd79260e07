"""RPIO on the kernel's GPIO character device (uAPI v2): the ``chardev`` backend.

Every gpio this process uses is ONE single-line request on the chip (``rpio_interrupts.uapi``,
the same code the interrupt path uses): setup() requests it with direction, bias and initial
level in one ioctl (no glitch); output()/input() are one ``GPIO_V2_LINE_SET_VALUES`` /
``GET_VALUES`` ioctl on its fd, done in C++ by ``rpio_core.ChardevLines`` (this driver's base
class) behind the same METH_FASTCALL entry as the register path; add_event_detect() and the
interrupt loop reconfigure that same request with edge flags (``GPIO_V2_LINE_SET_CONFIG``), so
setup() then add_event_detect() never meets EBUSY from ourselves, and cleanup() releases it.

Who holds a line (``_Line.owners``):

``setup``   setup(), or a line the interrupt API was granted (RPIO 0.10 made those inputs too);
            released by cleanup().
``events``  edge detection (the loop's handle); its close() turns the edge flags off again, and
            releases the line when nothing else holds it.
``force``   forceoutput() / set_pullupdn() on a line this process had not requested: the kernel
            has no output latch or bias apart from a request with a direction, so the line is
            requested (an output at that level / an input with that bias) and held until cleanup.

Reads of lines this process does not hold (forceinput(), pin_info(), RPIO.input's fallback) use
a momentary request with direction ``as-is``, which changes nothing on the line. A line another
consumer holds (a kernel driver, a hog, another process) cannot be requested: every such call
raises ``LineBusyError`` naming the holder, and gpio_function() reports it from the line info.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Callable, Optional

import rpio_core
from rpio_core import boards
from rpio_interrupts import uapi
from rpio_interrupts.uapi import LineBusyError, LineConfigError

log = logging.getLogger("RPIO")

CONSUMER = "RPIO"

_PULL_TO_BIAS = {rpio_core.PULL_OFF: "disabled", rpio_core.PULL_DOWN: "pull-down",
                 rpio_core.PULL_UP: "pull-up"}
_BIAS_TO_PULL = {"disabled": rpio_core.PULL_OFF, "pull-down": rpio_core.PULL_DOWN,
                 "pull-up": rpio_core.PULL_UP}

# What a kernel consumer's label says about RPi.GPIO's function categories, first match wins.
# (gpio_function() of a line a kernel driver holds: the character device shows who holds it,
# never which ALT function is selected.)
CONSUMER_CATEGORIES = (
    ("spi", "SPI"),
    ("i2c", "I2C"),
    ("pwm", "HARD_PWM"),
    ("serial", "SERIAL"),
    ("uart", "SERIAL"),
    ("tty", "SERIAL"),
)

FAST_LINES = 64  # rpio_core.ChardevLines.kMaxLines: the lines the C++ hot path serves

# Platform devices whose chips are test fixtures: auto mode never picks them (see identify()).
TEST_CHIP_DEVICES = ("gpio-sim.", "gpio-mockup")


def consumer_category(consumer: str) -> str:
    """'SPI', 'I2C', 'HARD_PWM', 'SERIAL' for a kernel consumer's label, else 'UNKNOWN'."""
    name = consumer.lower()
    for word, category in CONSUMER_CATEGORIES:
        if word in name:
            return category
    return "UNKNOWN"


@dataclass
class _Line:
    request: uapi.LineRequest
    direction: str  # 'input' or 'output'
    bias: str  # 'as-is', 'disabled', 'pull-up', 'pull-down'
    edge: Optional[str] = None
    debounce_us: int = 0
    owners: set = field(default_factory=set)
    events: Optional[_EventLine] = None


class ChardevDriver(rpio_core.ChardevLines):
    """The driver interface of ``rpio_core.Driver`` (set_function, write, read, ...) over line
    requests, plus the character device's own operations (setup_line, release_line, ...)."""

    def __init__(self, chip_path: str, *, open_chip: Optional[Callable[[str], uapi.Chip]] = None,
                 consumer: str = CONSUMER):
        chip = (open_chip or uapi.Chip)(chip_path)
        info = chip.info()
        super().__init__(info.lines)
        self.path = chip_path
        self.chip_info = info
        self.consumer = consumer
        self._chip = chip  # kept open: line info and requests go through it
        self._lock = threading.RLock()
        self._lines: dict[int, _Line] = {}
        self.events = ChardevEventProvider(self)

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def chip(self) -> str:
        return "chardev"

    def num_gpios(self) -> int:
        return self.chip_info.lines

    def __repr__(self) -> str:
        return f"<chardev driver {self.path} ({self.chip_info.label}, {self.chip_info.lines} lines)>"

    def describe(self) -> str:
        return f"{self.chip_info.name} ({self.chip_info.label!r}, {self.path})"

    def _check(self, gpio: int) -> int:
        if not 0 <= gpio < self.chip_info.lines:
            raise IndexError(f"gpio {gpio} out of range for {self.describe()} "
                             f"(0-{self.chip_info.lines - 1})")
        return gpio

    def _chip_alive(self) -> uapi.Chip:
        chip = self._chip
        if chip.closed:
            raise OSError(errno.ENODEV, f"{self.describe()} is closed")
        return chip

    def _request(self, gpio: int, **settings) -> uapi.LineRequest:
        # The kernel sizes a request's edge queue now, not when edges are turned on later (and
        # allocates it only then): every line gets the largest, as the interrupt loop's own
        # requests do, or edges on a line set up first would get the kernel's 16 records.
        settings.setdefault("event_buffer_size", uapi.MAX_EVENT_BUFFER_SIZE)
        try:
            return self._chip_alive().request_lines([gpio], consumer=self.consumer, **settings)
        except LineBusyError as error:
            raise LineBusyError(f"GPIO {gpio} is busy: {error.holder_text}", chip=error.chip,
                                offsets=error.offsets, consumer=error.consumer,
                                holders=error.holders, holder_text=error.holder_text) from None

    def _publish(self, gpio: int, line: Optional[_Line]) -> None:
        if gpio < FAST_LINES:
            self.set_fd(gpio, line.request.fileno() if line is not None else -1)

    def _hold(self, gpio: int, request: uapi.LineRequest, direction: str, bias: str,
              owner: str) -> _Line:
        line = _Line(request, direction, bias, owners={owner})
        self._lines[gpio] = line
        self._publish(gpio, line)
        return line

    def _drop(self, gpio: int, *, reset: bool) -> None:
        line = self._lines.pop(gpio)
        self._publish(gpio, None)  # the fast path lets go of the fd before it is closed
        try:
            line.request.close(reset=reset)
        except OSError as error:  # the chip may be gone: the fd is closed all the same
            log.warning("releasing GPIO %d of %s: %s", gpio, self.describe(), error)

    def _reconfigure(self, gpio: int, line: _Line, *, direction: str, bias: str,
                     edge: Optional[str], debounce_us: int = 0, value: Optional[int] = None) -> None:
        line.request.reconfigure(
            direction=direction, bias=bias, edge=edge, debounce_us=debounce_us,
            output_values=[value] if direction == "output" and value is not None else None)
        line.direction, line.bias, line.edge, line.debounce_us = direction, bias, edge, debounce_us

    def held(self, gpio: int) -> Optional[str]:
        """'input'/'output' when this process holds the line, else None."""
        line = self._lines.get(gpio)
        return None if line is None else line.direction

    # -- the character device's operations ---------------------------------------------------
    def setup_line(self, gpio: int, function: int, pull: int, initial: int = -1) -> None:
        """setup(): direction, bias and the initial level in one request (or one reconfiguration
        of the request this process holds already). An output without an initial level keeps
        the level it drives (a new request starts LOW, as the kernel does)."""
        self._check(gpio)
        direction = "output" if function == rpio_core.OUTPUT else "input"
        bias = _PULL_TO_BIAS[pull]
        with self._lock:
            line = self._lines.get(gpio)
            if line is None:
                value = 1 if initial == 1 else 0
                request = self._request(
                    gpio, direction=direction, bias=bias,
                    output_values=[value] if direction == "output" and value is not None else None)
                self._hold(gpio, request, direction, bias, "setup")
                return
            if direction == "output" and line.edge is not None:
                raise RuntimeError(f"GPIO {gpio} has edge detection on; the kernel detects edges "
                                   "only on inputs: remove_event_detect() (or "
                                   "del_interrupt_callback()) first")
            if direction == "output" and initial in (0, 1):
                value = initial
            elif direction == "output":
                value = line.request.get_value() if line.direction == "output" else 0
            else:
                value = None
            self._reconfigure(gpio, line, direction=direction, bias=bias, edge=line.edge,
                              debounce_us=line.debounce_us, value=value)
            line.owners.add("setup")

    def release_line(self, gpio: int) -> bool:
        """cleanup(): the line back to an input without bias, and released. False if this
        process did not hold it. Edge detection must be gone (cleanup removes it first)."""
        with self._lock:
            line = self._lines.get(gpio)
            if line is None:
                return False
            if line.events is not None:
                line.owners.discard("setup")
                line.owners.discard("force")
                return True
            self._drop(gpio, reset=True)
            return True

    def release_all(self) -> None:
        """Release every line this process holds (cleanup(), or the board being replaced)."""
        with self._lock:
            for gpio in sorted(self._lines):
                line = self._lines[gpio]
                if line.events is not None:
                    line.events._closed = True
                self._drop(gpio, reset=True)

    def close(self) -> None:
        self.release_all()
        self._chip.close()

    def line_info(self, gpio: int) -> uapi.LineInfo:
        return self._chip_alive().line_info(self._check(gpio))

    def in_use_elsewhere(self, gpio: int) -> Optional[str]:
        """The consumer that holds the line when it is not this process, else None."""
        if gpio in self._lines:
            return None
        info = self.line_info(gpio)
        return (info.consumer or "?") if info.used else None

    def check_free(self, gpios) -> None:
        """LineBusyError naming the holder of the first of ``gpios`` another consumer holds
        (setup() of a list checks them all before it requests any)."""
        with self._lock:
            for gpio in gpios:
                self._check(gpio)
                if gpio not in self._lines and self.line_info(gpio).used:
                    error = self._chip_alive()._busy_error([gpio], noun_prefix="GPIO", where="")
                    raise LineBusyError(f"GPIO {gpio} is busy: {error.holder_text}", chip=error.chip,
                                        offsets=error.offsets, consumer=error.consumer,
                                        holders=error.holders, holder_text=error.holder_text)

    def rpigpio_function(self, gpio: int) -> str:
        """gpio_function(): 'IN'/'OUT' from the line's direction; a line a kernel driver holds
        by its consumer's label ('SPI', 'I2C', 'HARD_PWM', 'SERIAL', or 'UNKNOWN')."""
        line = self._lines.get(self._check(gpio))
        if line is not None:
            return "OUT" if line.direction == "output" else "IN"
        info = self.line_info(gpio)
        if info.used:
            category = consumer_category(info.consumer)
            if category != "UNKNOWN":
                return category
        return "OUT" if info.direction == "output" else "IN"

    # -- the rpio_core.Driver interface ------------------------------------------------------
    def get_function(self, gpio: int) -> int:
        direction = self.held(self._check(gpio)) or self.line_info(gpio).direction
        return rpio_core.OUTPUT if direction == "output" else rpio_core.INPUT

    def set_function(self, gpio: int, function: int) -> None:
        if function not in (rpio_core.INPUT, rpio_core.OUTPUT):
            raise ValueError("the GPIO character device selects no alternate functions "
                             "(INPUT or OUTPUT only; ALT functions need the registers)")
        with self._lock:
            line = self._lines.get(self._check(gpio))
            pull = _BIAS_TO_PULL.get(line.bias, rpio_core.PULL_OFF) if line else rpio_core.PULL_OFF
            self.setup_line(gpio, function, pull)

    def write(self, gpio: int, level: int) -> None:
        """Drive a line: the request this process holds as an output; a line it does not hold
        is requested as an output at that level and held (forceoutput). An input this process
        set up is refused: the kernel has no output latch to write behind an input's back."""
        self._check(gpio)
        level = 1 if level else 0
        with self._lock:
            line = self._lines.get(gpio)
            if line is None:
                request = self._request(gpio, direction="output", bias="as-is",
                                        output_values=[level])
                self._hold(gpio, request, "output", "as-is", "force")
                return
            if line.direction != "output":
                raise RuntimeError(f"GPIO {gpio} is an input of this process; through the GPIO "
                                   "character device it has no output latch: setup() it as an "
                                   "output first")
            line.request.set_values([level])

    def read(self, gpio: int) -> int:
        """The level: on the request this process holds, else through a momentary request with
        direction as-is (which changes nothing on the line)."""
        self._check(gpio)
        with self._lock:
            line = self._lines.get(gpio)
            if line is not None:
                return line.request.get_value()
            with self._request(gpio, direction="as-is") as request:
                return request.get_value()

    def set_pull(self, gpio: int, pull: int) -> None:
        """The bias of a line: its request reconfigured (same direction; the kernel sets a bias
        only together with a direction); a line this process does not hold is requested as an
        input with that bias and held until cleanup."""
        self._check(gpio)
        bias = _PULL_TO_BIAS[pull]
        with self._lock:
            line = self._lines.get(gpio)
            if line is None:
                request = self._request(gpio, direction="input", bias=bias)
                self._hold(gpio, request, "input", bias, "force")
                return
            value = line.request.get_value() if line.direction == "output" else None
            self._reconfigure(gpio, line, direction=line.direction, bias=bias, edge=line.edge,
                              debounce_us=line.debounce_us, value=value)

    def get_pull(self, gpio: int) -> int:
        line = self._lines.get(self._check(gpio))
        bias = line.bias if line is not None else self.line_info(gpio).bias
        return _BIAS_TO_PULL.get(bias, rpio_core.PULL_UNKNOWN)

    def latch(self, gpio: int) -> int:
        line = self._lines.get(self._check(gpio))
        if line is None or line.direction != "output":
            return -1
        return line.request.get_value()


class _EventLine:
    """The loop's handle on a line: the fd of the line's one request (edge records)."""

    def __init__(self, driver: ChardevDriver, gpio: int, line: _Line):
        self._driver, self.gpio, self._line = driver, gpio, line
        self._closed = False

    def fileno(self) -> int:
        return self._line.request.fileno()

    def get_value(self) -> int:
        return self._line.request.get_value()

    def close(self) -> None:
        self._driver.events._end(self)


class ChardevEventProvider:
    """The line provider (docs/design.md) of the chardev backend: edges on the SAME request
    that setup() made, reconfigured with edge flags; a line not held yet is requested as an
    input with edge and bias, and stays an input of this process after its edges end."""

    def __init__(self, driver: ChardevDriver):
        self._driver = driver

    def request(self, gpio: int, *, edge: str, bias: str = "as-is", consumer: str = CONSUMER,
                debounce_us: int = 0) -> _EventLine:
        if edge not in ("rising", "falling", "both"):
            raise LineConfigError(f"edge={edge!r} is not one of 'rising', 'falling', 'both'")
        driver = self._driver
        driver._check(gpio)
        with driver._lock:
            line = driver._lines.get(gpio)
            if line is None:
                request = driver._request(gpio, direction="input", edge=edge, bias=bias,
                                          debounce_us=debounce_us)
                line = driver._hold(gpio, request, "input", bias, "setup")
                line.edge, line.debounce_us = edge, debounce_us
            else:
                if line.events is not None:
                    raise LineBusyError(f"GPIO {gpio} is busy: held by {line.request.consumer!r} "
                                        "in this process, which detects its edges already",
                                        chip=driver.path, offsets=(gpio,),
                                        consumer=line.request.consumer)
                if line.direction != "input":
                    raise LineConfigError(f"GPIO {gpio} is an output of this process: the kernel "
                                          "detects edges only on inputs (setup() it as an input)")
                new_bias = line.bias if bias == "as-is" else bias
                driver._reconfigure(gpio, line, direction="input", bias=new_bias, edge=edge,
                                    debounce_us=debounce_us)
                _drain(line.request)  # edges queued under an earlier edge setting are stale
                line.owners.add("setup")
            handle = _EventLine(driver, gpio, line)
            line.events = handle
            line.owners.add("events")
            return handle

    def _end(self, handle: _EventLine) -> None:
        driver = self._driver
        with driver._lock:
            if handle._closed:
                return
            handle._closed = True
            line = driver._lines.get(handle.gpio)
            if line is None or line.events is not handle:
                return
            line.events = None
            line.owners.discard("events")
            if not line.owners:
                driver._drop(handle.gpio, reset=True)
                return
            try:
                driver._reconfigure(handle.gpio, line, direction=line.direction, bias=line.bias,
                                    edge=None)
            except OSError as error:  # the chip went away: nothing left to turn off
                log.warning("turning edge detection off on GPIO %d: %s", handle.gpio, error)


def _drain(request: uapi.LineRequest) -> None:
    fd = request.fileno()
    blocking = os.get_blocking(fd)
    os.set_blocking(fd, False)
    try:
        while True:
            try:
                if not os.read(fd, uapi.EVENT_SIZE * 16):
                    return
            except BlockingIOError:
                return
    finally:
        os.set_blocking(fd, blocking)


# -- finding the chip ---------------------------------------------------------------------------
def is_test_chip(name: str, sys_dir: str) -> bool:
    """True for a chip made by gpio-sim or gpio-mockup (its platform device's name says so)."""
    try:
        target = os.path.realpath(os.path.join(sys_dir, "bus", "gpio", "devices", name))
    except OSError:
        return False
    return any(part.startswith(TEST_CHIP_DEVICES) for part in target.split(os.sep))


def chip_by_name(spec: str, dev_dir: str, sys_dir: str) -> str:
    """RPIO_CHIP: a path (/dev/gpiochip2), a device name (gpiochip2) or a chip label."""
    if os.sep in spec:
        return spec
    if spec.startswith("gpiochip") and spec[len("gpiochip"):].isdigit():
        return os.path.join(dev_dir, spec)
    return uapi.find_chip((spec,), dev_dir, sys_dir, compatibles=())


def usable_chips(dev_dir: str, sys_dir: str) -> list:
    """The chips auto mode may pick off a Pi: those that open, minus test chips."""
    return [c for c in uapi.list_chips(dev_dir, sys_dir)
            if c.info is not None and not is_test_chip(os.path.basename(c.path), sys_dir)]


def chip_listing(dev_dir: str, sys_dir: str) -> str:
    """'gpiochip0 'label' (54 lines); gpiochip1 (permission denied)' or 'none at all'."""
    chips = uapi.list_chips(dev_dir, sys_dir)
    return "; ".join(c.describe() for c in chips) if chips else "there are none at all"


def linux_board_info(path: str) -> boards.BoardInfo:
    """A BoardInfo for a Linux machine's gpiochip that is not a Raspberry Pi's: no revision,
    no header (p1_revision 0), as many gpios as the chip has lines."""
    with uapi.Chip(path) as chip:
        info = chip.info()
    model = f"Linux GPIO chip {info.name} ({info.label})"
    return boards.BoardInfo(
        raw=0, code=0, revision_hex="0", rpio_revision_hex="0000", new_style=False, known=False,
        model=model, short_model=model, type_id=None, processor="Unknown", chip=None, ram_mb=None,
        manufacturer="Unknown", pcb_revision="Unknown", p1_revision=0, header=None,
        gpio_count=info.lines, warranty_void=False, overvoltage_disallowed=False,
        otp_program_disallowed=False, otp_read_disallowed=False)
