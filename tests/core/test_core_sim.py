"""The simulated chips' outside world: drive, levels, pin state, history, register access."""

from __future__ import annotations

import time

import pytest
import rpio_core as rc


def test_sim_chip_factory_kinds(kind):
    chip = rc.sim_chip(kind)
    assert isinstance(chip, rc.SimChip) and isinstance(chip, rc.Bus)
    assert chip.kind == kind
    assert chip.size() == (0x30000 if kind == "rp1" else 4096)
    assert chip.history() == [] and chip.history_capacity == 65536
    with pytest.raises(ValueError, match="unknown chip kind"):
        rc.sim_chip("bcm2708")
    with pytest.raises(ValueError, match="bcm2835, bcm2836 or bcm2837"):
        rc.SimBcm2835("bcm2711")


def test_reset_function(kind, chip):
    expected = rc.NONE if kind == "rp1" else rc.INPUT
    assert all(chip.pin_state(g).function == expected for g in range(chip.num_gpios()))
    assert all(chip.pin_state(g).latch == 0 for g in range(chip.num_gpios()))


def test_drive_values_and_errors(chip):
    chip.drive(40, 1)
    assert chip.level(40) == 1 and chip.pin_state(40).drive == 1
    chip.drive(40, False)
    assert chip.level(40) == 0 and chip.pin_state(40).drive == 0
    chip.drive(40, "release")
    assert chip.pin_state(40).drive is None
    for bad in (2, -1, "high", 0.5, [1]):
        with pytest.raises(ValueError, match="drive level must be 0, 1, None or 'release'"):
            chip.drive(40, bad)
    assert chip.pin_state(40).drive is None
    with pytest.raises(IndexError, match="out of range for simulated"):
        chip.drive(chip.num_gpios(), 1)
    with pytest.raises(IndexError):
        chip.level(-1)
    with pytest.raises(IndexError):
        chip.pin_state(64)


def test_pin_state_repr(chip):
    chip.drive(3, 1)
    text = repr(chip.pin_state(3))
    assert text.startswith("PinState(function=") and "drive=1" in text and "level=1" in text


def test_history_records_each_change_with_monotonic_time(chip, driver):
    t0 = time.monotonic_ns()
    driver.set_function(40, rc.OUTPUT)  # floating 0 -> driven 0: no level change, no entry
    assert not chip.pin_state(40).floating
    driver.write(40, 1)
    driver.write(40, 1)  # no change: no entry
    driver.write(40, 0)
    chip.drive(41, 1)
    chip.drive(41, 0)
    driver.set_pull(41, rc.PULL_UP)  # the drive still wins: no entry
    chip.drive(41, None)  # the pull-up shows
    driver.set_pull(41, rc.PULL_OFF)  # floats: reads 0
    t1 = time.monotonic_ns()
    hist = chip.history()
    assert [(g, lvl) for _, g, lvl in hist] == [
        (40, 1), (40, 0), (41, 1), (41, 0), (41, 1), (41, 0)]
    assert [e.floating for e in hist] == [False] * 5 + [True]
    times = [e.t_ns for e in hist]
    assert times == sorted(times) and t0 <= times[0] and times[-1] <= t1
    assert isinstance(hist[0], rc.HistoryEntry) and isinstance(hist[0], tuple) and len(hist[0]) == 3
    assert hist[0] == (hist[0].t_ns, 40, 1)


def test_floating_without_a_level_change_is_not_history(chip, driver):
    driver.set_function(20, rc.INPUT)
    driver.set_pull(20, rc.PULL_DOWN)
    chip.clear_history()
    driver.set_pull(20, rc.PULL_OFF)  # pulled-down 0 -> floating 0
    assert chip.pin_state(20).floating and chip.history() == []
    chip.drive(20, 1)
    assert [(e.gpio, e.level, e.floating) for e in chip.history()] == [(20, 1, False)]
    chip.drive(20, None)
    assert [(e.gpio, e.level, e.floating) for e in chip.history()][-1] == (20, 0, True)


def test_pin_state_is_a_comparable_snapshot(chip):
    before = chip.pin_state(30)
    assert before == chip.pin_state(30) and hash(before) == hash(chip.pin_state(30))
    chip.drive(30, 1)
    assert chip.pin_state(30) != before
    assert before.drive is None  # a snapshot: it does not follow the pin
    assert (before == "x") is False


def test_history_ring_is_bounded_and_configurable(kind):
    chip = rc.sim_chip(kind, history_capacity=5)
    driver = rc.make_driver(kind, chip)
    driver.set_function(20, rc.OUTPUT)
    chip.clear_history()
    for i in range(12):
        driver.write(20, i % 2 == 0)
    hist = chip.history()
    assert len(hist) == 5
    # writes 1,0,1,0,... twelve times: the last five changes are 0,1,0,1,0
    assert [e.level for e in hist] == [0, 1, 0, 1, 0]
    chip.history_capacity = 0
    driver.write(20, 1)
    assert chip.history() == [] and chip.level(20) == 1
    chip.history_capacity = 3
    driver.write(20, 0)
    assert len(chip.history()) == 1
    chip.clear_history()
    assert chip.history() == []
    with pytest.raises(ValueError):
        chip.history_capacity = -1
    with pytest.raises(ValueError):
        rc.sim_chip(kind, history_capacity=-5)


def test_history_on_function_change(chip, driver):
    driver.set_function(10, rc.OUTPUT)  # pulled down, latch 0: still 0
    driver.write(10, 1)
    chip.clear_history()
    driver.set_function(10, rc.INPUT)  # the pull-down (or rp1 pad default) shows
    hist = chip.history()
    assert [(e.gpio, e.level) for e in hist] == [(10, 0)]


def test_register_access_is_checked(chip):
    size = chip.size()
    with pytest.raises(IndexError, match="outside the window"):
        chip.read32(size)
    with pytest.raises(IndexError, match="negative"):
        chip.read32(-4)
    with pytest.raises(ValueError, match="multiple of 4"):
        chip.write32(2, 0)
    with pytest.raises(ValueError, match="32 bits"):
        chip.write32(0, 1 << 32)
    with pytest.raises(ValueError, match="32 bits"):
        chip.write32(0, -1)
    chip.write32(size - 4, 0xFFFFFFFF)  # the last word is addressable


@pytest.mark.parametrize("kind", ["bcm2835", "bcm2711"])
def test_bcm_event_detect_status(chip):
    chip.write32(0x4C, 1 << 22)  # GPREN0
    chip.write32(0x58, 1 << 23)  # GPFEN0
    chip.drive(22, 1)
    chip.drive(23, 1)
    assert chip.read32(0x40) == 1 << 22  # GPEDS0
    chip.drive(23, 0)
    assert chip.read32(0x40) == (1 << 22) | (1 << 23)
    chip.write32(0x40, 1 << 22)  # write 1 to clear
    assert chip.read32(0x40) == 1 << 23
    chip.write32(0x70, 1 << 9)  # GPLEN0: gpio 9 is low (pull-down): asserts at once
    assert chip.read32(0x40) & (1 << 9)
    chip.write32(0x40, 1 << 9)
    assert chip.read32(0x40) & (1 << 9)  # the level persists, so does the event


def test_lev_words_mask_missing_pins():
    chip = rc.SimBcm2835()
    for gpio in range(54):
        chip.drive(gpio, 1)
    assert chip.read32(0x34) == 0xFFFFFFFF
    assert chip.read32(0x38) == (1 << 22) - 1
    chip.write32(0x1C + 4, 0xFFFFFFFF)  # GPSET1 for pins that do not exist: harmless
    assert chip.read32(0x38) == (1 << 22) - 1
