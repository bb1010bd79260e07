"""The C++ drivers through their Python face, each over its simulated chip."""

from __future__ import annotations

import pytest
import rpio_core as rc

NUM_GPIOS = {"bcm2835": 54, "bcm2836": 54, "bcm2837": 54, "bcm2711": 58, "rp1": 54}

BCM_FUNCTIONS = [rc.INPUT, rc.OUTPUT, rc.ALT0, rc.ALT1, rc.ALT2, rc.ALT3, rc.ALT4, rc.ALT5]
RP1_FUNCTIONS = [f for f in range(12) if f != rc.ALT5]
# FSEL codes from the datasheet: 000 in, 001 out, 100 ALT0, 101 ALT1, 110 ALT2, 111 ALT3,
# 011 ALT4, 010 ALT5.
FSEL_CODE = {rc.INPUT: 0, rc.OUTPUT: 1, rc.ALT0: 4, rc.ALT1: 5, rc.ALT2: 6, rc.ALT3: 7,
             rc.ALT4: 3, rc.ALT5: 2}


def functions_of(kind: str) -> list[int]:
    return RP1_FUNCTIONS if kind == "rp1" else BCM_FUNCTIONS


def test_driver_class_and_size(kind, driver):
    expected = {"rp1": rc.Rp1Driver, "bcm2711": rc.Bcm2711Driver}.get(kind, rc.Bcm2835Driver)
    assert type(driver) is expected
    assert driver.num_gpios() == NUM_GPIOS[kind]
    assert driver.bus.kind == kind


def test_function_round_trip_every_code(kind, chip, driver):
    for gpio in (0, 9, 27, 28, 33, 34, driver.num_gpios() - 1):
        for function in functions_of(kind):
            driver.set_function(gpio, function)
            assert driver.get_function(gpio) == function
            assert chip.pin_state(gpio).function == function


@pytest.mark.parametrize("kind", ["bcm2835", "bcm2711"])
def test_fsel_bits_in_the_register(chip, driver):
    for function, code in FSEL_CODE.items():
        driver.set_function(23, function)
        assert (chip.read32(0x08) >> 9) & 7 == code
    driver.set_function(22, rc.ALT4)
    driver.set_function(24, rc.OUTPUT)
    assert (chip.read32(0x08) >> 6) & 7 == 3
    assert (chip.read32(0x08) >> 12) & 7 == 1


@pytest.mark.parametrize("kind", ["bcm2835", "bcm2711"])
def test_fsel_reads_decode_every_code(chip, driver):
    for function, code in FSEL_CODE.items():
        chip.write32(0x04, code << 21)  # GPFSEL1, gpio 17
        assert driver.get_function(17) == function


def test_invalid_function_rejected_state_unchanged(kind, driver):
    driver.set_function(5, rc.OUTPUT)
    invalid = [-1, 12, 100] + ([rc.ALT5] if kind == "rp1" else [rc.ALT6, rc.ALT7, rc.ALT8, rc.NONE])
    for function in invalid:
        with pytest.raises(ValueError):
            driver.set_function(5, function)
    assert driver.get_function(5) == rc.OUTPUT


def test_gpio_range_checked(kind, driver):
    n = driver.num_gpios()
    for call in (lambda g: driver.read(g), lambda g: driver.write(g, 1),
                 lambda g: driver.set_function(g, rc.INPUT), lambda g: driver.get_function(g),
                 lambda g: driver.set_pull(g, rc.PULL_UP), lambda g: driver.get_pull(g),
                 lambda g: driver.latch(g)):
        with pytest.raises(IndexError, match=f"gpio {n} out of range for"):
            call(n)
        with pytest.raises(IndexError, match="gpio -1 out of range"):
            call(-1)
    with pytest.raises(TypeError):
        driver.read("4")
    with pytest.raises(ValueError, match="level must be 0 or 1"):
        driver.write(4, 2)
    with pytest.raises(ValueError, match="invalid pull"):
        driver.set_pull(4, rc.PULL_UNKNOWN)


def test_write_read_latch(kind, chip, driver):
    for gpio in (2, 17, 31, 32, 45, driver.num_gpios() - 1):
        driver.set_function(gpio, rc.OUTPUT)
        driver.write(gpio, 1)
        assert driver.read(gpio) == 1
        assert chip.level(gpio) == 1
        assert driver.latch(gpio) == 1
        driver.write(gpio, 0)
        assert driver.read(gpio) == 0
        assert chip.level(gpio) == 0
        assert driver.latch(gpio) == 0


