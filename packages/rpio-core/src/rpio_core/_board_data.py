"""Raspberry Pi board facts as plain data: revision codes, headers, chips.

Nothing here computes anything; ``rpio_core.boards`` decodes these tables with small functions and
``tests/core/test_boards.py`` validates them (unique names, row lengths, ranges, and the values of
the reference tables). The alternate-function names live in ``_board_data_alt``.

Sources: the Raspberry Pi revision-code documentation (old-style table, new-style bit fields),
RPi.GPIO 0.7.1 (which subset of these it knows, and its strings), WiringPi (old-style extras
0016-001b), gpiozero's header data (power/ground pins). See ../../../../docs/design.md.
"""

# --------------------------------------------------------------------------------------------
# Revision codes
# --------------------------------------------------------------------------------------------

#: a revision code is a 32-bit word
CODE_BITS = 32

#: the bits that identify a board; the bits above are flags (warranty, OTP, overvoltage), and on
#: old-style codes the over-volt marker (cpuinfo shows it as a "1000" prefix)
CODE_MASK = 0x00FFFFFF

#: bit 23 set: a new-style (bit-field) code
NEW_STYLE_BIT = 23

#: new-style fields, name -> (lowest bit, width in bits)
NEW_STYLE_FIELDS = {
    "revision": (0, 4),
    "type": (4, 8),
    "processor": (12, 4),
    "manufacturer": (16, 4),
    "memory": (20, 3),
}

#: new-style flag bits above the code, name -> bit
NEW_STYLE_FLAG_BITS = {
    "warranty_void": 25,
    "otp_read_disallowed": 29,
    "otp_program_disallowed": 30,
    "overvoltage_disallowed": 31,
}

#: processor field -> SoC
PROCESSORS = ("BCM2835", "BCM2836", "BCM2837", "BCM2711", "BCM2712")

#: manufacturer field -> maker
MANUFACTURERS = ("Sony UK", "Egoman", "Embest", "Sony Japan", "Embest", "Stadium")

#: memory field -> MB (field 7 means "other": read from firmware, unknown here)
MEMORY_MB = (256, 512, 1024, 2048, 4096, 8192, 16384)

#: new-style type -> (model, short model as in the revision-code table, P1 revision)
#: P1 revision as RPi.GPIO counts it: 0 compute module (no header), 1/2 the 26-pin header of
#: rev 1/rev 2 boards, 3 the 40-pin header. 0x0f and 0x16 are "internal use only" and left out.
BOARD_TYPES = {
    0x00: ("Model A", "A", 2),
    0x01: ("Model B", "B", 2),
    0x02: ("Model A+", "A+", 3),
    0x03: ("Model B+", "B+", 3),
    0x04: ("Pi 2 Model B", "2B", 3),
    0x05: ("Alpha", "Alpha", 3),
    0x06: ("Compute Module 1", "CM1", 0),
    0x08: ("Pi 3 Model B", "3B", 3),
    0x09: ("Zero", "Zero", 3),
    0x0A: ("Compute Module 3", "CM3", 0),
    0x0C: ("Zero W", "Zero W", 3),
    0x0D: ("Pi 3 Model B+", "3B+", 3),
    0x0E: ("Pi 3 Model A+", "3A+", 3),
    0x10: ("Compute Module 3+", "CM3+", 0),
    0x11: ("Pi 4 Model B", "4B", 3),
    0x12: ("Zero 2 W", "Zero 2 W", 3),
    0x13: ("Pi 400", "400", 3),
    0x14: ("Compute Module 4", "CM4", 0),
    0x15: ("Compute Module 4S", "CM4S", 0),
    0x17: ("Pi 5 Model B", "5", 3),
    0x18: ("Compute Module 5", "CM5", 0),
    0x19: ("Pi 500", "500", 3),
    0x1A: ("Compute Module 5 Lite", "CM5 Lite", 0),
    0x1B: ("Compute Module 0", "CM0", 0),
}

