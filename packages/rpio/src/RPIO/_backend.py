"""Which GPIO block RPIO drives: a Raspberry Pi's registers, the kernel's GPIO character
device, or the simulated board (docs/backends.md compares them).

Environment (read when RPIO first needs the board, never at import):

``RPIO_BACKEND``    ``auto`` (default): a Raspberry Pi's registers when this is a Pi (its
                    gpiochip when the registers cannot be opened but the chip can); off a Pi, the
                    first gpiochip that opens (gpio-sim and gpio-mockup test chips never count);
                    else the simulated board. ``hardware``: a Pi's registers or an error;
                    ``chardev``: the GPIO character device or an error; ``sim``: always simulated.
``RPIO_CHIP``       the gpiochip of the chardev backend: a path (``/dev/gpiochip2``), a device
                    name (``gpiochip2``) or a label (``pinctrl-bcm2711``); default the Pi's own
                    chip (found by label), off a Pi the first one that opens.
``RPIO_SIM_BOARD``  the simulated model: a revision code (``c03111``) or an alias (``pi4``, see
                    ``rpio_core.boards``); default ``c03111``, a Pi 4 Model B (or, for a shared
                    board that exists already, whatever it models).
``RPIO_SIM_SHARED`` a name: attach to (or create) the shared simulated board of that name, which
                    every process of this user on this machine sees (``rpio sim list``); without
                    it each process has a private board of its own.
``RPIO_SIM_CONFIG`` a board file (TOML: model, wires, parts) to build the simulated board from;
                    see ``read_board_file``. Its ``model`` wins over RPIO_SIM_BOARD, and
                    RPIO_SIM_SHARED over its ``shared``.
``RPIO_DEVMEM``     ``1``: map ``/dev/mem`` at the SoC base instead of ``/dev/gpiomem`` (root only).
``RPIO_ROOT``       the directory that holds ``proc/`` and ``dev/`` (default ``/``); tests point it
                    at a fake tree with a file-backed register page.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - RPIO needs 3.11 for board files
    tomllib = None

import rpio_core
from rpio_core import boards

from . import _chardev
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
    shared: Optional[str] = None  # the shared board's name; None: a private board
    config: Optional[BoardFile] = None  # built from this board file when opened
    model_explicit: bool = False  # the model was asked for (not a default)
    chip_path: Optional[str] = None  # the gpiochip driven through the character device
    on_pi: bool = True  # info describes a Raspberry Pi (False: a Linux machine's gpiochip)

    @property
    def backend(self) -> str:
        """'sim', 'chardev' or 'registers'."""
        if self.simulated:
            return "sim"
        return "chardev" if self.chip_path is not None else "registers"

    @property
    def gpio_count(self) -> int:
        return self.info.gpio_count

    @property
    def board_mode_error(self) -> Optional[str]:
        """Why setmode(BOARD) cannot work here (None: RPi.GPIO's own rule applies)."""
        if self.on_pi:
            return None
        return (f"BOARD numbering needs a board table that knows this board's header, and RPIO "
                f"knows only Raspberry Pi headers; this is {self.info.model}. Use BCM numbering: "
                "off a Raspberry Pi, BCM numbers are the chip's line offsets")

    def open(self):
        """Map the registers (or build the model) once; returns the driver."""
        if self.driver is None:
            if self.simulated:
                chip = self._sim_chip()
                driver = rpio_core.make_driver(self.info.chip, chip)
                if self.config is not None:
                    apply_board_file(chip, self.config)
                self.chip, self.driver = chip, driver
            elif self.chip_path is not None:
                self.driver = _open_chardev(self.chip_path)
            else:
                self.driver = rpio_core.make_driver(self.info.chip, self._map_registers())
        return self.driver

    def _sim_chip(self):
        if self.shared is None:
            return rpio_core.SimChip(self.info.chip)
        chip = rpio_core.open_board(self.shared, self.info.chip, model=self.info.revision_hex)
        if self.model_explicit and chip.model and chip.model != self.info.revision_hex:
            found = boards.decode_revision(chip.model)
            raise ValueError(
                f"shared board {self.shared!r} models a {found.model} (revision {chip.model}), "
                f"not a {self.info.model} (revision {self.info.revision_hex}); leave the model "
                f"out to use it as it is, or `rpio sim reset {self.shared}` to remove it"
            )
        log.info("RPIO on shared simulated board %r (%s, processes %s)", self.shared,
                 chip.model, chip.attached_pids())
        return chip

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


def _open_chardev(path: str, opener=None):
    try:
        return (opener or _chardev.ChardevDriver)(path)
    except PermissionError as error:  # its message names the device and the group or udev rule
        raise BoardAccessError(str(error.strerror or error)) from None
    except OSError as error:
        raise BoardAccessError(f"GPIO character device {path}: {error.strerror or error}") from None


def _register_problem(info, root: str, devmem: bool) -> Optional[str]:
    """Why the register device cannot be opened (None: it can). Opens it, maps nothing."""
    relative = "dev/gpiomem0" if info.chip == "rp1" else "dev/mem" if devmem else "dev/gpiomem"
    path = _under(root, relative)
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CLOEXEC))
    except OSError as error:
        return f"{path}: {error.strerror}"
    return None