@pytest.mark.parametrize("kind", ["bcm2835", "bcm2711"])
def test_bcm_write_is_one_store_to_set_or_clear(chip, driver):
    driver.set_function(40, rc.OUTPUT)
    driver.write(40, 1)
    assert chip.read32(0x38) >> 8 & 1 == 1  # GPLEV1
    assert chip.read32(0x20) == 0  # GPSET1 is write-only
    chip.write32(0x2C, 1 << 8)  # GPCLR1
    assert driver.read(40) == 0
    chip.write32(0x20, 1 << 8)  # GPSET1
    assert driver.read(40) == 1
    driver.set_function(40, rc.INPUT)
    assert driver.latch(40) == -1  # BCM chips show no latch for an input


def test_input_shows_drive_pull_or_floats(kind, chip, driver):
    gpio = 30
    driver.set_function(gpio, rc.INPUT)
    driver.set_pull(gpio, rc.PULL_OFF)
    state = chip.pin_state(gpio)
    assert (state.level, state.floating, state.drive) == (0, True, None)
    assert driver.read(gpio) == 0
    driver.set_pull(gpio, rc.PULL_UP)
    assert driver.read(gpio) == 1 and not chip.pin_state(gpio).floating
    chip.drive(gpio, 0)
    assert driver.read(gpio) == 0 and chip.pin_state(gpio).drive == 0
    chip.drive(gpio, None)
    assert driver.read(gpio) == 1
    driver.set_pull(gpio, rc.PULL_DOWN)
    assert driver.read(gpio) == 0 and not chip.pin_state(gpio).floating
    chip.drive(gpio, True)
    assert driver.read(gpio) == 1
    chip.drive(gpio, "release")
    assert driver.read(gpio) == 0


def test_output_wins_over_external_drive(kind, chip, driver):
    chip.drive(20, 0)
    driver.set_function(20, rc.OUTPUT)
    driver.write(20, 1)
    assert chip.level(20) == 1
    driver.set_function(20, rc.INPUT)
    assert chip.level(20) == 0


@pytest.mark.parametrize("kind", ["bcm2835", "bcm2836", "bcm2837", "bcm2711"])
def test_bcm_reset_pulls(chip, driver, kind):
    for gpio in range(9):
        assert chip.pin_state(gpio).pull == rc.PULL_UP and chip.level(gpio) == 1
    for gpio in range(9, 28):
        assert chip.pin_state(gpio).pull == rc.PULL_DOWN and chip.level(gpio) == 0
    for gpio in range(28, driver.num_gpios()):
        assert chip.pin_state(gpio).pull == rc.PULL_OFF and chip.pin_state(gpio).floating
        assert chip.pin_state(gpio).function == rc.INPUT


@pytest.mark.parametrize("kind", ["bcm2835", "bcm2836", "bcm2837"])
def test_bcm2835_pull_sequence(chip, driver):
    driver.set_pull(40, rc.PULL_UP)
    assert chip.pin_state(40).pull == rc.PULL_UP
    assert driver.get_pull(40) == rc.PULL_UNKNOWN
    assert chip.read32(0x94) == 0 and chip.read32(0x9C) == 0  # GPPUD, GPPUDCLK1 released
    driver.set_pull(40, rc.PULL_DOWN)
    assert chip.pin_state(40).pull == rc.PULL_DOWN and chip.level(40) == 0
    driver.set_pull(40, rc.PULL_OFF)
    assert chip.pin_state(40).floating


@pytest.mark.parametrize("kind", ["bcm2835"])
def test_gppud_needs_the_clock(chip):
    chip.write32(0x94, 2)  # GPPUD = up
    assert chip.pin_state(12).pull == rc.PULL_DOWN
    assert chip.read32(0x94) == 2
    chip.write32(0x98, (1 << 12) | (1 << 13))  # GPPUDCLK0
    assert chip.pin_state(12).pull == rc.PULL_UP
    assert chip.pin_state(13).pull == rc.PULL_UP
    assert chip.pin_state(14).pull == rc.PULL_DOWN
    chip.write32(0x94, 1)
    chip.write32(0x98, 0)  # the clock going back to 0 latches nothing
    assert chip.pin_state(12).pull == rc.PULL_UP
    chip.write32(0x94, 3)  # reserved code: clocking it in changes nothing
    chip.write32(0x98, 1 << 12)
    assert chip.pin_state(12).pull == rc.PULL_UP