#: old-style code -> (model, short model, PCB revision, RAM MB or None, manufacturer, P1 revision)
#: 0002-0015 are the official table (000f: RPi.GPIO and the early tables say Qisda, the current
#: official table says Egoman; we keep RPi.GPIO's, which RPI_INFO must reproduce). 0015 shipped
#: with 256 MB or 512 MB, so its RAM is unknown. 0016-001b are WiringPi's extras.
OLD_STYLE = {
    0x0002: ("Model B", "B", "1.0", 256, "Egoman", 1),
    0x0003: ("Model B", "B", "1.0", 256, "Egoman", 1),
    0x0004: ("Model B", "B", "2.0", 256, "Sony UK", 2),
    0x0005: ("Model B", "B", "2.0", 256, "Qisda", 2),
    0x0006: ("Model B", "B", "2.0", 256, "Egoman", 2),
    0x0007: ("Model A", "A", "2.0", 256, "Egoman", 2),
    0x0008: ("Model A", "A", "2.0", 256, "Sony UK", 2),
    0x0009: ("Model A", "A", "2.0", 256, "Qisda", 2),
    0x000D: ("Model B", "B", "2.0", 512, "Egoman", 2),
    0x000E: ("Model B", "B", "2.0", 512, "Sony UK", 2),
    0x000F: ("Model B", "B", "2.0", 512, "Qisda", 2),
    0x0010: ("Model B+", "B+", "1.2", 512, "Sony UK", 3),
    0x0011: ("Compute Module 1", "CM1", "1.0", 512, "Sony UK", 0),
    0x0012: ("Model A+", "A+", "1.1", 256, "Sony UK", 3),
    0x0013: ("Model B+", "B+", "1.2", 512, "Embest", 3),
    0x0014: ("Compute Module 1", "CM1", "1.0", 512, "Embest", 0),
    0x0015: ("Model A+", "A+", "1.1", None, "Embest", 3),
    0x0016: ("Model B+", "B+", "1.2", 512, "Sony UK", 3),
    0x0017: ("Compute Module 1", "CM1", "1.0", 512, "Sony UK", 0),
    0x0018: ("Model A+", "A+", "1.1", 256, "Sony UK", 3),
    0x0019: ("Model B+", "B+", "1.2", 512, "Egoman", 3),
    0x001A: ("Compute Module 1", "CM1", "1.0", 512, "Egoman", 0),
    0x001B: ("Model A+", "A+", "1.1", 256, "Egoman", 3),
}

#: every old-style board is a BCM2835
OLD_STYLE_PROCESSOR = "BCM2835"

#: P1 revision -> header name (a compute module has no header)
P1_HEADERS = {0: None, 1: "26-rev1", 2: "26-rev2", 3: "40"}

#: what RPi.GPIO 0.7.1 assumes for a board it does not recognise
RPIGPIO_DEFAULT_P1 = 3

# --------------------------------------------------------------------------------------------
# What RPi.GPIO 0.7.1 knows (its RPI_INFO says "Unknown" for everything else)
# --------------------------------------------------------------------------------------------

#: new-style types RPi.GPIO names (the others give TYPE "Unknown", P1_REVISION 3)
RPIGPIO_TYPES = frozenset(
    {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0A, 0x0C, 0x0D, 0x0E, 0x10, 0x11}
    | {0x12, 0x13, 0x14}
)
#: processor fields RPi.GPIO names (BCM2835..BCM2711)
RPIGPIO_PROCESSORS = frozenset((0, 1, 2, 3))
#: manufacturer fields RPi.GPIO names (all six)
RPIGPIO_MANUFACTURERS = frozenset((0, 1, 2, 3, 4, 5))
#: memory fields RPi.GPIO names (256M..8G)
RPIGPIO_MEMORY = frozenset((0, 1, 2, 3, 4, 5))
#: old-style codes RPi.GPIO names
RPIGPIO_OLD_STYLE = frozenset(range(0x02, 0x16)) - {0x0A, 0x0B, 0x0C}
#: the mask RPi.GPIO applies to old-style codes to drop the over-volt prefix; it clears bit 28,
#: which is right for "10000002" but not for the "1000002" form (bit 24): those decode as Unknown
RPIGPIO_OLD_STYLE_MASK = 0xEFFFFFFF
#: RPi.GPIO's word for anything it does not know
UNKNOWN = "Unknown"

# --------------------------------------------------------------------------------------------
# Register families (what the driver needs), SoCs and device-tree names
# --------------------------------------------------------------------------------------------