def _chardev_board(info, path: str, *, on_pi: bool) -> Board:
    return Board(info, simulated=False, chip_path=path, on_pi=on_pi)


def _find_chardev(environ: Mapping[str, str], root: str, info, *, auto: bool) -> Optional[str]:
    """The gpiochip to drive: RPIO_CHIP, else the Pi's chip (by label), else off a Pi the first
    chip that opens (test chips only when asked for RPIO_BACKEND=chardev). None: none found."""
    dev_dir, sys_dir = _under(root, "dev"), _under(root, "sys")
    spec = environ.get("RPIO_CHIP", "").strip()
    if spec:
        try:
            return _chardev.chip_by_name(spec, dev_dir, sys_dir)
        except OSError as error:
            raise BoardAccessError(f"RPIO_CHIP={spec!r}: {error.strerror or error}") from None
    if info is not None:
        try:
            return _chardev.uapi.find_chip(dev_dir=dev_dir, sys_dir=sys_dir)
        except OSError:
            return None
    found = _chardev.usable_chips(dev_dir, sys_dir)
    if not found and not auto:
        found = [c for c in _chardev.uapi.list_chips(dev_dir, sys_dir) if c.info is not None]
    return found[0].path if found else None


def identify(environ: Optional[Mapping[str, str]] = None) -> Board:
    """Decide which board RPIO runs on, without touching any register."""
    environ = os.environ if environ is None else environ
    choice = environ.get("RPIO_BACKEND", "auto").strip().lower() or "auto"
    if choice not in ("auto", "hardware", "chardev", "sim"):
        raise ValueError(f"RPIO_BACKEND={choice!r}: expected auto, hardware, chardev or sim")
    root = environ.get("RPIO_ROOT", "/")
    if choice == "chardev":
        return _identify_chardev(environ, root)
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
            devmem = environ.get("RPIO_DEVMEM") == "1"
            problem = _register_problem(info, root, devmem) if choice == "auto" else None
            path = _find_chardev(environ, root, info, auto=True) if problem else None
            if path is not None and _chip_opens(path):
                log.info("RPIO on %s (revision %s) through its GPIO character device %s: the "
                         "registers cannot be opened (%s)", info.model, info.revision_hex, path,
                         problem)
                return _chardev_board(info, path, on_pi=True)
            log.info("RPIO on %s (revision %s)", info.model, info.revision_hex)
            return Board(info, simulated=False, root=root, devmem=devmem)
        if choice == "hardware":
            raise RuntimeError("This module can only be run on a Raspberry Pi!")
        path = _find_chardev(environ, root, None, auto=True)
        if path is not None:
            board = _chardev_board(_open_chardev(path, _chardev.linux_board_info), path, on_pi=False)
            log.info("No Raspberry Pi here: RPIO drives %s through the GPIO character device "
                     "(RPIO_CHIP picks another chip, RPIO_BACKEND=sim the simulated board)",
                     board.info.model)
            return board
    shared = environ.get("RPIO_SIM_SHARED", "").strip() or None
    config_path = environ.get("RPIO_SIM_CONFIG", "").strip() or None
    model = environ.get("RPIO_SIM_BOARD", "").strip() or None
    if config_path is None:
        return simulated_board(model, shared=shared)
    config = read_board_file(config_path, default_model=model)
    return simulated_board(config.model or model, shared=shared or config.shared, config=config)


