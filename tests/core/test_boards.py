"""rpio_core.boards: revision codes, RPI_INFO, sysinfo, header maps, ALT names, detection.

The expected values are written out here from the reference tables (../shared/reference:
rpi-gpio-api.md "Revision -> RPI_INFO" and "BOARD -> BCM maps", registers-dma.md §2 and §4, the
Raspberry Pi revision-code documentation), never computed from the module's own tables, so a
wrong entry in rpio_core/_board_data*.py fails here.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.machinery
import importlib.util
import random
import re
import struct
import sys
from pathlib import Path

import pytest

_SRC = Path(__file__).resolve().parents[2] / "packages" / "rpio-core" / "src"


def _import_boards():
    """rpio_core.boards as installed; else from the source tree; else on its own.

    The last case is a checkout where the compiled rpio_core._core is not built yet: the package's
    __init__ cannot import, but boards.py is pure Python, so it is loaded under a private package
    name pointing at the same directory (rpio_core itself stays untouched in sys.modules).
    """
    try:
        from rpio_core import boards

        return boards
    except ImportError:
        pass
    if str(_SRC) not in sys.path:
        sys.path.insert(0, str(_SRC))
    try:
        from rpio_core import boards

        return boards
    except ImportError:
        name = "_rpio_core_boards_under_test"
        if name not in sys.modules:
            spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
            package = importlib.util.module_from_spec(spec)
            package.__path__ = [str(_SRC / "rpio_core")]
            sys.modules[name] = package
        return importlib.import_module(name + ".boards")


boards = _import_boards()
_data = boards._data
_alt = boards._alt

# ------------------------------------------------------------------------------------------------
# Reference facts
# ------------------------------------------------------------------------------------------------

# rpi-gpio-api.md, old style: code -> (TYPE, P1_REVISION, RAM, MANUFACTURER); PROCESSOR BCM2835.
RPIGPIO_OLD_STYLE = {
    0x0002: ("Model B", 1, "256M", "Egoman"),
    0x0003: ("Model B", 1, "256M", "Egoman"),
    0x0004: ("Model B", 2, "256M", "Sony UK"),
    0x0005: ("Model B", 2, "256M", "Qisda"),
    0x0006: ("Model B", 2, "256M", "Egoman"),
    0x0007: ("Model A", 2, "256M", "Egoman"),
    0x0008: ("Model A", 2, "256M", "Sony UK"),
    0x0009: ("Model A", 2, "256M", "Qisda"),
    0x000D: ("Model B", 2, "512M", "Egoman"),
    0x000E: ("Model B", 2, "512M", "Sony UK"),
    0x000F: ("Model B", 2, "512M", "Qisda"),
    0x0010: ("Model B+", 3, "512M", "Sony UK"),
    0x0011: ("Compute Module 1", 0, "512M", "Sony UK"),
    0x0012: ("Model A+", 3, "256M", "Sony UK"),
    0x0013: ("Model B+", 3, "512M", "Embest"),
    0x0014: ("Compute Module 1", 0, "512M", "Embest"),
    0x0015: ("Model A+", 3, "Unknown", "Embest"),
}

# The official old-style table: code -> (short model, PCB revision, RAM MB or None). 0015 shipped
# with 256 MB or 512 MB.
OFFICIAL_OLD_STYLE = {
    0x0002: ("B", "1.0", 256),
    0x0003: ("B", "1.0", 256),
    0x0004: ("B", "2.0", 256),
    0x0005: ("B", "2.0", 256),
    0x0006: ("B", "2.0", 256),
    0x0007: ("A", "2.0", 256),
    0x0008: ("A", "2.0", 256),
    0x0009: ("A", "2.0", 256),
    0x000D: ("B", "2.0", 512),
    0x000E: ("B", "2.0", 512),
    0x000F: ("B", "2.0", 512),
    0x0010: ("B+", "1.2", 512),
    0x0011: ("CM1", "1.0", 512),
    0x0012: ("A+", "1.1", 256),
    0x0013: ("B+", "1.2", 512),
    0x0014: ("CM1", "1.0", 512),
    0x0015: ("A+", "1.1", None),
}

# WiringPi's old-style extras: code -> (model, RAM MB, maker, P1 revision).
WIRINGPI_OLD_STYLE = {
    0x0016: ("Model B+", 512, "Sony UK", 3),
    0x0017: ("Compute Module 1", 512, "Sony UK", 0),
    0x0018: ("Model A+", 256, "Sony UK", 3),
    0x0019: ("Model B+", 512, "Egoman", 3),
    0x001A: ("Compute Module 1", 512, "Egoman", 0),
    0x001B: ("Model A+", 256, "Egoman", 3),
}

# rpi-gpio-api.md, new style, the types RPi.GPIO names: type -> (TYPE, P1_REVISION).
RPIGPIO_TYPES = {
    0x00: ("Model A", 2),
    0x01: ("Model B", 2),
    0x02: ("Model A+", 3),
    0x03: ("Model B+", 3),
    0x04: ("Pi 2 Model B", 3),
    0x05: ("Alpha", 3),
    0x06: ("Compute Module 1", 0),
    0x08: ("Pi 3 Model B", 3),
    0x09: ("Zero", 3),
    0x0A: ("Compute Module 3", 0),
    0x0C: ("Zero W", 3),
    0x0D: ("Pi 3 Model B+", 3),
    0x0E: ("Pi 3 Model A+", 3),
    0x10: ("Compute Module 3+", 0),
    0x11: ("Pi 4 Model B", 3),
    0x12: ("Zero 2 W", 3),
    0x13: ("Pi 400", 3),
    0x14: ("Compute Module 4", 0),
}
RPIGPIO_RAM = {0: "256M", 1: "512M", 2: "1G", 3: "2G", 4: "4G", 5: "8G"}
RPIGPIO_MAKERS = {
    0: "Sony UK",
    1: "Egoman",
    2: "Embest",
    3: "Sony Japan",
    4: "Embest",
    5: "Stadium",
}
RPIGPIO_PROCESSORS = {0: "BCM2835", 1: "BCM2836", 2: "BCM2837", 3: "BCM2711"}

# The boards RPi.GPIO does not know: type -> (model, P1 revision), processor BCM2712 unless noted.
NEWER_TYPES = {
    0x15: ("Compute Module 4S", 0),
    0x17: ("Pi 5 Model B", 3),
    0x18: ("Compute Module 5", 0),
    0x19: ("Pi 500", 3),
    0x1A: ("Compute Module 5 Lite", 0),
    0x1B: ("Compute Module 0", 0),
}

# The official "new-style revision codes in use" table: code -> (short model, PCB, MB, maker).
# (a02042/a22042 are the 2B with a BCM2837; e04190 is the 500+, type 0x19 like the 500.)
OFFICIAL_NEW_STYLE = {
    0x900021: ("A+", "1.1", 512, "Sony UK"),
    0x900032: ("B+", "1.2", 512, "Sony UK"),
    0xA01040: ("2B", "1.0", 1024, "Sony UK"),
    0xA01041: ("2B", "1.1", 1024, "Sony UK"),
    0xA21041: ("2B", "1.1", 1024, "Embest"),
    0xA02042: ("2B", "1.2", 1024, "Sony UK"),
    0xA22042: ("2B", "1.2", 1024, "Embest"),
    0x900061: ("CM1", "1.1", 512, "Sony UK"),
    0xA02082: ("3B", "1.2", 1024, "Sony UK"),
    0xA22082: ("3B", "1.2", 1024, "Embest"),
    0xA32082: ("3B", "1.2", 1024, "Sony Japan"),
    0xA52082: ("3B", "1.2", 1024, "Stadium"),
    0xA22083: ("3B", "1.3", 1024, "Embest"),
    0x900092: ("Zero", "1.2", 512, "Sony UK"),
    0x920092: ("Zero", "1.2", 512, "Embest"),
    0x900093: ("Zero", "1.3", 512, "Sony UK"),
    0x920093: ("Zero", "1.3", 512, "Embest"),
    0xA020A0: ("CM3", "1.0", 1024, "Sony UK"),
    0xA220A0: ("CM3", "1.0", 1024, "Embest"),
    0x9000C1: ("Zero W", "1.1", 512, "Sony UK"),
    0xA020D3: ("3B+", "1.3", 1024, "Sony UK"),
    0xA020D4: ("3B+", "1.4", 1024, "Sony UK"),
    0x9020E0: ("3A+", "1.0", 512, "Sony UK"),
    0x9020E1: ("3A+", "1.1", 512, "Sony UK"),
    0xA02100: ("CM3+", "1.0", 1024, "Sony UK"),
    0xA03111: ("4B", "1.1", 1024, "Sony UK"),
    0xB03111: ("4B", "1.1", 2048, "Sony UK"),
    0xC03111: ("4B", "1.1", 4096, "Sony UK"),
    0xB03112: ("4B", "1.2", 2048, "Sony UK"),
    0xC03112: ("4B", "1.2", 4096, "Sony UK"),
    0xB03114: ("4B", "1.4", 2048, "Sony UK"),
    0xC03114: ("4B", "1.4", 4096, "Sony UK"),
    0xD03114: ("4B", "1.4", 8192, "Sony UK"),
    0xB03115: ("4B", "1.5", 2048, "Sony UK"),
    0xC03115: ("4B", "1.5", 4096, "Sony UK"),
    0xD03115: ("4B", "1.5", 8192, "Sony UK"),
    0x902120: ("Zero 2 W", "1.0", 512, "Sony UK"),
    0xC03130: ("400", "1.0", 4096, "Sony UK"),
    0xA03140: ("CM4", "1.0", 1024, "Sony UK"),
    0xB03140: ("CM4", "1.0", 2048, "Sony UK"),
    0xC03140: ("CM4", "1.0", 4096, "Sony UK"),
    0xD03140: ("CM4", "1.0", 8192, "Sony UK"),
    0xB04170: ("5", "1.0", 2048, "Sony UK"),
    0xC04170: ("5", "1.0", 4096, "Sony UK"),
    0xD04170: ("5", "1.0", 8192, "Sony UK"),
    0xA04171: ("5", "1.1", 1024, "Sony UK"),
    0xB04171: ("5", "1.1", 2048, "Sony UK"),
    0xC04171: ("5", "1.1", 4096, "Sony UK"),
    0xD04171: ("5", "1.1", 8192, "Sony UK"),
    0xE04171: ("5", "1.1", 16384, "Sony UK"),
    0xB04180: ("CM5", "1.0", 2048, "Sony UK"),
    0xC04180: ("CM5", "1.0", 4096, "Sony UK"),
    0xD04180: ("CM5", "1.0", 8192, "Sony UK"),
    0xE04180: ("CM5", "1.0", 16384, "Sony UK"),
    0xD04190: ("500", "1.0", 8192, "Sony UK"),
    0xE04190: ("500", "1.0", 16384, "Sony UK"),
    0xB041A0: ("CM5 Lite", "1.0", 2048, "Sony UK"),
    0xC041A0: ("CM5 Lite", "1.0", 4096, "Sony UK"),
    0xD041A0: ("CM5 Lite", "1.0", 8192, "Sony UK"),
    0xE041A0: ("CM5 Lite", "1.0", 16384, "Sony UK"),
}

# rpi-gpio-api.md "BOARD -> BCM maps".
MAP_40 = {
    3: 2, 5: 3, 7: 4, 8: 14, 10: 15, 11: 17, 12: 18, 13: 27, 15: 22, 16: 23, 18: 24, 19: 10,
    21: 9, 22: 25, 23: 11, 24: 8, 26: 7, 29: 5, 31: 6, 32: 12, 33: 13, 35: 19, 36: 16, 37: 26,
    38: 20, 40: 21,
}  # fmt: skip
MAP_REV2 = {pin: gpio for pin, gpio in MAP_40.items() if pin <= 26}
MAP_REV1 = {**MAP_REV2, 3: 0, 5: 1, 13: 21}

POWER_40 = {
    1: "3V3", 2: "5V", 4: "5V", 6: "GND", 9: "GND", 14: "GND", 17: "3V3", 20: "GND", 25: "GND",
    30: "GND", 34: "GND", 39: "GND",
}  # fmt: skip

# registers-dma.md §2, BCM2835 ALT0-ALT5 of GPIO 0-27 (None = reserved).
BCM2835_REFERENCE = {
    0: ("SDA0", "SA5", "PCLK", "AVEOUT_VCLK", "AVEIN_VCLK", None),
    1: ("SCL0", "SA4", "DE", "AVEOUT_DSYNC", "AVEIN_DSYNC", None),
    2: ("SDA1", "SA3", "LCD_VSYNC", "AVEOUT_VSYNC", "AVEIN_VSYNC", None),
    3: ("SCL1", "SA2", "LCD_HSYNC", "AVEOUT_HSYNC", "AVEIN_HSYNC", None),
    4: ("GPCLK0", "SA1", "DPI_D0", "AVEOUT_VID0", "AVEIN_VID0", "ARM_TDI"),
    5: ("GPCLK1", "SA0", "DPI_D1", "AVEOUT_VID1", "AVEIN_VID1", "ARM_TDO"),
    6: ("GPCLK2", "SOE_N_SE", "DPI_D2", "AVEOUT_VID2", "AVEIN_VID2", "ARM_RTCK"),
    7: ("SPI0_CE1_N", "SWE_N_SRW_N", "DPI_D3", "AVEOUT_VID3", "AVEIN_VID3", None),
    8: ("SPI0_CE0_N", "SD0", "DPI_D4", "AVEOUT_VID4", "AVEIN_VID4", None),
    9: ("SPI0_MISO", "SD1", "DPI_D5", "AVEOUT_VID5", "AVEIN_VID5", None),
    10: ("SPI0_MOSI", "SD2", "DPI_D6", "AVEOUT_VID6", "AVEIN_VID6", None),
    11: ("SPI0_SCLK", "SD3", "DPI_D7", "AVEOUT_VID7", "AVEIN_VID7", None),
    12: ("PWM0", "SD4", "DPI_D8", "AVEOUT_VID8", "AVEIN_VID8", "ARM_TMS"),
    13: ("PWM1", "SD5", "DPI_D9", "AVEOUT_VID9", "AVEIN_VID9", "ARM_TCK"),
    14: ("TXD0", "SD6", "DPI_D10", "AVEOUT_VID10", "AVEIN_VID10", "TXD1"),
    15: ("RXD0", "SD7", "DPI_D11", "AVEOUT_VID11", "AVEIN_VID11", "RXD1"),
    16: ("FL0", "SD8", "DPI_D12", "CTS0", "SPI1_CE2_N", "CTS1"),
    17: ("FL1", "SD9", "DPI_D13", "RTS0", "SPI1_CE1_N", "RTS1"),
    18: ("PCM_CLK", "SD10", "DPI_D14", "I2CSL_SDA_MOSI", "SPI1_CE0_N", "PWM0"),
    19: ("PCM_FS", "SD11", "DPI_D15", "I2CSL_SCL_SCLK", "SPI1_MISO", "PWM1"),
    20: ("PCM_DIN", "SD12", "DPI_D16", "I2CSL_MISO", "SPI1_MOSI", "GPCLK0"),
    21: ("PCM_DOUT", "SD13", "DPI_D17", "I2CSL_CE_N", "SPI1_SCLK", "GPCLK1"),
    22: ("SD0_CLK", "SD14", "DPI_D18", "SD1_CLK", "ARM_TRST", None),
    23: ("SD0_CMD", "SD15", "DPI_D19", "SD1_CMD", "ARM_RTCK", None),
    24: ("SD0_DAT0", "SD16", "DPI_D20", "SD1_DAT0", "ARM_TDO", None),
    25: ("SD0_DAT1", "SD17", "DPI_D21", "SD1_DAT1", "ARM_TCK", None),
    26: ("SD0_DAT2", "TE0", "DPI_D22", "SD1_DAT2", "ARM_TDI", None),
    27: ("SD0_DAT3", "TE1", "DPI_D23", "SD1_DAT3", "ARM_TMS", None),
}

# registers-dma.md §2, BCM2711 ALT3/ALT4/ALT5 of GPIO 0-27, given there in pairs.
BCM2711_REFERENCE_ALT345 = {
    (0, 1): (("SPI3_CE0_N", "SPI3_MISO"), ("TXD2", "RXD2"), ("SDA6", "SCL6")),
    (2, 3): (("SPI3_MOSI", "SPI3_SCLK"), ("CTS2", "RTS2"), ("SDA3", "SCL3")),
    (4, 5): (("SPI4_CE0_N", "SPI4_MISO"), ("TXD3", "RXD3"), ("SDA3", "SCL3")),
    (6, 7): (("SPI4_MOSI", "SPI4_SCLK"), ("CTS3", "RTS3"), ("SDA4", "SCL4")),
    (8, 9): (("I2CSL_CE_N", "I2CSL_SDI_MISO"), ("TXD4", "RXD4"), ("SDA4", "SCL4")),
    (10, 11): (("I2CSL_SDA_MOSI", "I2CSL_SCL_SCLK"), ("CTS4", "RTS4"), ("SDA5", "SCL5")),
    (12, 13): (("SPI5_CE0_N", "SPI5_MISO"), ("TXD5", "RXD5"), ("SDA5", "SCL5")),
    (14, 15): (("SPI5_MOSI", "SPI5_SCLK"), ("CTS5", "RTS5"), ("TXD1", "RXD1")),
    (16, 17): (("CTS0", "RTS0"), ("SPI1_CE2_N", "SPI1_CE1_N"), ("CTS1", "RTS1")),
    (18, 19): (("SPI6_CE0_N", "SPI6_MISO"), ("SPI1_CE0_N", "SPI1_MISO"), ("PWM0_0", "PWM0_1")),
    (20, 21): (("SPI6_MOSI", "SPI6_SCLK"), ("SPI1_MOSI", "SPI1_SCLK"), ("GPCLK0", "GPCLK1")),
    (22, 23): (("SD1_CLK", "SD1_CMD"), ("ARM_TRST", "ARM_RTCK"), ("SDA6", "SCL6")),
    (24, 25): (("SD1_DAT0", "SD1_DAT1"), ("ARM_TDO", "ARM_TCK"), ("SPI3_CE1_N", "SPI4_CE1_N")),
    (26, 27): (("SD1_DAT2", "SD1_DAT3"), ("ARM_TDI", "ARM_TMS"), ("SPI5_CE1_N", "SPI6_CE1_N")),
}

# RPi.GPIO gpio_function() (rpi-gpio-api.md): (alt, gpio) -> value; everything else UNKNOWN (-1).
RPIGPIO_CATEGORY_RULE = {
    **{(0, g): 42 for g in (0, 1, 2, 3, 28, 29)},
    **{(0, g): 41 for g in (7, 8, 9, 10, 11)},
    **{(0, g): 43 for g in (12, 13)},
    **{(0, g): 40 for g in (14, 15)},
    **{(5, g): 43 for g in (18, 19)},
    **{(4, g): 41 for g in (16, 17, 18, 19, 20, 21)},
}


def new_style(type_id, processor=0, maker=0, memory=0, revision=0):
    return 1 << 23 | memory << 20 | maker << 16 | processor << 12 | type_id << 4 | revision


# ------------------------------------------------------------------------------------------------
# Revision codes: RPI_INFO exactly as RPi.GPIO 0.7.1
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(RPIGPIO_OLD_STYLE))
def test_rpi_info_old_style_matches_rpigpio(code):
    board_type, p1, ram, maker = RPIGPIO_OLD_STYLE[code]
    expected = {
        "P1_REVISION": p1,
        "REVISION": f"{code:x}",
        "TYPE": board_type,
        "MANUFACTURER": maker,
        "PROCESSOR": "BCM2835",
        "RAM": ram,
    }
    assert boards.rpi_info(code, strict_rpigpio=True) == expected
    assert boards.rpi_info(code) == expected
    # from /proc/cpuinfo RPi.GPIO keeps the text as it is: "000e", not "e"
    assert boards.rpi_info(f"{code:04x}", strict_rpigpio=True) == {
        **expected,
        "REVISION": f"{code:04x}",
    }


def test_rpi_info_formats_revision_without_padding():
    assert boards.rpi_info(0x0002)["REVISION"] == "2"
    assert boards.rpi_info(0xA02082)["REVISION"] == "a02082"
    assert list(boards.rpi_info(0x0002)) == [
        "P1_REVISION",
        "REVISION",
        "TYPE",
        "MANUFACTURER",
        "PROCESSOR",
        "RAM",
    ]
    assert isinstance(boards.rpi_info(0x0002)["P1_REVISION"], int)


@pytest.mark.parametrize("code", [0x0000, 0x0001, 0x000A, 0x000B, 0x000C, 0x0016, 0x001B, 0x0042])
def test_rpi_info_strict_unlisted_old_style_is_unknown_with_40_pins(code):
    assert boards.rpi_info(code, strict_rpigpio=True) == {
        "P1_REVISION": 3,
        "REVISION": f"{code:x}",
        "TYPE": "Unknown",
        "MANUFACTURER": "Unknown",
        "PROCESSOR": "Unknown",
        "RAM": "Unknown",
    }


def test_rpi_info_overvolt_mask_quirk():
    # RPi.GPIO masks with 0xefffffff: bit 28 ("10000002") is dropped, bit 24 ("1000002") is not
    assert boards.rpi_info("1000002", strict_rpigpio=True) == {
        "P1_REVISION": 3,
        "REVISION": "1000002",
        "TYPE": "Unknown",
        "MANUFACTURER": "Unknown",
        "PROCESSOR": "Unknown",
        "RAM": "Unknown",
    }
    assert boards.rpi_info(0x1000002, strict_rpigpio=True)["TYPE"] == "Unknown"
    assert boards.rpi_info("10000002", strict_rpigpio=True) == {
        "P1_REVISION": 1,
        "REVISION": "10000002",
        "TYPE": "Model B",
        "MANUFACTURER": "Egoman",
        "PROCESSOR": "BCM2835",
        "RAM": "256M",
    }
    # the default fills in what RPi.GPIO got wrong: a rev-1 Model B, 26-pin rev-1 header
    assert boards.rpi_info("1000002") == {
        "P1_REVISION": 1,
        "REVISION": "1000002",
        "TYPE": "Model B",
        "MANUFACTURER": "Egoman",
        "PROCESSOR": "BCM2835",
        "RAM": "256M",
    }


@pytest.mark.parametrize("type_id", sorted(RPIGPIO_TYPES))
def test_rpi_info_new_style_types_rpigpio_knows(type_id):
    board_type, p1 = RPIGPIO_TYPES[type_id]
    for processor in range(16):
        for maker in range(16):
            for memory in range(8):
                code = new_style(
                    type_id, processor, maker, memory, revision=(processor + maker) % 16
                )
                expected = {
                    "P1_REVISION": p1,
                    "REVISION": f"{code:x}",
                    "TYPE": board_type,
                    "MANUFACTURER": RPIGPIO_MAKERS.get(maker, "Unknown"),
                    "PROCESSOR": RPIGPIO_PROCESSORS.get(processor, "Unknown"),
                    "RAM": RPIGPIO_RAM.get(memory, "Unknown"),
                }
                assert boards.rpi_info(code, strict_rpigpio=True) == expected, hex(code)


def test_rpi_info_c04170_strict_and_default():
    assert boards.rpi_info(0xC04170, strict_rpigpio=True) == {
        "P1_REVISION": 3,
        "REVISION": "c04170",
        "TYPE": "Unknown",
        "MANUFACTURER": "Sony UK",
        "PROCESSOR": "Unknown",
        "RAM": "4G",
    }
    assert boards.rpi_info(0xC04170) == {
        "P1_REVISION": 3,
        "REVISION": "c04170",
        "TYPE": "Pi 5 Model B",
        "MANUFACTURER": "Sony UK",
        "PROCESSOR": "BCM2712",
        "RAM": "4G",
    }


@pytest.mark.parametrize("type_id", sorted(NEWER_TYPES))
def test_rpi_info_boards_rpigpio_does_not_know(type_id):
    model, p1 = NEWER_TYPES[type_id]
    processor = 3 if type_id == 0x15 else (2 if type_id == 0x1B else 4)
    code = new_style(type_id, processor=processor, memory=6)
    strict = boards.rpi_info(code, strict_rpigpio=True)
    assert (strict["TYPE"], strict["P1_REVISION"], strict["RAM"]) == ("Unknown", 3, "Unknown")
    filled = boards.rpi_info(code)
    assert filled["TYPE"] == model
    assert filled["P1_REVISION"] == p1
    assert filled["RAM"] == "16G"
    assert filled["PROCESSOR"] == {3: "BCM2711", 2: "BCM2837", 4: "BCM2712"}[processor]
    assert filled["REVISION"] == strict["REVISION"] == f"{code:x}"


def test_rpi_info_reads_type_digits_like_rpigpio():
    # RPi.GPIO compares the type digits with lower-case characters: "A020A0" is not a CM3 to it
    assert boards.rpi_info("A020A0", strict_rpigpio=True)["TYPE"] == "Unknown"
    assert boards.rpi_info("A020A0", strict_rpigpio=True)["RAM"] == "1G"
    assert boards.rpi_info("A020A0")["TYPE"] == "Compute Module 3"
    assert boards.rpi_info("A020A0")["P1_REVISION"] == 0
    assert boards.rpi_info(" 0xa02082\n", strict_rpigpio=True)["REVISION"] == "a02082"


# What RPi.GPIO 0.7.1's get_rpi_info() returned for these /proc/cpuinfo Revision texts (its
# cpuinfo.c built off-Pi with the file paths redirected): P1|REVISION|TYPE|MAKER|PROCESSOR|RAM.
RPIGPIO_OBSERVED = {
    "9000C1": "3|9000C1|Unknown|Sony UK|BCM2835|512M",
    "9000c1": "3|9000c1|Zero W|Sony UK|BCM2835|512M",
    "2a02082": "3|2a02082|Pi 3 Model B|Sony UK|BCM2837|1G",
    "1000000E": "2|1000000E|Model B|Sony UK|BCM2835|512M",
    "A22082": "3|A22082|Pi 3 Model B|Embest|BCM2837|1G",
    "10000015": "3|10000015|Model A+|Embest|BCM2835|Unknown",
    "800000": "2|800000|Model A|Sony UK|BCM2835|256M",
    "abc": "3|abc|Unknown|Unknown|Unknown|Unknown",
    "e04171": "3|e04171|Unknown|Sony UK|Unknown|Unknown",
    "1a02082": "3|1a02082|Pi 3 Model B|Sony UK|BCM2837|1G",
}


@pytest.mark.parametrize("text", sorted(RPIGPIO_OBSERVED))
def test_rpi_info_strict_matches_observed_rpigpio(text):
    p1, revision, board_type, maker, processor, ram = RPIGPIO_OBSERVED[text].split("|")
    assert boards.rpi_info(text, strict_rpigpio=True) == {
        "P1_REVISION": int(p1),
        "REVISION": revision,
        "TYPE": board_type,
        "MANUFACTURER": maker,
        "PROCESSOR": processor,
        "RAM": ram,
    }


def test_rpi_info_wiringpi_extras_strict_unknown_default_filled():
    for code, (model, ram_mb, maker, p1) in WIRINGPI_OLD_STYLE.items():
        assert boards.rpi_info(code, strict_rpigpio=True)["TYPE"] == "Unknown"
        filled = boards.rpi_info(code)
        assert filled["TYPE"] == model
        assert filled["P1_REVISION"] == p1
        assert filled["RAM"] == f"{ram_mb}M"
        assert filled["MANUFACTURER"] == maker
        assert filled["PROCESSOR"] == "BCM2835"


def test_rpi_info_returns_a_fresh_dict_and_accepts_board_info():
    first = boards.rpi_info(0xA02082)
    first["TYPE"] = "changed"
    assert boards.rpi_info(0xA02082)["TYPE"] == "Pi 3 Model B"
    info = boards.decode_revision(0x1000002)
    assert boards.rpi_info(info)["REVISION"] == "1000002"  # the raw word, not the masked code


# ------------------------------------------------------------------------------------------------
# Revision codes: BoardInfo
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(OFFICIAL_OLD_STYLE))
def test_decode_old_style(code):
    short, pcb, ram_mb = OFFICIAL_OLD_STYLE[code]
    board_type, p1, _ram, maker = RPIGPIO_OLD_STYLE[code]
    info = boards.decode_revision(code)
    assert info.raw == info.code == code
    assert info.new_style is False
    assert info.known is True
    assert info.model == board_type
    assert info.short_model == short
    assert info.type_id is None
    assert info.pcb_revision == pcb
    assert info.ram_mb == ram_mb
    assert info.manufacturer == maker
    assert info.processor == "BCM2835"
    assert info.chip == "bcm2835"
    assert info.gpio_count == 54
    assert info.p1_revision == p1
    assert info.header == {0: None, 1: "26-rev1", 2: "26-rev2", 3: "40"}[p1]
    assert info.revision_hex == f"{code:x}"
    assert info.rpio_revision_hex == f"{code:04x}"
    assert info.warranty_void is False


def test_decode_wiringpi_extras():
    for code, (model, ram_mb, maker, p1) in WIRINGPI_OLD_STYLE.items():
        info = boards.decode_revision(code)
        assert (info.model, info.ram_mb, info.manufacturer, info.p1_revision) == (
            model,
            ram_mb,
            maker,
            p1,
        )
        assert info.chip == "bcm2835"


@pytest.mark.parametrize("code", sorted(OFFICIAL_NEW_STYLE))
def test_decode_official_new_style_codes(code):
    short, pcb, ram_mb, maker = OFFICIAL_NEW_STYLE[code]
    info = boards.decode_revision(code)
    assert info.new_style is True
    assert info.known is True
    assert info.short_model == short
    assert info.pcb_revision == pcb
    assert info.ram_mb == ram_mb
    assert info.manufacturer == maker
    assert info.type_id == (code >> 4) & 0xFF
    assert info.revision_hex == info.rpio_revision_hex == f"{code:06x}"
    assert info.chip is not None


@pytest.mark.parametrize(
    ("code", "model", "processor", "chip", "ram_mb", "p1", "header", "gpios"),
    [
        (0xA02082, "Pi 3 Model B", "BCM2837", "bcm2835", 1024, 3, "40", 54),
        (0x902120, "Zero 2 W", "BCM2837", "bcm2835", 512, 3, "40", 54),
        (0xC03111, "Pi 4 Model B", "BCM2711", "bcm2711", 4096, 3, "40", 58),
        (0xD04170, "Pi 5 Model B", "BCM2712", "rp1", 8192, 3, "40", 54),
        (0xD04190, "Pi 500", "BCM2712", "rp1", 8192, 3, "40", 54),
        (0xB041A0, "Compute Module 5 Lite", "BCM2712", "rp1", 2048, 0, None, 54),
        (0xA01041, "Pi 2 Model B", "BCM2836", "bcm2835", 1024, 3, "40", 54),
        (0xA02042, "Pi 2 Model B", "BCM2837", "bcm2835", 1024, 3, "40", 54),
        (0xD04180, "Compute Module 5", "BCM2712", "rp1", 8192, 0, None, 54),
        (0xC03130, "Pi 400", "BCM2711", "bcm2711", 4096, 3, "40", 58),
        (0x9000C1, "Zero W", "BCM2835", "bcm2835", 512, 3, "40", 54),
    ],
)
def test_decode_reference_examples(code, model, processor, chip, ram_mb, p1, header, gpios):
    info = boards.decode_revision(code)
    assert info.model == model
    assert info.processor == processor
    assert info.chip == chip
    assert info.ram_mb == ram_mb
    assert info.p1_revision == p1
    assert info.header == header
    assert info.gpio_count == gpios


def test_decode_cm4s_and_cm0():
    cm4s = boards.decode_revision(new_style(0x15, processor=3, memory=2))
    assert (cm4s.model, cm4s.chip, cm4s.p1_revision, cm4s.header) == (
        "Compute Module 4S",
        "bcm2711",
        0,
        None,
    )
    cm0 = boards.decode_revision(new_style(0x1B, processor=2, memory=1))
    assert (cm0.model, cm0.chip, cm0.p1_revision) == ("Compute Module 0", "bcm2835", 0)


def test_decode_overvolt_prefix_and_flags():
    info = boards.decode_revision("1000002")
    assert (info.raw, info.code, info.model, info.p1_revision) == (0x1000002, 0x2, "Model B", 1)
    assert info.revision_hex == "1000002"
    assert info.rpio_revision_hex == "0002"
    assert info.warranty_void is True
    assert boards.decode_revision("1000000e").code == 0xE
    flagged = boards.decode_revision(0xE2A02082)  # N, O, Q and W set on a 3B
    assert flagged.code == 0xA02082
    assert flagged.model == "Pi 3 Model B"
    assert flagged.warranty_void and flagged.overvoltage_disallowed
    assert flagged.otp_program_disallowed and flagged.otp_read_disallowed
    assert flagged.revision_hex == "e2a02082"
    assert boards.decode_revision(0xA02082).warranty_void is False


def test_decode_accepts_text_forms():
    for text in ("a02082", "A02082", "0xa02082", "0XA02082", "  a02082\n", "00a02082"):
        assert boards.decode_revision(text).code == 0xA02082, text
    assert boards.decode_revision("000e") == boards.decode_revision(0xE)


@pytest.mark.parametrize(
    "code",
    [0x0000, 0x0001, 0x000A, 0x001C, 0x00FF, new_style(0x07), new_style(0x0F), new_style(0x16)],
)
def test_decode_unknown_board_does_not_raise(code):
    info = boards.decode_revision(code)
    assert info.known is False
    assert info.model == "Unknown"
    assert info.header is None
    assert info.p1_revision == 3  # RPi.GPIO's assumption for a board it does not know


def test_decode_unknown_processor_never_guesses_a_chip():
    for processor in range(5, 16):
        info = boards.decode_revision(new_style(0x11, processor=processor, memory=7))
        assert info.processor == "Unknown"
        assert info.chip is None
        assert info.gpio_count is None
        assert info.ram_mb is None  # memory field 7 is "other"
    assert boards.decode_revision(0x0001).chip is None
    assert boards.decode_revision(0xFFFFFFFF).chip is None
    assert boards.decode_revision(new_style(0x11, maker=9)).manufacturer == "Unknown"


@pytest.mark.parametrize("garbage", [-1, -0x10, 1 << 32, "", "0x", "xyz", "a0 2082", "-2", "1g"])
def test_decode_garbage_raises_value_error(garbage):
    with pytest.raises(ValueError, match="revision code"):
        boards.decode_revision(garbage)
    with pytest.raises(ValueError):
        boards.rpi_info(garbage)


@pytest.mark.parametrize("wrong_type", [None, 1.5, True, b"a02082", [0xA02082]])
def test_decode_wrong_type_raises_type_error(wrong_type):
    with pytest.raises(TypeError):
        boards.decode_revision(wrong_type)


def test_board_info_is_frozen():
    info = boards.decode_revision(0xC03111)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.chip = "rp1"


def test_resolve_board_name():
    assert boards.resolve_board_name("pi4") == 0xC03111
    assert boards.resolve_board_name("Pi 3B+") == 0xA020D3
    assert boards.resolve_board_name("CM5-Lite") == 0xB041A0
    assert boards.resolve_board_name("c03111") == 0xC03111
    assert boards.resolve_board_name("0xd04170") == 0xD04170
    assert boards.resolve_board_name(0x0002) == 0x0002
    with pytest.raises(ValueError, match="pi4"):
        boards.resolve_board_name("raspberry")


def test_board_aliases_name_the_boards_they_say():
    expected_models = {
        "pi1": "Model B",
        "pi1rev1": "Model B",
        "pi1a+": "Model A+",
        "cm1": "Compute Module 1",
        "zero2w": "Zero 2 W",
        "pi2": "Pi 2 Model B",
        "pi3": "Pi 3 Model B",
        "pi3a+": "Pi 3 Model A+",
        "pi4": "Pi 4 Model B",
        "pi400": "Pi 400",
        "cm4": "Compute Module 4",
        "pi5": "Pi 5 Model B",
        "cm5": "Compute Module 5",
        "pi500": "Pi 500",
        "cm5lite": "Compute Module 5 Lite",
    }
    aliases = boards.board_aliases()
    for alias, model in expected_models.items():
        assert boards.decode_revision(aliases[alias]).model == model, alias
    for alias, code in aliases.items():
        info = boards.decode_revision(code)
        assert info.known and info.chip is not None, alias
        assert code in OFFICIAL_NEW_STYLE or code in OFFICIAL_OLD_STYLE, alias
        assert re.fullmatch(r"[a-z0-9+]+", alias), alias
    assert boards.decode_revision(aliases["pi1rev1"]).p1_revision == 1


# ------------------------------------------------------------------------------------------------
# sysinfo
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (0x000E, ("000e", "B", "2.0", 512, "Sony UK")),
        ("000e", ("000e", "B", "2.0", 512, "Sony UK")),
        (0x0002, ("0002", "B", "1.0", 256, "Egoman")),
        ("1000002", ("0002", "B", "1.0", 256, "Egoman")),
        ("1000000f", ("000f", "B", "2.0", 512, "Qisda")),
        (0x0015, ("0015", "A+", "1.1", 0, "Embest")),
        (0xA02082, ("a02082", "3B", "1.2", 1024, "Sony UK")),
        (0x2A02082, ("2a02082", "3B", "1.2", 1024, "Sony UK")),
        (0xD04170, ("d04170", "5", "1.0", 8192, "Sony UK")),
        (0x0001, ("0001", "Unknown", "Unknown", 0, "Unknown")),
        (new_style(0x16, processor=4, memory=7), ("f04160", "Unknown", "1.0", 0, "Sony UK")),
    ],
)
def test_sysinfo_values(code, expected):
    assert boards.sysinfo(code) == expected


def test_sysinfo_never_raises():
    rng = random.Random(20240611)
    values = [rng.getrandbits(32) for _ in range(3000)]
    values += [rng.getrandbits(24) for _ in range(2000)]
    values += list(range(0x40)) + [1 << bit for bit in range(40)] + [-1, -(1 << 40), 1 << 64]
    values += [f"{v:x}" for v in values[:500]] + ["", "zz", "0x", " ", "12 34", "\x00", "é"]
    values += [None, 3.5, b"0002", [], object()]
    unknown = ("Unknown", "Unknown", "Unknown", 0, "Unknown")
    for value in values:
        result = boards.sysinfo(value) if value is not None else boards.sysinfo(root="/nonexistent")
        assert isinstance(result, tuple) and len(result) == 5, value
        hex_rev, model, pcb, ram_mb, maker = result
        assert all(isinstance(field, str) for field in (hex_rev, model, pcb, maker)), value
        assert isinstance(ram_mb, int), value
        if isinstance(value, int) and 0 <= value < 1 << 32:
            assert hex_rev != "Unknown"
        elif not isinstance(value, str):
            assert result == unknown, value


# ------------------------------------------------------------------------------------------------
# Header maps
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("p1", "expected"), [(1, MAP_REV1), (2, MAP_REV2), (3, MAP_40)])
def test_board_to_bcm_maps_match_rpigpio(p1, expected):
    assert boards.board_to_bcm_map(p1) == expected
    assert boards.bcm_to_board_map(p1) == {gpio: pin for pin, gpio in expected.items()}


def test_compute_module_has_no_board_map():
    assert boards.board_to_bcm_map(0) is None
    assert boards.bcm_to_board_map(0) is None
    assert boards.header_for_p1(0) is None
    with pytest.raises(ValueError):
        boards.board_to_bcm_map(4)


def test_board_maps_are_fresh_copies():
    first = boards.board_to_bcm_map(3)
    first[3] = 99
    assert boards.board_to_bcm_map(3)[3] == 2


def test_power_and_ground_pins():
    assert boards.power_pins("40") == POWER_40
    assert boards.power_pins("26-rev2") == {pin: n for pin, n in POWER_40.items() if pin <= 26}
    assert boards.power_pins("26-rev1") == boards.power_pins("26-rev2")
    assert boards.power_pins("P5") == {1: "5V", 2: "3V3", 7: "GND", 8: "GND"}


def test_id_eeprom_pins_are_gpios_but_not_board_channels():
    pins = {pin.number: pin for pin in boards.header_pins("40")}
    assert (pins[27].name, pins[27].kind, pins[27].gpio) == ("ID_SD", "id", 0)
    assert (pins[28].name, pins[28].kind, pins[28].gpio) == ("ID_SC", "id", 1)
    assert 27 not in boards.board_to_bcm_map(3)
    assert 28 not in boards.board_to_bcm_map(3)


def test_p5_header_of_rev2_boards():
    gpios = {pin.number: pin.gpio for pin in boards.header_pins("P5") if pin.kind == "gpio"}
    assert gpios == {3: 28, 4: 29, 5: 30, 6: 31}


@pytest.mark.parametrize("header", ["40", "26-rev2", "26-rev1", "P5"])
def test_header_tables_are_consistent(header):
    pins = boards.header_pins(header)
    assert [pin.number for pin in pins] == list(range(1, len(pins) + 1))
    assert len(pins) == {"40": 40, "26-rev2": 26, "26-rev1": 26, "P5": 8}[header]
    gpio_pins = [pin for pin in pins if pin.kind in ("gpio", "id")]
    for pin in pins:
        assert pin.kind in ("gpio", "power", "ground", "id"), pin
        if pin.kind == "gpio":
            assert pin.name == f"GPIO{pin.gpio}"
        elif pin.kind == "power":
            assert pin.name in ("3V3", "5V") and pin.gpio is None
        elif pin.kind == "ground":
            assert pin.name == "GND" and pin.gpio is None
        if pin.gpio is not None:
            # every header GPIO exists on every chip (the smallest has 54)
            assert 0 <= pin.gpio < min(_data.CHIP_GPIO_COUNT.values())
    assert len({pin.gpio for pin in gpio_pins}) == len(gpio_pins), "a GPIO appears twice"
    assert len({pin.name for pin in gpio_pins}) == len(gpio_pins)


def test_40_pin_header_extends_rev2():
    rev2 = boards.header_pins("26-rev2")
    assert boards.header_pins("40")[:26] == rev2
    rev1 = boards.header_pins("26-rev1")
    differences = {a.number for a, b in zip(rev1, rev2, strict=True) if a != b}
    assert differences == {3, 5, 13}


def test_unknown_header_name():
    with pytest.raises(ValueError, match="header"):
        boards.header_pins("J8")


# ------------------------------------------------------------------------------------------------
# Tables
# ------------------------------------------------------------------------------------------------


def test_board_type_table():
    models = [entry[0] for entry in _data.BOARD_TYPES.values()]
    shorts = [entry[1] for entry in _data.BOARD_TYPES.values()]
    assert len(set(models)) == len(models)
    assert len(set(shorts)) == len(shorts)
    for type_id, (model, _short, p1) in _data.BOARD_TYPES.items():
        assert 0 <= type_id <= 0xFF
        assert p1 in (0, 2, 3)
        assert (p1 == 0) == model.startswith("Compute Module"), model
    assert set(_data.RPIGPIO_TYPES) <= set(_data.BOARD_TYPES)
    for type_id, (model, p1) in {**RPIGPIO_TYPES, **NEWER_TYPES}.items():
        assert _data.BOARD_TYPES[type_id][0] == model
        assert _data.BOARD_TYPES[type_id][2] == p1


def test_old_style_table():
    makers = set(_data.MANUFACTURERS) | {"Qisda"}
    for code, (model, _short, pcb, ram_mb, maker, p1) in _data.OLD_STYLE.items():
        assert 0x02 <= code <= 0x1B
        assert re.fullmatch(r"\d\.\d", pcb)
        assert ram_mb in (256, 512, None)
        assert maker in makers
        assert (p1 == 0) == model.startswith("Compute Module")
        assert p1 in _data.P1_HEADERS
    assert set(_data.RPIGPIO_OLD_STYLE) <= set(_data.OLD_STYLE)
    assert set(_data.OLD_STYLE) == set(OFFICIAL_OLD_STYLE) | set(WIRINGPI_OLD_STYLE)


def test_chip_tables_agree():
    assert set(_data.SOC_CHIP) == set(_data.PROCESSORS)
    assert set(_data.SOC_CHIP.values()) == set(boards.CHIPS)
    assert set(_data.CHIP_GPIO_COUNT) == set(_data.CHIP_ALT_COUNT) == set(_alt.ALT_TABLES)
    assert _data.CHIP_GPIO_COUNT == {"bcm2835": 54, "bcm2711": 58, "rp1": 54}
    assert boards.chip_gpio_count("bcm2711") == 58
    assert boards.chip_for_soc("BCM2836") == "bcm2835"
    assert boards.chip_for_soc("BCM2712") == "rp1"
    assert boards.chip_for_soc("BCM2999") is None


@pytest.mark.parametrize("chip", ["bcm2835", "bcm2711", "rp1"])
def test_alt_tables_complete(chip):
    rows = _alt.ALT_TABLES[chip]
    assert len(rows) == _data.CHIP_GPIO_COUNT[chip]
    for gpio, row in enumerate(rows):
        names = row.split()
        assert len(names) == _data.CHIP_ALT_COUNT[chip], (chip, gpio, row)
        for name in names:
            assert name == _alt.RESERVED or re.fullmatch(r"[A-Z][A-Z0-9_]*", name), (gpio, name)
        assert boards.alt_function_names(chip, gpio) == tuple(
            None if name == _alt.RESERVED else name for name in names
        )


def test_bcm2835_alt_names_match_reference():
    for gpio, expected in BCM2835_REFERENCE.items():
        assert boards.alt_function_names("bcm2835", gpio) == expected, gpio
    assert boards.alt_function_name("bcm2835", 40, 0) == "PWM0"
    assert boards.alt_function_name("bcm2835", 41, 0) == "PWM1"
    assert boards.alt_function_name("bcm2835", 45, 0) == "PWM1"


def test_bcm2711_alt_names_match_reference():
    for gpio in range(28):
        names = boards.alt_function_names("bcm2711", gpio)
        reference = BCM2835_REFERENCE[gpio]
        if gpio not in (12, 13, 16, 17):  # renamed PWM, and FL0/FL1 gone on the BCM2711
            assert names[0] == reference[0], gpio
        assert names[2] == reference[2], gpio
        if gpio not in (26, 27):
            assert names[1] == reference[1], gpio
        else:
            assert names[1] is None, gpio
    assert boards.alt_function_names("bcm2711", 12)[0] == "PWM0_0"
    assert boards.alt_function_names("bcm2711", 13)[0] == "PWM0_1"
    for pair, (alt3, alt4, alt5) in BCM2711_REFERENCE_ALT345.items():
        for side, gpio in enumerate(pair):
            names = boards.alt_function_names("bcm2711", gpio)
            assert names[3:] == (alt3[side], alt4[side], alt5[side]), gpio
    assert boards.alt_function_name("bcm2711", 40, 0) == "PWM1_0"
    assert boards.alt_function_name("bcm2711", 41, 0) == "PWM1_1"
    assert boards.alt_function_names("bcm2711", 57) == (None,) * 6


def test_rp1_alt_names_match_reference():
    def rp1(gpio):
        return boards.alt_function_names("rp1", gpio)

    assert (rp1(0)[3], rp1(1)[3], rp1(2)[3], rp1(3)[3]) == ("SDA0", "SCL0", "SDA1", "SCL1")
    assert [rp1(g)[0] for g in (4, 5, 6)] == ["GPCLK0", "GPCLK1", "GPCLK2"]
    assert [rp1(g)[0] for g in range(7, 12)] == [
        "SPI0_CE1",
        "SPI0_CE0",
        "SPI0_MISO",
        "SPI0_MOSI",
        "SPI0_SCLK",
    ]
    assert [rp1(g)[0] for g in range(12, 16)] == [f"PWM0_CHAN{n}" for n in range(4)]
    assert (rp1(14)[4], rp1(15)[4]) == ("TXD0", "RXD0")
    assert (rp1(18)[3], rp1(19)[3]) == ("PWM0_CHAN2", "PWM0_CHAN3")
    for gpio in range(18, 22):
        assert rp1(gpio)[2].startswith("I2S0_") and rp1(gpio)[4].startswith("I2S1_"), gpio
    for gpio in range(16, 22):
        assert rp1(gpio)[0].startswith("SPI1_"), gpio
    for gpio in range(28):
        assert rp1(gpio)[1].startswith("DPI_"), gpio


def test_rp1_rio_and_pio_names_follow_the_banks():
    for gpio in range(54):
        bank, offset = (0, gpio) if gpio < 28 else (1, gpio - 28) if gpio < 34 else (2, gpio - 34)
        names = boards.alt_function_names("rp1", gpio)
        assert names[5] == f"SYS_RIO{bank}{offset}", gpio
        assert names[6] == f"PROC_RIO{bank}{offset}", gpio
        if bank == 0:
            assert names[7] == f"PIO{gpio}", gpio
        else:
            assert names[7] in (None, "DSI0_TE_EXT", "DSI1_TE_EXT"), gpio


def test_alt_function_name_validates_arguments():
    assert boards.alt_function_name("bcm2835", 2, 0) == "SDA1"
    assert boards.alt_function_name("bcm2835", 0, 5) is None
    assert boards.alt_function_name("bcm2711", 57, 0) is None
    assert boards.alt_function_name("rp1", 0, 8) == "SPI2_CE0"
    for chip, gpio, alt in [
        ("bcm2836", 0, 0),
        ("bcm2835", 54, 0),
        ("bcm2711", 58, 0),
        ("rp1", 54, 0),
        ("bcm2835", -1, 0),
        ("bcm2835", 0, 6),
        ("rp1", 0, 9),
        ("bcm2835", 0, -1),
        ("bcm2835", True, 0),
    ]:
        with pytest.raises(ValueError):
            boards.alt_function_name(chip, gpio, alt)


# ------------------------------------------------------------------------------------------------
# RPi.GPIO gpio_function() categories
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chip", ["bcm2835", "bcm2711"])
def test_rpigpio_function_code_bcm_is_rpigpio_rule(chip):
    for gpio in range(_data.CHIP_GPIO_COUNT[chip]):
        for alt in range(6):
            expected = RPIGPIO_CATEGORY_RULE.get((alt, gpio), -1)
            assert boards.rpigpio_function_code(gpio, alt, chip) == expected, (gpio, alt)


def test_rpigpio_function_code_examples_and_constants():
    assert (boards.SERIAL, boards.SPI, boards.I2C, boards.HARD_PWM, boards.UNKNOWN) == (
        40,
        41,
        42,
        43,
        -1,
    )
    assert boards.rpigpio_function_code(2, 0) == boards.I2C
    assert boards.rpigpio_function_code(14, 5) == boards.UNKNOWN  # UART1 is not reported
    assert boards.rpigpio_function_code(40, 0) == boards.UNKNOWN  # PWM0 on 40 is not reported
    assert boards.rpigpio_function("bcm2711", 18, 5) == "HARD_PWM"
    assert boards.rpigpio_function("bcm2835", 22, 4) is None


@pytest.mark.parametrize(
    ("gpio", "alt", "expected"),
    [
        (2, 3, 42),  # SDA1
        (3, 3, 42),  # SCL1
        (28, 1, 42),  # SDA4
        (8, 0, 41),  # SPI0_CE0
        (0, 8, 41),  # SPI2_CE0
        (12, 0, 43),  # PWM0_CHAN0
        (18, 3, 43),  # PWM0_CHAN2
        (14, 4, 40),  # TXD0
        (2, 2, 40),  # CTS1
        (18, 2, -1),  # I2S0_SCLK
        (0, 5, -1),  # SYS_RIO00: the driver reports it as IN/OUT
        (4, 4, -1),  # RI0, a modem line
        (5, 4, -1),  # DTR0
        (16, 1, -1),  # DPI_D12
        (0, 4, -1),  # reserved
        (25, 3, -1),  # MIC_CLK
    ],
)
def test_rpigpio_function_code_rp1_by_signal_name(gpio, alt, expected):
    assert boards.rpigpio_function_code(gpio, alt, "rp1") == expected


def test_rpigpio_function_rp1_sweep():
    for gpio in range(54):
        for alt in range(9):
            name = boards.alt_function_name("rp1", gpio, alt)
            category = boards.rpigpio_function("rp1", gpio, alt)
            if name is None:
                assert category is None
            elif re.fullmatch(r"(SDA|SCL)\d", name):
                assert category == "I2C", name
            elif name.startswith("SPI"):
                assert category == "SPI", name
            elif name.startswith("PWM"):
                assert category == "HARD_PWM", name
            elif re.fullmatch(r"(TXD|RXD|CTS|RTS)\d", name):
                assert category == "SERIAL", name
            else:
                assert category is None, name


# ------------------------------------------------------------------------------------------------
# Detection over a fake /proc
# ------------------------------------------------------------------------------------------------

CPUINFO_PI1 = """processor\t: 0
model name\t: ARMv6-compatible processor rev 7 (v6l)
BogoMIPS\t: 697.95
Hardware\t: BCM2708
Revision\t: {revision}
Serial\t\t: 00000000765fc593
"""

CPUINFO_ARM64 = """processor\t: 0
BogoMIPS\t: 108.00
CPU implementer\t: 0x41
CPU revision\t: 4
"""


def make_tree(tmp_path, *, dt_revision=None, cpuinfo=None, compatible=None, model=None):
    proc = tmp_path / "proc"
    (proc / "device-tree" / "system").mkdir(parents=True)
    if dt_revision is not None:
        data = dt_revision if isinstance(dt_revision, bytes) else struct.pack(">I", dt_revision)
        (proc / "device-tree" / "system" / "linux,revision").write_bytes(data)
    if cpuinfo is not None:
        (proc / "cpuinfo").write_text(cpuinfo)
    if compatible is not None:
        (proc / "device-tree" / "compatible").write_bytes(
            b"".join(entry.encode() + b"\0" for entry in compatible)
        )
    if model is not None:
        (proc / "device-tree" / "model").write_bytes(model.encode() + b"\0")
    return str(tmp_path)


def test_detect_prefers_device_tree(tmp_path):
    root = make_tree(tmp_path, dt_revision=0xC03111, cpuinfo=CPUINFO_PI1.format(revision="a02082"))
    assert boards.detect_revision(root) == 0xC03111
    assert boards.detect_revision_string(root) == "c03111"
    info = boards.detect_board(root)
    assert info.model == "Pi 4 Model B"
    assert info.chip == "bcm2711"


def test_detect_device_tree_word_is_unpadded_and_big_endian(tmp_path):
    root = make_tree(tmp_path, dt_revision=b"\x00\x00\x00\x02")
    assert boards.detect_revision(root) == 2
    assert boards.detect_revision_string(root) == "2"
    assert boards.rpi_info(boards.detect_revision_string(root))["REVISION"] == "2"


def test_detect_falls_back_to_cpuinfo(tmp_path):
    root = make_tree(tmp_path, cpuinfo=CPUINFO_PI1.format(revision="000e"))
    assert boards.detect_revision(root) == 0x000E
    assert boards.detect_revision_string(root) == "000e"
    info = boards.detect_board(root)
    assert (info.model, info.p1_revision, info.rpio_revision_hex) == ("Model B", 2, "000e")


def test_detect_short_device_tree_word_falls_back_to_cpuinfo(tmp_path):
    root = make_tree(tmp_path, dt_revision=b"\x00\x02", cpuinfo=CPUINFO_PI1.format(revision="0010"))
    assert boards.detect_revision(root) == 0x0010


@pytest.mark.parametrize(
    ("text", "raw", "code", "hex_rev"),
    [
        ("1000000e", 0x1000000E, 0x000E, "000e"),
        ("1000002", 0x1000002, 0x0002, "0002"),
        ("2a02082", 0x2A02082, 0xA02082, "2a02082"),  # new style: as read
    ],
)
def test_detect_keeps_raw_word_decodes_without_prefix(tmp_path, text, raw, code, hex_rev):
    root = make_tree(tmp_path, cpuinfo=CPUINFO_PI1.format(revision=text))
    assert boards.detect_revision(root) == raw
    info = boards.detect_board(root)
    assert info.raw == raw
    assert info.code == code
    assert info.revision_hex == text
    assert info.rpio_revision_hex == hex_rev
    assert info.known


def test_detect_nothing_found(tmp_path):
    root = make_tree(tmp_path)
    assert boards.detect_revision(root) is None
    assert boards.detect_revision_string(root) is None
    assert boards.detect_board(root) is None
    assert boards.sysinfo(root=root) == ("Unknown", "Unknown", "Unknown", 0, "Unknown")
    assert boards.detect_revision(str(tmp_path / "missing")) is None


def test_detect_ignores_cpu_revision_lines(tmp_path):
    root = make_tree(tmp_path, cpuinfo=CPUINFO_ARM64)
    assert boards.detect_revision(root) is None
    assert boards.detect_board(root) is None


def test_detect_board_other_arm_boards_are_not_pis(tmp_path):
    root = make_tree(tmp_path, cpuinfo="Hardware\t: sun50iw1p1\nRevision\t: 0000\nSerial\t: 1234\n")
    assert boards.detect_revision(root) == 0
    assert boards.detect_board(root) is None


def test_detect_board_unknown_pi_is_reported_without_chip(tmp_path):
    root = make_tree(tmp_path, cpuinfo=CPUINFO_PI1.format(revision="0001"))
    info = boards.detect_board(root)
    assert info is not None and info.known is False and info.chip is None
    # the device tree word only exists on Raspberry Pi firmware: an unknown code there is a Pi
    root2 = make_tree(tmp_path / "dt", dt_revision=new_style(0x1C, processor=5))
    info2 = boards.detect_board(root2)
    assert info2 is not None and info2.chip is None and info2.processor == "Unknown"


def test_detect_non_hex_cpuinfo_revision_is_ignored(tmp_path):
    root = make_tree(tmp_path, cpuinfo="Hardware\t: BCM2835\nRevision\t: n/a\n")
    assert boards.detect_revision(root) is None


def test_sysinfo_reads_this_machine(tmp_path):
    root = make_tree(tmp_path, dt_revision=0xA02082)
    assert boards.sysinfo(root=root) == ("a02082", "3B", "1.2", 1024, "Sony UK")


def test_device_tree_names(tmp_path):
    root = make_tree(
        tmp_path,
        compatible=["raspberrypi,5-model-b", "brcm,bcm2712"],
        model="Raspberry Pi 5 Model B Rev 1.0",
    )
    assert boards.read_dt_compatible(root) == ("raspberrypi,5-model-b", "brcm,bcm2712")
    assert boards.read_dt_model(root) == "Raspberry Pi 5 Model B Rev 1.0"
    assert boards.soc_from_compatible(boards.read_dt_compatible(root)) == "BCM2712"
    empty = make_tree(tmp_path / "empty")
    assert boards.read_dt_compatible(empty) == ()
    assert boards.read_dt_model(empty) is None
    assert boards.soc_from_compatible(("raspberrypi,4-model-b", "brcm,bcm2711")) == "BCM2711"
    assert boards.soc_from_compatible(("acme,board",)) is None


# ------------------------------------------------------------------------------------------------
# SoC peripheral base from /proc/device-tree/soc/ranges
# ------------------------------------------------------------------------------------------------


def words(*values):
    return struct.pack(f">{len(values)}I", *values)


RANGES_PI1 = words(0x7E000000, 0x20000000, 0x01000000, 0x80000000, 0x80000000, 0x00010000)
RANGES_PI2 = words(0x7E000000, 0x3F000000, 0x01000000, 0x40000000, 0x40000000, 0x00001000)
RANGES_PI4 = words(
    0x7E000000, 0x00000000, 0xFE000000, 0x01800000,
    0x7C000000, 0x00000000, 0xFC000000, 0x02000000,
    0x40000000, 0x00000000, 0xFF800000, 0x00800000,
)  # fmt: skip
RANGES_PI5 = words(0x7C000000, 0x00000010, 0x7C000000, 0x04000000)


def ranges_tree(tmp_path, ranges, *, cells=None, compatible=None, dt_revision=None):
    root = make_tree(tmp_path, compatible=compatible, dt_revision=dt_revision)
    soc = tmp_path / "proc" / "device-tree" / "soc"
    soc.mkdir()
    (soc / "ranges").write_bytes(ranges)
    if cells is not None:
        parent, child, size = cells
        (tmp_path / "proc" / "device-tree" / "#address-cells").write_bytes(words(parent))
        (soc / "#address-cells").write_bytes(words(child))
        (soc / "#size-cells").write_bytes(words(size))
    return root


@pytest.mark.parametrize(
    ("ranges", "cells", "expected"),
    [
        (RANGES_PI1, None, (0x20000000, 0x01000000)),
        (RANGES_PI1, (1, 1, 1), (0x20000000, 0x01000000)),
        (RANGES_PI2, None, (0x3F000000, 0x01000000)),
        (RANGES_PI2, (1, 1, 1), (0x3F000000, 0x01000000)),
        (RANGES_PI4, None, (0xFE000000, 0x01800000)),
        (RANGES_PI4, (2, 1, 1), (0xFE000000, 0x01800000)),
        (RANGES_PI5, (2, 1, 1), (0x10_7C000000, 0x04000000)),
        (RANGES_PI5, None, (0x10_7C000000, 0x04000000)),
    ],
)
def test_soc_ranges_base(tmp_path, ranges, cells, expected):
    assert boards.soc_ranges_base(ranges_tree(tmp_path, ranges, cells=cells)) == expected


def test_soc_ranges_base_pi5_detected_first(tmp_path):
    by_compatible = ranges_tree(
        tmp_path / "a", RANGES_PI5, compatible=["raspberrypi,5-model-b", "brcm,bcm2712"]
    )
    assert boards.soc_ranges_base(by_compatible) == (0x10_7C000000, 0x04000000)
    by_revision = ranges_tree(tmp_path / "b", RANGES_PI5, dt_revision=0xD04170)
    assert boards.soc_ranges_base(by_revision) == (0x10_7C000000, 0x04000000)


def test_soc_ranges_base_missing_or_short(tmp_path):
    assert boards.soc_ranges_base(make_tree(tmp_path)) is None
    assert (
        boards.soc_ranges_base(ranges_tree(tmp_path / "s", words(0x7E000000, 0x20000000))) is None
    )
    short_pi5 = ranges_tree(tmp_path / "p5", words(0x7C000000, 0x10, 0x7C000000))
    assert boards.soc_ranges_base(short_pi5) is None