#: SoC -> register family. BCM2836/2837 kept the BCM2835 GPIO block; every BCM2712 board drives
#: its header through the RP1 south bridge.
SOC_CHIP = {
    "BCM2835": "bcm2835",
    "BCM2836": "bcm2835",
    "BCM2837": "bcm2835",
    "BCM2711": "bcm2711",
    "BCM2712": "rp1",
}

#: register family -> number of GPIOs
CHIP_GPIO_COUNT = {"bcm2835": 54, "bcm2711": 58, "rp1": 54}

#: register family -> number of alternate functions (BCM ALT0-5, RP1 FUNCSEL a0-a8)
CHIP_ALT_COUNT = {"bcm2835": 6, "bcm2711": 6, "rp1": 9}

#: device-tree "compatible" SoC entries -> SoC
DT_COMPATIBLE_SOCS = {
    "brcm,bcm2835": "BCM2835",
    "brcm,bcm2836": "BCM2836",
    "brcm,bcm2837": "BCM2837",
    "brcm,bcm2711": "BCM2711",
    "brcm,bcm2712": "BCM2712",
}

# --------------------------------------------------------------------------------------------
# RPi.GPIO gpio_function() categories
# --------------------------------------------------------------------------------------------

#: RPi.GPIO's values for gpio_function() results other than IN (1) and OUT (0)
RPIGPIO_FUNCTION_CODES = {"SERIAL": 40, "SPI": 41, "I2C": 42, "HARD_PWM": 43}
RPIGPIO_UNKNOWN_CODE = -1

#: BCM2835..BCM2711: RPi.GPIO's rule, (ALT number, gpios, category). Anything else is UNKNOWN.
RPIGPIO_BCM_CATEGORIES = (
    (0, (0, 1, 2, 3, 28, 29), "I2C"),
    (0, (7, 8, 9, 10, 11), "SPI"),
    (0, (12, 13), "HARD_PWM"),
    (0, (14, 15), "SERIAL"),
    (5, (18, 19), "HARD_PWM"),
    (4, (16, 17, 18, 19, 20, 21), "SPI"),
)

#: RP1 (RPi.GPIO never ran there): the category follows the signal name, first match wins
#: (regular expressions matched against the whole name). UART modem lines (DTR, DSR, DCD, RI)
#: are not SERIAL, as RPi.GPIO only ever reported TXD/RXD as SERIAL.
RP1_CATEGORY_PATTERNS = (
    (r"(SDA|SCL)\d+", "I2C"),
    (r"SPI\d+_\w+", "SPI"),
    (r"PWM\d+_CHAN\d+", "HARD_PWM"),
    (r"(TXD|RXD|CTS|RTS)\d+", "SERIAL"),
)

# --------------------------------------------------------------------------------------------
# Headers: rows of (odd pin, even pin), pin 1 first, as the pins sit on the board
# --------------------------------------------------------------------------------------------
# Pin names: "GPIOn" a GPIO; "3V3"/"5V" power; "GND" ground; "ID_SD"/"ID_SC" the HAT ID EEPROM
# bus (GPIO 0/1 on the 40-pin header, which RPi.GPIO refuses as BOARD channels).

HEADER_40 = (
    ("3V3", "5V"),  # 1, 2
    ("GPIO2", "5V"),  # 3, 4
    ("GPIO3", "GND"),  # 5, 6
    ("GPIO4", "GPIO14"),  # 7, 8
    ("GND", "GPIO15"),  # 9, 10
    ("GPIO17", "GPIO18"),  # 11, 12
    ("GPIO27", "GND"),  # 13, 14
    ("GPIO22", "GPIO23"),  # 15, 16
    ("3V3", "GPIO24"),  # 17, 18
    ("GPIO10", "GND"),  # 19, 20
    ("GPIO9", "GPIO25"),  # 21, 22
    ("GPIO11", "GPIO8"),  # 23, 24
    ("GND", "GPIO7"),  # 25, 26
    ("ID_SD", "ID_SC"),  # 27, 28
    ("GPIO5", "GND"),  # 29, 30
    ("GPIO6", "GPIO12"),  # 31, 32
    ("GPIO13", "GND"),  # 33, 34
    ("GPIO19", "GPIO16"),  # 35, 36
    ("GPIO26", "GPIO20"),  # 37, 38
    ("GND", "GPIO21"),  # 39, 40
)