def _chip_opens(path: str) -> bool:
    try:
        _chardev.uapi.Chip(path).close()
    except OSError:
        return False
    return True


def _identify_chardev(environ: Mapping[str, str], root: str) -> Board:
    info = boards.detect_board(root)
    if info is not None and info.chip is None:
        info = None  # an unknown Pi: its lines are still lines
    path = _find_chardev(environ, root, info, auto=False)
    if path is None:
        dev_dir = _under(root, "dev")
        raise BoardAccessError(
            f"RPIO_BACKEND=chardev: no GPIO chip in {dev_dir} can be opened "
            f"({_chardev.chip_listing(dev_dir, _under(root, 'sys'))}); RPIO_CHIP names one")
    if info is None:
        board = _chardev_board(_open_chardev(path, _chardev.linux_board_info), path, on_pi=False)
    else:
        board = _chardev_board(info, path, on_pi=True)
    log.info("RPIO on %s through the GPIO character device %s", board.info.model, path)
    return board


def simulated_board(name: Optional[str] = None, *, shared: Optional[str] = None,
                    config: Optional[BoardFile] = None) -> Board:
    """A simulated board of the model named by a revision code or an alias (default c03111).

    shared: the name of a shared board to attach to (or create) when the board is opened; with no
    model named, an existing shared board keeps its own. config: a board file applied when the
    board is opened.
    """
    if shared is not None:
        shared = _check_board_name(shared)
    explicit = name is not None
    if name is None:
        name = DEFAULT_SIM_BOARD
        if shared is not None:
            existing = [b for b in rpio_core.list_boards() if b["name"] == shared]
            if existing and existing[0]["compatible"] and existing[0]["model"]:
                name = existing[0]["model"]
    info = boards.decode_revision(boards.resolve_board_name(name))
    if info.chip is None:
        raise ValueError(f"RPIO_SIM_BOARD={name!r}: RPIO has no model of that board's SoC")
    if config is not None and config.info is not None and config.info.chip != info.chip:
        raise ValueError(f"{config.path}: its pins are {config.info.model} pins, not {info.model} pins")
    log.info(
        "No Raspberry Pi here: RPIO drives a simulated %s (revision %s); "
        "RPIO_SIM_BOARD picks another model",
        info.model,
        info.revision_hex,
    )
    return Board(info, simulated=True, shared=shared, config=config, model_explicit=explicit)


_BOARD_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,62}")


def _check_board_name(name: str) -> str:
    if not isinstance(name, str) or not _BOARD_NAME.fullmatch(name):
        raise ValueError(
            f"board name {name!r}: 1 to 63 letters, digits, '_', '-' or '.', not starting with '.'"
        )
    return name


# -- board files --------------------------------------------------------------------------------
PART_TYPES = ("button", "led", "servo", "generator")
_PART_KEYS = {
    "button": {"type", "pin", "active_low"},
    "led": {"type", "pin", "active_low"},
    "servo": {"type", "pin"},
    "generator": {"type", "pin", "frequency", "duty", "start"},
}
_PIN_FORMS = re.compile(r"(?i)(gpio|bcm|board|pin)\s*(\d+)")


@dataclass(frozen=True)
class PartSpec:
    """One part of a board file (pins as BCM gpio numbers)."""

    name: str
    kind: str
    gpio: int
    active_low: bool = False
    frequency: float = 0.0
    duty: float = 0.5
    start: bool = False


