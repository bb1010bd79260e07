"""Raspberry Pi board knowledge: revision codes, header maps, ALT functions, detection.

Pure Python, no hardware access beyond reading a few files under ``root`` (``/`` by default, a
fake tree in tests). The facts are tables in ``_board_data`` / ``_board_data_alt``; this module
only decodes them.

Revision codes
    ``decode_revision(code)`` -> :class:`BoardInfo` for any 32-bit code: old style (0002-0015, plus
    WiringPi's 0016-001b) and new style (bit 23; type, processor, manufacturer, memory, revision and
    the flag bits) up to the Pi 5, CM5, Pi 500 (0x19), CM5 Lite (0x1a) and CM0 (0x1b). An unknown
    but well-formed code never raises: its fields read "Unknown" and ``chip`` is None, so no driver
    is ever chosen by guesswork. Garbage (a negative number, a non-hex string, more than 32 bits)
    raises ValueError.

``rpi_info(code, strict_rpigpio=False)`` -> RPi.GPIO 0.7.1's ``RPI_INFO`` dict.
    With ``strict_rpigpio=True`` it is RPi.GPIO's own decoding, byte for byte and quirks included:
    the new-style fields are read character by character from the revision text (so an upper-case
    type digit is "Unknown"), REVISION is that text (``"%x"`` of the word for an int, no padding),
    old-style codes are masked with 0xefffffff, so the "1000002" over-volt form (bit 24) decodes as
    all-Unknown with P1_REVISION 3, while "10000002" (bit 28) decodes.

    DECISION: by default (``strict_rpigpio=False``) the result is the strict one, except that a
    field RPi.GPIO reports as "Unknown" is filled in when this module knows it: the boards RPi.GPIO
    never learnt (CM4S 0x15, Pi 5 0x17, CM5 0x18, Pi 500 0x19, CM5 Lite 0x1a, CM0 0x1b, processor
    BCM2712, RAM "16G", WiringPi's old-style 0016-001b) get their real TYPE/PROCESSOR/RAM/
    MANUFACTURER, and P1_REVISION follows the real board whenever TYPE had to be filled in.
    RPi.GPIO refuses the BCM2712 boards outright, so there nothing can differ. On the others it
    runs, says TYPE "Unknown" and assumes the 40-pin header (P1_REVISION 3); the default result
    names the board and gives the compute modules among them (CM4S, CM0, WiringPi's CM1 codes)
    P1_REVISION 0 like every compute module RPi.GPIO does know, so BOARD mode is refused there as
    on a CM3. The same rule fixes RPi.GPIO's one wrong answer on a board it knows: the "1000002"
    over-volted rev-1 Model B reads Model B with P1_REVISION 1 (so RPI_REVISION, RPI_INFO and the
    BOARD map agree with the real header) instead of Unknown and 3.

``sysinfo(code)`` -> RPIO 0.10's ``(hex_rev, model, pcb_revision, ram_mb, maker)``; never raises.

Headers
    ``board_to_bcm_map(p1_revision)`` -> {BOARD pin: BCM gpio} for P1 revision 1, 2 (26 pins) and 3
    (40 pins), exactly RPi.GPIO's maps (the ID EEPROM pins 27/28 are not BOARD channels). A compute
    module (P1 revision 0) has no header: the map is None (RPi.GPIO refuses BOARD mode there).
    ``header_pins(header)`` lists every pin of a header with its kind (gpio, power, ground, id) for
    a pinout picture; ``power_pins(header)`` the power and ground pins by name.

ALT functions
    ``alt_function_name(chip, gpio, alt)`` for 'bcm2835' (BCM2835/6/7), 'bcm2711' and 'rp1', every
    GPIO of the chip, ALT0-5 (BCM) or a0-a8 (RP1); None where the function is reserved.
    ``rpigpio_function(chip, gpio, alt)`` / ``rpigpio_function_code(gpio, alt, chip)`` give
    RPi.GPIO's ``gpio_function()`` category for a pin in that ALT function. On BCM chips it is
    RPi.GPIO's rule exactly (I2C on ALT0 of 0-3/28/29, SPI on ALT0 of 7-11, HARD_PWM on ALT0 of
    12-13 and ALT5 of 18-19, SERIAL on ALT0 of 14-15, SPI on ALT4 of 16-21, else UNKNOWN), on
    BCM2711 too, as RPi.GPIO does. DECISION for RP1 (RPi.GPIO never ran there): the category
    follows the signal name: SDAn/SCLn -> I2C, SPIn_* -> SPI, PWMn_CHANn -> HARD_PWM, TXDn/RXDn/
    CTSn/RTSn -> SERIAL, anything else (including a5 SYS_RIO, which the driver reports as IN/OUT,
    and the UART modem lines) -> UNKNOWN.

Detection
    ``detect_revision(root)`` reads ``proc/device-tree/system/linux,revision`` (4 bytes, big
    endian), else the ``Revision`` line of ``proc/cpuinfo``; it returns the raw word (over-volt
    prefix and flags included: ``decode_revision`` masks them, ``revision_hex`` keeps them).
    ``detect_board(root)`` decodes it, ``read_dt_compatible``/``read_dt_model`` read the device-tree
    names, ``soc_ranges_base(root)`` the SoC peripheral window from ``proc/device-tree/soc/ranges``.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import struct
from dataclasses import dataclass

from . import _board_data as _data
from . import _board_data_alt as _alt

log = logging.getLogger(__name__)

__all__ = [
    "CHIPS",
    "HARD_PWM",
    "I2C",
    "SERIAL",
    "SPI",
    "UNKNOWN",
    "BoardInfo",
    "HeaderPin",
    "alt_function_name",
    "alt_function_names",
    "bcm_to_board_map",
    "board_aliases",
    "board_to_bcm_map",
    "chip_for_soc",
    "chip_gpio_count",
    "decode_revision",
    "detect_board",
    "detect_revision",
    "detect_revision_string",
    "header_for_p1",
    "header_pins",
    "power_pins",
    "read_dt_compatible",
    "read_dt_model",
    "resolve_board_name",
    "rpi_info",
    "rpigpio_function",
    "rpigpio_function_code",
    "soc_from_compatible",
    "soc_ranges_base",
    "sysinfo",
]

#: the register families a driver exists for
CHIPS = tuple(_data.CHIP_GPIO_COUNT)

#: RPi.GPIO's gpio_function() values (IN=1 and OUT=0 come from the registers, not from here)
SERIAL = _data.RPIGPIO_FUNCTION_CODES["SERIAL"]
SPI = _data.RPIGPIO_FUNCTION_CODES["SPI"]
I2C = _data.RPIGPIO_FUNCTION_CODES["I2C"]
HARD_PWM = _data.RPIGPIO_FUNCTION_CODES["HARD_PWM"]
UNKNOWN = _data.RPIGPIO_UNKNOWN_CODE

_UNKNOWN = _data.UNKNOWN
_HEX = re.compile(r"[0-9a-fA-F]+")
_LOWER_HEX_DIGITS = "0123456789abcdef"

# Files under root (device tree as the kernel exposes it, and cpuinfo).
_DT_REVISION = "proc/device-tree/system/linux,revision"
_DT_COMPATIBLE = "proc/device-tree/compatible"
_DT_MODEL = "proc/device-tree/model"
_DT_ROOT_ADDRESS_CELLS = "proc/device-tree/#address-cells"
_DT_SOC_RANGES = "proc/device-tree/soc/ranges"
_DT_SOC_ADDRESS_CELLS = "proc/device-tree/soc/#address-cells"
_DT_SOC_SIZE_CELLS = "proc/device-tree/soc/#size-cells"
_CPUINFO = "proc/cpuinfo"
_CPUINFO_REVISION = re.compile(r"Revision\s*:\s*(\S+)")
_CPUINFO_HARDWARE = re.compile(r"Hardware\s*:\s*(\S+)")


# ---------------------------------------------------------------------------------------------
# Revision codes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardInfo:
    """What a revision code says about a board.

    ``raw`` is the word as read; ``code`` the board-identifying bits (``raw & 0xffffff``: flags and
    the old-style over-volt prefix dropped). ``revision_hex`` is RPi.GPIO's ``"%x"`` of ``raw`` (no
    padding: 0x0002 gives "2"); ``rpio_revision_hex`` RPIO 0.10's form ("000e", "a02082": old-style
    codes as four digits without the over-volt prefix, new-style as read). ``processor`` is the
    exact SoC ("BCM2835".."BCM2712" or "Unknown"); ``chip`` the register family the driver needs
    ('bcm2835' for BCM2835/6/7, 'bcm2711', 'rp1' for every BCM2712 board) or None when unknown.
    ``p1_revision`` is RPi.GPIO's: 0 compute module, 1/2 the 26-pin header of rev 1/rev 2 boards,
    3 the 40-pin header, and 3 for a board this module does not know (RPi.GPIO's assumption);
    ``header`` is "40", "26-rev1", "26-rev2", or None for a compute module or an unknown board.
    ``known`` says whether the board type was recognised; ``type_id`` is the new-style type field
    (None for old style). ``pcb_revision`` is "1.R" from a new-style code's revision field, the
    table's value for an old-style one, "Unknown" for an unknown old-style code. ``ram_mb`` is None
    when the code does not say (memory field 7, code 0015). The flags are new-style bits 25
    (``warranty_void``), 29, 30, 31; on an old-style code ``warranty_void`` means the over-volt
    marker above the code is set.
    """

    raw: int
    code: int
    revision_hex: str
    rpio_revision_hex: str
    new_style: bool
    known: bool
    model: str
    short_model: str
    type_id: int | None
    processor: str
    chip: str | None
    ram_mb: int | None
    manufacturer: str
    pcb_revision: str
    p1_revision: int
    header: str | None
    gpio_count: int | None
    warranty_void: bool
    overvoltage_disallowed: bool
    otp_program_disallowed: bool
    otp_read_disallowed: bool


def _field(code: int, name: str) -> int:
    low, width = _data.NEW_STYLE_FIELDS[name]
    return (code >> low) & ((1 << width) - 1)


def _flag(raw: int, name: str) -> bool:
    return bool(raw >> _data.NEW_STYLE_FLAG_BITS[name] & 1)


def _lookup(table: tuple[str, ...], index: int) -> str:
    return table[index] if index < len(table) else _UNKNOWN


def _check_width(value: int, original: object) -> int:
    if value < 0:
        raise ValueError(f"a revision code cannot be negative: {original!r}")
    if value >> _data.CODE_BITS:
        raise ValueError(f"a revision code is a {_data.CODE_BITS}-bit word: {original!r} is wider")
    return value


def _revision_text(code: int | str) -> str:
    """The revision as text, the way RPi.GPIO holds it: hex digits, no 0x, no blanks."""
    if isinstance(code, bool) or not isinstance(code, (int, str)):
        raise TypeError(f"a revision code is an int or a hex string, not {type(code).__name__}")
    if isinstance(code, int):
        return f"{_check_width(code, code):x}"
    text = code.strip()
    if text[:2].lower() == "0x":
        text = text[2:]
    if not _HEX.fullmatch(text):
        raise ValueError(f"not a hexadecimal revision code: {code!r}")
    _check_width(int(text, 16), code)
    return text


def _raw_code(code: int | str | BoardInfo) -> int:
    if isinstance(code, BoardInfo):
        return code.raw
    return int(_revision_text(code), 16)


def decode_revision(code: int | str) -> BoardInfo:
    """Decode a revision code (an int, or hex text such as "a02082", "0x000e", "1000002")."""
    raw = _raw_code(code)
    masked = raw & _data.CODE_MASK
    if masked >> _data.NEW_STYLE_BIT & 1:
        return _decode_new_style(raw, masked)
    return _decode_old_style(raw, masked)


def _decode_new_style(raw: int, code: int) -> BoardInfo:
    type_id = _field(code, "type")
    board = _data.BOARD_TYPES.get(type_id)
    processor = _lookup(_data.PROCESSORS, _field(code, "processor"))
    memory = _field(code, "memory")
    ram_mb = _data.MEMORY_MB[memory] if memory < len(_data.MEMORY_MB) else None
    if board is None:
        log.debug("revision %x: board type 0x%02x is not known", raw, type_id)
        model = short_model = _UNKNOWN
        p1 = _data.RPIGPIO_DEFAULT_P1
        header = None
    else:
        model, short_model, p1 = board
        header = _data.P1_HEADERS[p1]
    chip = _data.SOC_CHIP.get(processor)
    return BoardInfo(
        raw=raw,
        code=code,
        revision_hex=f"{raw:x}",
        rpio_revision_hex=f"{raw:06x}",
        new_style=True,
        known=board is not None,
        model=model,
        short_model=short_model,
        type_id=type_id,
        processor=processor,
        chip=chip,
        ram_mb=ram_mb,
        manufacturer=_lookup(_data.MANUFACTURERS, _field(code, "manufacturer")),
        pcb_revision=f"1.{_field(code, 'revision')}",
        p1_revision=p1,
        header=header,
        gpio_count=_data.CHIP_GPIO_COUNT.get(chip) if chip else None,
        warranty_void=_flag(raw, "warranty_void"),
        overvoltage_disallowed=_flag(raw, "overvoltage_disallowed"),
        otp_program_disallowed=_flag(raw, "otp_program_disallowed"),
        otp_read_disallowed=_flag(raw, "otp_read_disallowed"),
    )


def _decode_old_style(raw: int, code: int) -> BoardInfo:
    board = _data.OLD_STYLE.get(code)
    if board is None:
        log.debug("revision %x: old-style code %04x is not known", raw, code)
        model = short_model = pcb = manufacturer = processor = _UNKNOWN
        ram_mb, p1, header, chip = None, _data.RPIGPIO_DEFAULT_P1, None, None
    else:
        model, short_model, pcb, ram_mb, manufacturer, p1 = board
        header = _data.P1_HEADERS[p1]
        processor = _data.OLD_STYLE_PROCESSOR
        chip = _data.SOC_CHIP[processor]
    return BoardInfo(
        raw=raw,
        code=code,
        revision_hex=f"{raw:x}",
        rpio_revision_hex=f"{code:04x}",
        new_style=False,
        known=board is not None,
        model=model,
        short_model=short_model,
        type_id=None,
        processor=processor,
        chip=chip,
        ram_mb=ram_mb,
        manufacturer=manufacturer,
        pcb_revision=pcb,
        p1_revision=p1,
        header=header,
        gpio_count=_data.CHIP_GPIO_COUNT[chip] if chip else None,
        # the over-volt marker of old-style codes sits above the code (cpuinfo's "1000" prefix)
        warranty_void=raw != code,
        overvoltage_disallowed=False,
        otp_program_disallowed=False,
        otp_read_disallowed=False,
    )


def _ram_text(mb: int) -> str:
    """RPi.GPIO's RAM strings: "256M", "512M", "1G" ... "16G"."""
    return f"{mb}M" if mb < 1024 else f"{mb // 1024}G"


def _lower_hex(chars: str) -> int | None:
    """The value of hex digits the way RPi.GPIO's switch statements read them (lower case only)."""
    if all(c in _LOWER_HEX_DIGITS for c in chars):
        return int(chars, 16)
    return None


def _rpigpio_info(text: str) -> dict[str, int | str]:
    """RPi.GPIO 0.7.1's get_rpi_info() on a revision text, as its C code does it."""
    info: dict[str, int | str] = {
        "P1_REVISION": _data.RPIGPIO_DEFAULT_P1,
        "REVISION": text,
        "TYPE": _UNKNOWN,
        "MANUFACTURER": _UNKNOWN,
        "PROCESSOR": _UNKNOWN,
        "RAM": _UNKNOWN,
    }
    n = len(text)
    if n >= 6 and int(text[n - 6], 16) & 8:
        type_id = _lower_hex(text[n - 3 : n - 1])
        if type_id in _data.RPIGPIO_TYPES:
            info["TYPE"] = _data.BOARD_TYPES[type_id][0]
            info["P1_REVISION"] = _data.BOARD_TYPES[type_id][2]
        processor = _lower_hex(text[n - 4])
        if processor in _data.RPIGPIO_PROCESSORS:
            info["PROCESSOR"] = _data.PROCESSORS[processor]
        manufacturer = _lower_hex(text[n - 5])
        if manufacturer in _data.RPIGPIO_MANUFACTURERS:
            info["MANUFACTURER"] = _data.MANUFACTURERS[manufacturer]
        memory = int(text[n - 6], 16) & 7
        if memory in _data.RPIGPIO_MEMORY:
            info["RAM"] = _ram_text(_data.MEMORY_MB[memory])
        return info
    rev = int(text, 16) & _data.RPIGPIO_OLD_STYLE_MASK
    if rev in _data.RPIGPIO_OLD_STYLE:
        model, _short, _pcb, ram_mb, maker, p1 = _data.OLD_STYLE[rev]
        info.update(
            P1_REVISION=p1,
            TYPE=model,
            MANUFACTURER=maker,
            PROCESSOR=_data.OLD_STYLE_PROCESSOR,
            RAM=_ram_text(ram_mb) if ram_mb is not None else _UNKNOWN,
        )
    return info


def rpi_info(code: int | str | BoardInfo, *, strict_rpigpio: bool = False) -> dict[str, int | str]:
    """RPi.GPIO's ``RPI_INFO`` for a revision code (a fresh dict).

    An int (or a BoardInfo) is formatted as ``"%x"``, as RPi.GPIO formats the device-tree word; a
    string is used as given (blanks and a 0x prefix dropped), as RPi.GPIO uses the cpuinfo text.
    ``strict_rpigpio=True`` reproduces RPi.GPIO 0.7.1 exactly; the default fills in what RPi.GPIO
    reports as "Unknown" but this module knows (see the module docstring).
    """
    text = f"{code.raw:x}" if isinstance(code, BoardInfo) else _revision_text(code)
    info = _rpigpio_info(text)
    if strict_rpigpio:
        return info
    board = decode_revision(text)
    if info["TYPE"] == _UNKNOWN and board.known:
        info["TYPE"] = board.model
        info["P1_REVISION"] = board.p1_revision
    if info["PROCESSOR"] == _UNKNOWN:
        info["PROCESSOR"] = board.processor
    if info["MANUFACTURER"] == _UNKNOWN:
        info["MANUFACTURER"] = board.manufacturer
    if info["RAM"] == _UNKNOWN and board.ram_mb is not None:
        info["RAM"] = _ram_text(board.ram_mb)
    return info


_SYSINFO_UNKNOWN: tuple[str, str, str, int, str] = (_UNKNOWN, _UNKNOWN, _UNKNOWN, 0, _UNKNOWN)


def sysinfo(
    code: int | str | BoardInfo | None = None, *, root: str = "/"
) -> tuple[str, str, str, int, str]:
    """RPIO 0.10's ``(hex_rev, model, pcb_revision, ram_mb, maker)``; never raises.

    ``code`` None reads this machine's revision under ``root``. The model is the short name of the
    revision-code tables ("B", "3B", "4B", "CM5 Lite"...), as RPIO 0.10 printed "Model B"; anything
    unknown is "Unknown", an unknown RAM size 0.
    """
    try:
        if code is None:
            code = detect_revision(root)
            if code is None:
                return _SYSINFO_UNKNOWN
        info = code if isinstance(code, BoardInfo) else decode_revision(code)
    except (TypeError, ValueError) as error:
        log.debug("sysinfo(%r): %s", code, error)
        return _SYSINFO_UNKNOWN
    return (
        info.rpio_revision_hex,
        info.short_model,
        info.pcb_revision,
        info.ram_mb or 0,
        info.manufacturer,
    )


def _alias_key(name: str) -> str:
    return re.sub(r"[\s_.\-]+", "", name.lower())


def board_aliases() -> dict[str, int]:
    """The board names ``resolve_board_name`` accepts besides revision codes -> their codes."""
    return dict(_data.BOARD_ALIASES)


def resolve_board_name(name: str | int) -> int:
    """A revision code from a board name ("pi4", "Pi 3B+", "cm5-lite") or a code ("c03111")."""
    if isinstance(name, str):
        code = _data.BOARD_ALIASES.get(_alias_key(name))
        if code is not None:
            return code
        try:
            return _raw_code(name)
        except ValueError:
            raise ValueError(
                f"{name!r} is neither a revision code nor a board name; names: "
                + ", ".join(sorted(_data.BOARD_ALIASES))
            ) from None
    return _raw_code(name)


# ---------------------------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeaderPin:
    """One pin of a header: its number, its name, its kind and the GPIO behind it (if any).

    kind: 'gpio'; 'power' (3V3, 5V); 'ground' (GND); 'id' (ID_SD/ID_SC, the HAT EEPROM bus: GPIO 0/1
    on the 40-pin header, not a BOARD channel for RPi.GPIO).
    """

    number: int
    name: str
    kind: str
    gpio: int | None


def _pin(number: int, name: str) -> HeaderPin:
    if name.startswith("GPIO"):
        return HeaderPin(number, name, "gpio", int(name[4:]))
    kind = _data.PIN_KINDS[name]
    return HeaderPin(number, name, kind, _data.ID_PIN_GPIOS.get(name))


@functools.cache
def header_pins(header: str) -> tuple[HeaderPin, ...]:
    """Every pin of a header ("40", "26-rev2", "26-rev1", "P5"), pin 1 first."""
    try:
        rows = _data.HEADERS[header]
    except KeyError:
        raise ValueError(
            f"unknown header {header!r}: expected one of {sorted(_data.HEADERS)}"
        ) from None
    return tuple(
        _pin(2 * i + 1 + side, name) for i, row in enumerate(rows) for side, name in enumerate(row)
    )


def header_for_p1(p1_revision: int) -> str | None:
    """The header of a P1 revision: "26-rev1", "26-rev2", "40", or None (compute module)."""
    try:
        return _data.P1_HEADERS[p1_revision]
    except KeyError:
        raise ValueError(f"P1 revision is 0, 1, 2 or 3, not {p1_revision!r}") from None


def power_pins(header: str = "40") -> dict[int, str]:
    """{pin: name} of the power and ground pins of a header (1: '3V3', 2: '5V', 6: 'GND', ...)."""
    return {pin.number: pin.name for pin in header_pins(header) if pin.kind in ("power", "ground")}


def board_to_bcm_map(p1_revision: int) -> dict[int, int] | None:
    """RPi.GPIO's BOARD -> BCM map for a P1 revision (1, 2, 3); None for a compute module (0)."""
    header = header_for_p1(p1_revision)
    if header is None:
        return None
    return {
        pin.number: pin.gpio
        for pin in header_pins(header)
        if pin.kind == "gpio" and pin.gpio is not None
    }


def bcm_to_board_map(p1_revision: int) -> dict[int, int] | None:
    """The reverse of ``board_to_bcm_map``: {BCM gpio: BOARD pin}; None for a compute module."""
    forward = board_to_bcm_map(p1_revision)
    if forward is None:
        return None
    return {gpio: pin for pin, gpio in forward.items()}


# ---------------------------------------------------------------------------------------------
# Chips and ALT functions
# ---------------------------------------------------------------------------------------------


def chip_for_soc(soc: str) -> str | None:
    """The register family of a SoC ("BCM2837" -> 'bcm2835'), None if unknown."""
    return _data.SOC_CHIP.get(soc)


def chip_gpio_count(chip: str) -> int:
    """How many GPIOs a register family has: 54 (bcm2835, rp1) or 58 (bcm2711)."""
    _check_chip(chip)
    return _data.CHIP_GPIO_COUNT[chip]


def _check_chip(chip: object) -> None:
    if chip not in _data.CHIP_GPIO_COUNT:
        raise ValueError(f"unknown chip {chip!r}: expected one of {', '.join(CHIPS)}")


@functools.cache
def _alt_rows(chip: str) -> tuple[tuple[str | None, ...], ...]:
    return tuple(
        tuple(None if name == _alt.RESERVED else name for name in row.split())
        for row in _alt.ALT_TABLES[chip]
    )


def _check_pin(chip: str, gpio: object, alt: object) -> None:
    _check_chip(chip)
    if (
        isinstance(gpio, bool)
        or not isinstance(gpio, int)
        or not 0 <= gpio < _data.CHIP_GPIO_COUNT[chip]
    ):
        raise ValueError(f"{chip} has GPIO 0-{_data.CHIP_GPIO_COUNT[chip] - 1}, not {gpio!r}")
    if (
        isinstance(alt, bool)
        or not isinstance(alt, int)
        or not 0 <= alt < _data.CHIP_ALT_COUNT[chip]
    ):
        raise ValueError(
            f"{chip} has alternate functions 0-{_data.CHIP_ALT_COUNT[chip] - 1}, not {alt!r}"
        )


def alt_function_names(chip: str, gpio: int) -> tuple[str | None, ...]:
    """Every alternate function of a GPIO: (ALT0, ALT1, ...) names, None where reserved."""
    _check_pin(chip, gpio, 0)
    return _alt_rows(chip)[gpio]


def alt_function_name(chip: str, gpio: int, alt: int) -> str | None:
    """The signal of a GPIO in an alternate function ('bcm2835', 2, 0 -> 'SDA1'); None: reserved."""
    _check_pin(chip, gpio, alt)
    return _alt_rows(chip)[gpio][alt]


@functools.cache
def _bcm_categories() -> dict[tuple[int, int], str]:
    return {
        (alt, gpio): category
        for alt, gpios, category in _data.RPIGPIO_BCM_CATEGORIES
        for gpio in gpios
    }


@functools.cache
def _rp1_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple(
        (re.compile(pattern), category) for pattern, category in _data.RP1_CATEGORY_PATTERNS
    )


def rpigpio_function(chip: str, gpio: int, alt: int) -> str | None:
    """RPi.GPIO's gpio_function() category of a GPIO in an alternate function.

    'I2C', 'SPI', 'HARD_PWM', 'SERIAL', or None (RPi.GPIO's UNKNOWN). BCM chips: RPi.GPIO's rule;
    RP1: from the signal name (see the module docstring).
    """
    _check_pin(chip, gpio, alt)
    if chip == "rp1":
        name = _alt_rows(chip)[gpio][alt]
        if name is None:
            return None
        for pattern, category in _rp1_patterns():
            if pattern.fullmatch(name):
                return category
        return None
    return _bcm_categories().get((alt, gpio))


def rpigpio_function_code(gpio: int, alt: int, chip: str = "bcm2835") -> int:
    """RPi.GPIO's gpio_function() value for a GPIO in an alternate function: SERIAL 40, SPI 41,
    I2C 42, HARD_PWM 43, or UNKNOWN -1."""
    category = rpigpio_function(chip, gpio, alt)
    if category is None:
        return UNKNOWN
    return _data.RPIGPIO_FUNCTION_CODES[category]


# ---------------------------------------------------------------------------------------------
# Detection (reads files under root; never writes, never maps anything)
# ---------------------------------------------------------------------------------------------


def _read(root: str, relative: str) -> bytes | None:
    path = os.path.join(root, relative)
    try:
        with open(path, "rb") as file:
            return file.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        log.debug("cannot read %s: %s", path, error)
        return None


def _cpuinfo_value(root: str, pattern: re.Pattern[str]) -> str | None:
    data = _read(root, _CPUINFO)
    if data is None:
        return None
    for line in data.decode("ascii", "replace").splitlines():
        match = pattern.match(line)
        if match:
            return match.group(1)
    return None


def detect_revision_string(root: str = "/") -> str | None:
    """The revision as RPi.GPIO reads it: ``"%x"`` of the device-tree word, else cpuinfo's text."""
    data = _read(root, _DT_REVISION)
    if data is not None:
        if len(data) >= 4:
            return f"{struct.unpack('>I', data[:4])[0]:x}"
        log.debug("%s holds %d bytes, not 4: trying cpuinfo", _DT_REVISION, len(data))
    text = _cpuinfo_value(root, _CPUINFO_REVISION)
    if text is not None and not _HEX.fullmatch(text):
        log.debug("cpuinfo Revision %r is not hexadecimal: ignored", text)
        return None
    return text


def detect_revision(root: str = "/") -> int | None:
    """This machine's raw revision word, or None: the device tree first, then /proc/cpuinfo.

    The word is returned as read, over-volt prefix and flag bits included.
    """
    text = detect_revision_string(root)
    if text is None:
        return None
    value = int(text, 16)
    if value >> _data.CODE_BITS:
        log.warning("revision %s is wider than 32 bits: not a Raspberry Pi revision code", text)
        return None
    return value


def read_dt_compatible(root: str = "/") -> tuple[str, ...]:
    """The device tree's ``compatible`` strings ('raspberrypi,5-model-b', 'brcm,bcm2712'), or ()."""
    data = _read(root, _DT_COMPATIBLE)
    if not data:
        return ()
    return tuple(part for part in data.decode("ascii", "replace").split("\0") if part)


def read_dt_model(root: str = "/") -> str | None:
    """The device tree's human-readable ``model`` ('Raspberry Pi 4 Model B Rev 1.1'), or None."""
    data = _read(root, _DT_MODEL)
    if not data:
        return None
    return data.rstrip(b"\0").decode("utf-8", "replace") or None


def soc_from_compatible(compatible: tuple[str, ...]) -> str | None:
    """The SoC named by device-tree compatible strings ('brcm,bcm2711' -> 'BCM2711'), or None."""
    for entry in compatible:
        soc = _data.DT_COMPATIBLE_SOCS.get(entry)
        if soc is not None:
            return soc
    return None


def detect_board(root: str = "/") -> BoardInfo | None:
    """This machine's board, or None when it is not a Raspberry Pi (or says nothing about it).

    A revision from the device tree (a property only Raspberry Pi firmware sets) is decoded as is.
    A revision found only in /proc/cpuinfo counts when it decodes to a known board or when the
    cpuinfo Hardware line or the device tree names a Broadcom Pi SoC; other ARM boards print a
    Revision line too (often 0000), and they are not unknown Raspberry Pis.
    """
    device_tree_word = _read(root, _DT_REVISION)
    from_device_tree = device_tree_word is not None and len(device_tree_word) >= 4
    raw = detect_revision(root)
    if raw is None:
        log.debug("no revision under %s: not a Raspberry Pi", root)
        return None
    info = decode_revision(raw)
    if not from_device_tree and not info.known:
        hardware = _cpuinfo_value(root, _CPUINFO_HARDWARE) or ""
        compatible = read_dt_compatible(root)
        if not (
            hardware.upper().startswith("BCM")
            or soc_from_compatible(compatible)
            or any(entry.startswith("raspberrypi,") for entry in compatible)
        ):
            log.debug(
                "cpuinfo revision %x on hardware %r: not taken for a Raspberry Pi", raw, hardware
            )
            return None
    log.debug(
        "board under %s: %s (revision %s, %s)", root, info.model, info.revision_hex, info.processor
    )
    return info


def _cells(root: str, relative: str) -> int | None:
    data = _read(root, relative)
    if data is None or len(data) != 4:
        return None
    value: int = struct.unpack(">I", data)[0]
    return value


def _number(words: tuple[int, ...]) -> int:
    value = 0
    for word in words:
        value = value << 32 | word
    return value


def _is_bcm2712(root: str) -> bool:
    if soc_from_compatible(read_dt_compatible(root)) == "BCM2712":
        return True
    raw = detect_revision(root)
    return raw is not None and decode_revision(raw).processor == "BCM2712"


def soc_ranges_base(root: str = "/") -> tuple[int, int] | None:
    """(base, size) of the SoC peripheral window, from ``proc/device-tree/soc/ranges``, or None.

    The first ranges entry is (child address, parent address, size). With the ``#address-cells``/
    ``#size-cells`` files present it is read with those widths; without them the Raspberry Pi rule
    applies: the Pi 5 (BCM2712, from ``compatible`` or the revision) first, whose parent address is
    two cells (0x10_7c000000); otherwise the big-endian word at offset 4 (Pi 0-3: 0x20000000,
    0x3f000000), or at offset 8 when that is 0 (Pi 4: the high cell, then 0xfe000000), the size
    following it. On a Pi 5 the window is the BCM2712's own; its header GPIOs are on RP1, reached
    through /dev/gpiomem0, not at base + 0x200000.
    """
    data = _read(root, _DT_SOC_RANGES)
    if data is None:
        return None
    count = len(data) // 4
    words = struct.unpack(f">{count}I", data[: count * 4])
    parent_cells = _cells(root, _DT_ROOT_ADDRESS_CELLS)
    child_cells = _cells(root, _DT_SOC_ADDRESS_CELLS)
    size_cells = _cells(root, _DT_SOC_SIZE_CELLS)
    if parent_cells is not None and child_cells is not None and size_cells is not None:
        if len(words) < child_cells + parent_cells + size_cells:
            log.debug("%s: %d words, too short for one entry", _DT_SOC_RANGES, len(words))
            return None
        base = _number(words[child_cells : child_cells + parent_cells])
        size = _number(words[child_cells + parent_cells : child_cells + parent_cells + size_cells])
        return base, size
    if len(words) < 3:
        log.debug("%s: %d words, too short", _DT_SOC_RANGES, len(words))
        return None
    # Without the cell counts: a parent address of two cells (high word first) on the Pi 5, and
    # wherever the word at offset 4 is too small to be a 32-bit peripheral base (it is a high word).
    two_cells = _is_bcm2712(root) or 0 < words[1] < 0x100 or words[1] == 0
    if two_cells:
        if len(words) < 4:
            log.debug("%s: %d words, too short for a two-cell address", _DT_SOC_RANGES, len(words))
            return None
        return _number(words[1:3]), words[3]
    return words[1], words[2]