#: the 26-pin P1 header of rev 2 boards (Model B 2.0, Model A); written out rather than sliced
#: from HEADER_40 so the test that compares the two can catch a mistake in either
HEADER_26_REV2 = (
    ("3V3", "5V"),  # 1, 2
    ("GPIO2", "5V"),  # 3, 4
    ("GPIO3", "GND"),  # 5, 6
    ("GPIO4", "GPIO14"),  # 7, 8
    ("GND", "GPIO15"),  # 9, 10
    ("GPIO17", "GPIO18"),  # 11, 12
    ("GPIO27", "GND"),  # 13, 14
    ("GPIO22", "GPIO23"),  # 15, 16
    ("3V3", "GPIO24"),  # 17, 18
    ("GPIO10", "GND"),  # 19, 20
    ("GPIO9", "GPIO25"),  # 21, 22
    ("GPIO11", "GPIO8"),  # 23, 24
    ("GND", "GPIO7"),  # 25, 26
)

#: the 26-pin P1 header of rev 1 boards (Model B 1.0: 0002, 0003); pins 4, 9, 14, 17, 20 and 25
#: were marked "do not connect" on the earliest schematics but carry 5V/GND/3V3 like rev 2.
HEADER_26_REV1 = (
    ("3V3", "5V"),  # 1, 2
    ("GPIO0", "5V"),  # 3, 4
    ("GPIO1", "GND"),  # 5, 6
    ("GPIO4", "GPIO14"),  # 7, 8
    ("GND", "GPIO15"),  # 9, 10
    ("GPIO17", "GPIO18"),  # 11, 12
    ("GPIO21", "GND"),  # 13, 14
    ("GPIO22", "GPIO23"),  # 15, 16
    ("3V3", "GPIO24"),  # 17, 18
    ("GPIO10", "GND"),  # 19, 20
    ("GPIO9", "GPIO25"),  # 21, 22
    ("GPIO11", "GPIO8"),  # 23, 24
    ("GND", "GPIO7"),  # 25, 26
)

#: the 8-pin P5 pads of rev 2 boards (RPIO 0.10 accepted them as BOARD channels in BCM terms)
HEADER_P5 = (
    ("5V", "3V3"),  # 1, 2
    ("GPIO28", "GPIO29"),  # 3, 4
    ("GPIO30", "GPIO31"),  # 5, 6
    ("GND", "GND"),  # 7, 8
)

#: header name -> rows
HEADERS = {"40": HEADER_40, "26-rev2": HEADER_26_REV2, "26-rev1": HEADER_26_REV1, "P5": HEADER_P5}

#: non-GPIO pin names -> kind
PIN_KINDS = {"3V3": "power", "5V": "power", "GND": "ground", "ID_SD": "id", "ID_SC": "id"}

#: the ID EEPROM pins are GPIOs RPi.GPIO keeps out of its BOARD map
ID_PIN_GPIOS = {"ID_SD": 0, "ID_SC": 1}

# --------------------------------------------------------------------------------------------
# Board names for the simulated board (RPIO_SIM_BOARD): alias -> a revision code in use
# --------------------------------------------------------------------------------------------
# Keys are compared after lower-casing and dropping blanks, "-", "_" and ".".

BOARD_ALIASES = {
    "pi1": 0x000E,
    "pi1rev1": 0x0002,
    "pi1rev2": 0x000E,
    "pi1a": 0x0008,
    "pi1b": 0x000E,
    "pi1a+": 0x0012,
    "pi1b+": 0x0010,
    "cm1": 0x0011,
    "zero": 0x900093,
    "zerow": 0x9000C1,
    "pi2": 0xA01041,
    "pi3": 0xA02082,
    "pi3b+": 0xA020D3,
    "pi3a+": 0x9020E0,
    "cm3": 0xA020A0,
    "cm3+": 0xA02100,
    "zero2w": 0x902120,
    "pi4": 0xC03111,
    "pi400": 0xC03130,
    "cm4": 0xB03140,
    "pi5": 0xD04170,
    "cm5": 0xD04180,
    "pi500": 0xD04190,
    "cm5lite": 0xB041A0,
}