@dataclass(frozen=True)
class BoardFile:
    """A board file, read and checked: the model, the shared name, the wires and the parts."""

    path: str
    model: Optional[str]  # as written (revision code or name); None: not given
    shared: Optional[str]
    info: Any  # rpio_core.boards.BoardInfo of the model the pins were resolved for
    wires: Tuple[Tuple[int, ...], ...] = ()
    parts: Tuple[PartSpec, ...] = field(default_factory=tuple)


def read_board_file(path, *, default_model: Optional[str] = None) -> BoardFile:
    """Read and check a board file (TOML)::

        model = "pi4"                  # revision code or board name (default c03111)
        shared = "bench"               # optional: a shared board's name
        wires = [[17, 27], ["GPIO22", "BOARD16"]]

        [parts.doorbell]
        type = "button"                # button, led, servo, generator
        pin = 17
        active_low = true              # buttons: true (pressed pulls the pin to 0); LEDs: false

        [parts.clock]
        type = "generator"
        pin = "GPIO4"
        frequency = 50.0               # Hz, up to 20000
        duty = 0.5                     # 0 to 1
        start = true                   # running from when the board is built

    Pins: an int is a BCM gpio; "GPIO17"/"BCM17" too; "BOARD11"/"PIN11" is a header pin. Every
    error names the file and the key.
    """
    path = os.fspath(path)
    if tomllib is None:  # pragma: no cover
        raise RuntimeError("board files need Python 3.11 (tomllib)")
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML ({error})") from None
    unknown = set(data) - {"model", "shared", "wires", "parts"}
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; "
                         "expected model, shared, wires, parts")
    model = data.get("model")
    if model is not None and not isinstance(model, (str, int)):
        raise ValueError(f"{path}: model must be a revision code or a board name")
    model = None if model is None else str(model)
    try:
        info = boards.decode_revision(boards.resolve_board_name(model or default_model
                                                                 or DEFAULT_SIM_BOARD))
    except ValueError as error:
        raise ValueError(f"{path}: model: {error}") from None
    if info.chip is None:
        raise ValueError(f"{path}: model {model!r}: RPIO has no model of that board's SoC")
    shared = data.get("shared")
    if shared is not None:
        try:
            shared = _check_board_name(shared)
        except ValueError as error:
            raise ValueError(f"{path}: shared: {error}") from None

    def pin(value, where: str) -> int:
        return _resolve_pin(value, info, f"{path}: {where}")

    wires = data.get("wires", [])
    if not isinstance(wires, list):
        raise ValueError(f"{path}: wires must be a list of pin lists, e.g. [[17, 27]]")
    resolved_wires = []
    for index, wire in enumerate(wires):
        if not isinstance(wire, list) or len(wire) < 2:
            raise ValueError(f"{path}: wires[{index}] must list at least two pins")
        gpios = tuple(pin(p, f"wires[{index}]") for p in wire)
        if len(set(gpios)) != len(gpios):
            raise ValueError(f"{path}: wires[{index}] names a pin twice")
        resolved_wires.append(gpios)
    parts_table = data.get("parts", {})
    if not isinstance(parts_table, dict):
        raise ValueError(f"{path}: parts must be tables: [parts.NAME] type = ... pin = ...")
    parts = []
    for name, spec in parts_table.items():
        where = f"parts.{name}"
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: {where} must be a table")
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,31}", name):
            raise ValueError(f"{path}: {where}: a part name has 1 to 31 letters, digits, '_', '-', '.'")
        kind = spec.get("type")
        if kind not in PART_TYPES:
            raise ValueError(f"{path}: {where}.type must be one of {', '.join(PART_TYPES)}")
        extra = set(spec) - _PART_KEYS[kind]
        if extra:
            raise ValueError(f"{path}: {where}: unknown key(s) {', '.join(sorted(extra))} for a "
                             f"{kind} (expected {', '.join(sorted(_PART_KEYS[kind]))})")
        if "pin" not in spec:
            raise ValueError(f"{path}: {where}.pin is missing")
        gpio = pin(spec["pin"], f"{where}.pin")
        active_low = spec.get("active_low", kind == "button")
        if not isinstance(active_low, bool):
            raise ValueError(f"{path}: {where}.active_low must be true or false")
        frequency, duty, start = 0.0, 0.5, False
        if kind == "generator":
            frequency, duty, start = spec.get("frequency"), spec.get("duty", 0.5), spec.get("start", False)
            if isinstance(frequency, bool) or not isinstance(frequency, (int, float)) \
                    or not 0 < frequency <= 20000:
                raise ValueError(f"{path}: {where}.frequency must be a number above 0, up to 20000 (Hz)")
            if isinstance(duty, bool) or not isinstance(duty, (int, float)) or not 0 <= duty <= 1:
                raise ValueError(f"{path}: {where}.duty must be a number from 0 to 1")
            if not isinstance(start, bool):
                raise ValueError(f"{path}: {where}.start must be true or false")
        parts.append(PartSpec(name, kind, gpio, active_low, float(frequency), float(duty), start))
    return BoardFile(path, model, shared, info, tuple(resolved_wires), tuple(parts))