@pytest.mark.parametrize("kind", ["bcm2711"])
def test_bcm2711_pull_encoding_is_reverse_of_gppud(chip, driver):
    reg = 0xE4 + 4 * (19 // 16)
    shift = (19 % 16) * 2
    driver.set_pull(19, rc.PULL_UP)
    assert (chip.read32(reg) >> shift) & 3 == 0b01
    assert driver.get_pull(19) == rc.PULL_UP and chip.level(19) == 1
    driver.set_pull(19, rc.PULL_DOWN)
    assert (chip.read32(reg) >> shift) & 3 == 0b10
    assert driver.get_pull(19) == rc.PULL_DOWN and chip.level(19) == 0
    driver.set_pull(19, rc.PULL_OFF)
    assert (chip.read32(reg) >> shift) & 3 == 0
    assert driver.get_pull(19) == rc.PULL_OFF and chip.pin_state(19).floating
    # Writing the register directly is what the chip sees too.
    chip.write32(0xF0, 0b01 << ((57 % 16) * 2))
    assert driver.get_pull(57) == rc.PULL_UP and chip.level(57) == 1
    # GPPUD does not exist on the 2711: the word reads "gpio" and the clock does nothing.
    assert chip.read32(0x94) == 0x6770696F
    chip.write32(0x94, 2)
    chip.write32(0x98, 1 << 19)
    assert chip.pin_state(19).pull == rc.PULL_OFF


@pytest.mark.parametrize("kind", ["bcm2835", "bcm2836", "bcm2837", "bcm2711"])
def test_probe_word_60(kind, chip):
    value = chip.read32(0xF0)
    assert (value == 0x6770696F) == (kind != "bcm2711")
    assert chip.read32(0xFC) == 0x6770696F  # unimplemented on both


# ---- RP1 register level

def rp1_regs(gpio: int) -> tuple[int, int, int, int]:
    """(STATUS offset, SYS_RIO base, PADS offset, bit mask) of a pin."""
    bank, n = (0, gpio) if gpio < 28 else (1, gpio - 28) if gpio < 34 else (2, gpio - 34)
    return 0x4000 * bank + 8 * n, 0x10000 + 0x4000 * bank, 0x20000 + 0x4000 * bank + 4 + 4 * n, 1 << n


@pytest.mark.parametrize("kind", ["rp1"])
@pytest.mark.parametrize("gpio", [0, 17, 27, 28, 33, 34, 53])
def test_rp1_set_function_registers(chip, driver, gpio):
    status, rio, pad, mask = rp1_regs(gpio)
    ctrl = status + 4
    assert chip.read32(ctrl) & 0x1F == 0x1F and driver.get_function(gpio) == rc.NONE
    driver.set_function(gpio, rc.OUTPUT)
    assert chip.read32(ctrl) & 0x1F == 5
    assert chip.read32(rio + 4) & mask  # OE
    assert chip.read32(pad) & 0xC0 == 0x40  # IE=1, OD=0
    driver.set_function(gpio, rc.INPUT)
    assert chip.read32(ctrl) & 0x1F == 5 and not chip.read32(rio + 4) & mask
    for alt in (rc.ALT0, rc.ALT4, rc.ALT6, rc.ALT8):
        driver.set_function(gpio, alt)
        assert chip.read32(ctrl) & 0x1F == alt - rc.ALT0
        assert chip.read32(pad) & 0xC0 == 0x40
    driver.set_function(gpio, rc.NONE)
    assert chip.read32(ctrl) & 0x1F == 0x1F
    assert chip.read32(pad) & 0xC0 == 0x80  # IE=0, OD=1
    chip.write32(ctrl, 9)  # the kernel's software "none"
    assert driver.get_function(gpio) == rc.NONE


@pytest.mark.parametrize("kind", ["rp1"])
def test_rp1_write_uses_the_set_and_clear_aliases(chip, driver):
    _, rio, _, mask = rp1_regs(40)
    driver.set_function(40, rc.OUTPUT)
    driver.set_function(41, rc.OUTPUT)
    driver.write(41, 1)
    driver.write(40, 1)
    assert chip.read32(rio) == mask | (mask << 1)  # OUT: both bits, the neighbour untouched
    driver.write(40, 0)
    assert chip.read32(rio) == mask << 1
    chip.write32(rio + 0x2000, mask)  # SET alias
    assert driver.latch(40) == 1 and chip.level(40) == 1
    chip.write32(rio + 0x1000, mask)  # XOR alias
    assert driver.latch(40) == 0
    chip.write32(rio + 0x1000, mask)
    assert driver.latch(40) == 1
    chip.write32(rio + 0x3000, mask)  # CLR alias
    assert driver.latch(40) == 0 and driver.latch(41) == 1
    assert chip.read32(rio + 8) == mask << 1  # SYNC_IN: gpio 41 high


@pytest.mark.parametrize("kind", ["rp1"])
def test_rp1_aliases_on_ctrl_and_pads(chip):
    status, _, pad, _ = rp1_regs(12)
    ctrl = status + 4
    chip.write32(ctrl + 0x3000, 0x1F)  # CLR -> FUNCSEL 0 = ALT0
    assert chip.read32(ctrl) == 0 and chip.pin_state(12).function == rc.ALT0
    chip.write32(ctrl + 0x2000, 5)  # SET -> SYS_RIO, OE 0: INPUT
    assert chip.pin_state(12).function == rc.INPUT
    chip.write32(ctrl + 0x1000, 5 ^ 2)  # XOR -> 2 = ALT2
    assert chip.read32(ctrl) == 2 and chip.pin_state(12).function == rc.ALT2
    assert chip.read32(ctrl + 0x2000) == 2  # an alias address reads the register
    before = chip.read32(pad)
    chip.write32(pad + 0x1000, 0b1100)  # XOR PUE|PDE: pull-down -> pull-up
    assert chip.read32(pad) == before ^ 0b1100
    assert chip.pin_state(12).pull == rc.PULL_UP
    chip.write32(pad + 0x3000, 0b1000)
    assert chip.pin_state(12).pull == rc.PULL_OFF


@pytest.mark.parametrize("kind", ["rp1"])
def test_rp1_pads_and_pulls(chip, driver):
    _, _, pad0, _ = rp1_regs(4)
    assert chip.read32(pad0) & 0b1100 == 0b0100  # bank 0 resets with PDE
    assert chip.read32(pad0) & 0x40  # and IE
    assert driver.get_pull(4) == rc.PULL_DOWN
    assert driver.get_pull(30) == rc.PULL_OFF
    driver.set_pull(4, rc.PULL_UP)
    assert chip.read32(pad0) & 0b1100 == 0b1000 and driver.get_pull(4) == rc.PULL_UP
    driver.set_function(4, rc.INPUT)
    assert driver.read(4) == 1
    driver.set_pull(4, rc.PULL_OFF)
    assert chip.read32(pad0) & 0b1100 == 0 and chip.pin_state(4).floating
    chip.write32(pad0 + 0x2000, 0b1100)
    assert driver.get_pull(4) == rc.PULL_UNKNOWN


@pytest.mark.parametrize("kind", ["rp1"])
def test_rp1_sync_in_reads_zero_without_input_enable(chip, driver):
    _, rio, pad, mask = rp1_regs(6)
    driver.set_function(6, rc.OUTPUT)
    driver.write(6, 1)
    assert chip.read32(rio + 8) & mask
    chip.write32(pad + 0x3000, 0x40)  # IE off
    assert driver.read(6) == 0 and chip.level(6) == 1
    driver.set_function(6, rc.OUTPUT)  # selecting a function turns IE back on
    assert driver.read(6) == 1
    driver.set_function(6, rc.NONE)  # OD set: stops driving, the pull-down shows
    assert chip.level(6) == 0 and driver.read(6) == 0
    assert driver.latch(6) == 1


def test_make_driver_rejects_unknown_kind_and_small_bus():
    with pytest.raises(ValueError, match="unknown chip kind 'bcm2712'"):
        rc.make_driver("bcm2712", rc.SimRp1())
    with pytest.raises(ValueError, match="at least 196608 bytes"):
        rc.make_driver("rp1", rc.SimBcm2835())
    with pytest.raises(TypeError):
        rc.Bcm2835Driver("not a bus")