def _resolve_pin(value, info, where: str) -> int:
    """A board file's pin: an int or "GPIO17"/"BCM17" (BCM gpio), "BOARD11"/"PIN11" (header)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{where}: {value!r} is not a pin (17, \"GPIO17\" or \"BOARD11\")")
    if isinstance(value, int):
        gpio = value
    else:
        match = _PIN_FORMS.fullmatch(value.strip())
        if not match:
            raise ValueError(f"{where}: {value!r} is not a pin (17, \"GPIO17\" or \"BOARD11\")")
        number = int(match.group(2))
        if match.group(1).lower() in ("gpio", "bcm"):
            gpio = number
        else:
            gpio = (boards.board_to_bcm_map(info.p1_revision) or {}).get(number)
            if gpio is None:
                raise ValueError(f"{where}: header pin {number} of a {info.model} is not a GPIO")
    if not 0 <= gpio < info.gpio_count:
        raise ValueError(f"{where}: GPIO {gpio} does not exist on a {info.model} "
                         f"(0-{info.gpio_count - 1})")
    return gpio


def apply_board_file(chip, board_file: BoardFile) -> None:
    """Add a board file's wires and parts to a simulated chip's board, all or nothing.

    On a shared board another process may have built the same already: an identical wire or part
    is kept as it is (a running generator keeps running); a part of that name that differs is an
    error and changes nothing.
    """
    existing_wires = {frozenset(gpios) for _id, gpios in chip.wires()}
    existing_parts = {p["name"]: p for p in chip.parts()}
    for spec in board_file.parts:
        have = existing_parts.get(spec.name)
        if have is None:
            continue
        same = have["kind"] == spec.kind and have["gpio"] == spec.gpio and (
            spec.kind == "servo" or have["active_low"] == spec.active_low) and (
            spec.kind != "generator"
            or (have["frequency"] == spec.frequency and have["duty"] == spec.duty))
        if not same:
            raise ValueError(f"{board_file.path}: part {spec.name!r} is already on the board as a "
                             f"{have['kind']} on GPIO {have['gpio']}, not as this file's {spec.kind} "
                             f"on GPIO {spec.gpio}")
    added_wires, added_parts, started = [], [], []
    try:
        for gpios in board_file.wires:
            if frozenset(gpios) not in existing_wires:
                added_wires.append(chip.wire(gpios))
                existing_wires.add(frozenset(gpios))
        for spec in board_file.parts:
            if spec.name not in existing_parts:
                chip.add_part(spec.kind, spec.name, spec.gpio, active_low=spec.active_low,
                              frequency=spec.frequency, duty=spec.duty)
                added_parts.append(spec.name)
        for spec in board_file.parts:
            if spec.kind == "generator" and spec.start and not chip.part(spec.name)["running"]:
                chip.generator_start(spec.name)
                started.append(spec.name)
    except BaseException:
        for name in started:
            chip.generator_stop(name)
        for name in reversed(added_parts):
            chip.remove_part(name)
        for wire_id in reversed(added_wires):
            chip.unwire(wire_id)
        raise
    log.info("simulated board built from %s: %d wire(s), %d part(s)", board_file.path,
             len(board_file.wires), len(board_file.parts))
