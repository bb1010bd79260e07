"""The hot path: fast_output/fast_input serve plain-int calls in C++ and hand every other call to
the Python fallbacks, untouched."""

from __future__ import annotations

import gc

import pytest
import rpio_core as rc

OUT, IN, NOT_SET_UP = 0, 1, -1


class Recorder:
    """A fallback that records its calls and returns a marker."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple] = []

    def __call__(self, *args):
        self.calls.append(args)
        return (self.name, args)


class MyInt(int):
    pass


@pytest.fixture
def setup(clean_fastpath, kind):
    """A bound fast path over a simulated chip: BCM-like identity map, gpio 17 OUT, 27 IN."""
    chip = rc.sim_chip(kind)
    driver = rc.make_driver(kind, chip)
    out_fb, in_fb = Recorder("output"), Recorder("input")
    rc.fastpath_bind(driver, out_fb, in_fb)
    rc.fastpath_set_channel_map(list(range(driver.num_gpios())))
    driver.set_function(17, rc.OUTPUT)
    rc.fastpath_set_direction(17, OUT)
    driver.set_function(27, rc.INPUT)
    driver.set_pull(27, rc.PULL_UP)
    rc.fastpath_set_direction(27, IN)
    return chip, driver, out_fb, in_fb


def test_output_drives_the_pin_without_fallback(setup):
    chip, driver, out_fb, _ = setup
    assert rc.fast_output(17, 1) is None
    assert chip.level(17) == 1 and driver.latch(17) == 1
    assert rc.fast_output(17, 0) is None
    assert chip.level(17) == 0
    assert out_fb.calls == []


@pytest.mark.parametrize("value", [1, 2, -1, 255, 2**29, -(2**29), 2**30 - 1, -(2**30) + 1, True])
def test_any_non_zero_value_is_high(setup, value):
    chip, _, out_fb, _ = setup
    rc.fast_output(17, 0)
    rc.fast_output(17, value)
    assert chip.level(17) == 1 and out_fb.calls == []


@pytest.mark.parametrize("value", [2**30, -(2**30), 2**31, 2**40, 2**64, -(2**100)])
def test_huge_values_go_to_the_fallback(setup, value):
    # RPi.GPIO converts the value to a C int (2**40 becomes 0): the fallback owns that rule.
    chip, _, out_fb, _ = setup
    assert rc.fast_output(17, value) == ("output", (17, value))
    assert out_fb.calls == [(17, value)] and chip.pin_state(17).latch == 0


@pytest.mark.parametrize("value", [0, False])
def test_zero_and_false_are_low(setup, value):
    chip, _, out_fb, _ = setup
    rc.fast_output(17, 1)
    rc.fast_output(17, value)
    assert chip.level(17) == 0 and out_fb.calls == []


def test_bool_channel_accepted(setup):
    chip, driver, out_fb, in_fb = setup
    driver.set_function(1, rc.OUTPUT)
    rc.fastpath_set_direction(1, OUT)
    rc.fast_output(True, 1)
    assert chip.level(1) == 1 and out_fb.calls == []
    assert rc.fast_input(True) == 1 and in_fb.calls == []


def test_input_returns_int_not_bool(setup):
    chip, _, _, in_fb = setup
    value = rc.fast_input(27)
    assert value == 1 and type(value) is int
    chip.drive(27, 0)
    value = rc.fast_input(27)
    assert value == 0 and type(value) is int
    rc.fast_output(17, 1)
    assert rc.fast_input(17) == 1  # an OUT channel reads its level
    assert in_fb.calls == []


@pytest.mark.parametrize("args", [
    (),
    (17,),
    (17, 1, 2),
    ("17", 1),
    (17.0, 1),
    (None, 1),
    ([17], [1]),
    ((17,), 1),
    (17, [1]),
    (17, (1, 0)),
    (17, "1"),
    (17, 1.0),
    (17, None),
    (MyInt(17), 1),
    (17, MyInt(1)),
    (-1, 1),
    (10_000, 1),
    (2**40 + 17, 1),
    (-(2**40), 1),
    (27, 1),  # an input
    (4, 1),  # not set up by this process
])
def test_output_falls_back(setup, args):
    chip, _, out_fb, _ = setup
    before = [chip.pin_state(g).latch for g in range(chip.num_gpios())]
    assert rc.fast_output(*args) == ("output", args)
    assert out_fb.calls == [args]
    assert [chip.pin_state(g).latch for g in range(chip.num_gpios())] == before


@pytest.mark.parametrize("args", [
    (),
    (17, 1),
    ("27",),
    (27.0,),
    (None,),
    ([27],),
    (MyInt(27),),
    (-1,),
    (2**40 + 27,),
    (10_000,),
    (4,),  # not set up by this process
])
def test_input_falls_back(setup, args):
    _, _, _, in_fb = setup
    assert rc.fast_input(*args) == ("input", args)
    assert in_fb.calls == [args]


def test_mode_not_set_falls_back(setup):
    _, _, out_fb, in_fb = setup
    rc.fastpath_set_channel_map([])
    rc.fast_output(17, 1)
    rc.fast_input(27)
    assert out_fb.calls == [(17, 1)] and in_fb.calls == [(27,)]


def test_unmapped_channel_falls_back(setup):
    chip, _, out_fb, _ = setup
    mapping = [-1] * 41
    mapping[11] = 17  # BOARD pin 11 is BCM 17 on a 40-pin header
    rc.fastpath_set_channel_map(mapping)
    rc.fast_output(11, 1)
    assert chip.level(17) == 1 and out_fb.calls == []
    rc.fast_output(17, 1)  # channel 17 is unmapped (-1) in this map
    rc.fast_output(41, 1)  # past the map
    assert out_fb.calls == [(17, 1), (41, 1)]


def test_direction_changes_take_effect(setup):
    chip, _, out_fb, in_fb = setup
    rc.fastpath_set_direction(17, NOT_SET_UP)
    rc.fast_output(17, 1)
    rc.fast_input(17)
    assert out_fb.calls == [(17, 1)] and in_fb.calls == [(17,)]
    rc.fastpath_set_direction(17, IN)
    rc.fast_output(17, 1)
    assert len(out_fb.calls) == 2
    assert rc.fast_input(17) == chip.level(17) and len(in_fb.calls) == 1


def test_gpio_beyond_the_driver_falls_back(clean_fastpath):
    chip = rc.SimBcm2835()
    out_fb = Recorder("output")
    rc.fastpath_bind(rc.Bcm2835Driver(chip), out_fb, Recorder("input"))
    rc.fastpath_set_channel_map([60])
    rc.fastpath_set_direction(60, OUT)
    rc.fast_output(0, 1)
    assert out_fb.calls == [(0, 1)]


def test_no_driver_bound_falls_back(clean_fastpath):
    out_fb, in_fb = Recorder("output"), Recorder("input")
    rc.fastpath_bind(None, out_fb, in_fb)
    rc.fastpath_set_channel_map([0, 1, 2])
    rc.fastpath_set_direction(1, OUT)
    assert rc.fast_output(1, 1) == ("output", (1, 1))
    assert rc.fast_input(1) == ("input", (1,))


def test_nothing_bound_raises(clean_fastpath):
    with pytest.raises(RuntimeError, match=r"output\(\): the rpio_core fast path is not bound"):
        rc.fast_output(1, 1)
    with pytest.raises(RuntimeError, match=r"input\(\): the rpio_core fast path is not bound"):
        rc.fast_input(1)


def test_keyword_arguments_rejected_with_the_rpi_gpio_message(setup):
    _, _, out_fb, in_fb = setup
    with pytest.raises(TypeError) as info:
        rc.fast_output(channel=17, value=1)
    assert str(info.value) == "output() takes no keyword arguments"
    with pytest.raises(TypeError) as info:
        rc.fast_output(17, value=1)
    assert str(info.value) == "output() takes no keyword arguments"
    with pytest.raises(TypeError) as info:
        rc.fast_input(channel=27)
    assert str(info.value) == "input() takes no keyword arguments"
    assert out_fb.calls == [] and in_fb.calls == []


def test_fallback_errors_propagate(clean_fastpath):
    def fail(*args):
        raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")

    rc.fastpath_bind(None, fail, fail)
    with pytest.raises(RuntimeError, match="has not been set up as an OUTPUT"):
        rc.fast_output(17, 1)


def test_bound_driver_stays_alive(clean_fastpath):
    chip = rc.SimBcm2711()
    driver = rc.Bcm2711Driver(chip)
    driver.set_function(5, rc.OUTPUT)
    rc.fastpath_bind(driver, Recorder("o"), Recorder("i"))
    rc.fastpath_set_channel_map(list(range(58)))
    rc.fastpath_set_direction(5, OUT)
    del driver
    gc.collect()
    rc.fast_output(5, 1)
    assert chip.level(5) == 1
    rc.fastpath_reset()
    assert rc.fastpath_state()["driver"] is None


def test_mmap_bus_fast_path(clean_fastpath, tmp_path):
    path = tmp_path / "regs"
    path.write_bytes(bytes(4096))
    bus = rc.MmapBus(path)
    rc.fastpath_bind(rc.Bcm2835Driver(bus), Recorder("o"), Recorder("i"))
    rc.fastpath_set_channel_map(list(range(54)))
    rc.fastpath_set_direction(17, OUT)
    rc.fast_output(17, 5)
    assert bus.read32(0x1C) == 1 << 17
    rc.fast_output(17, 0)
    assert bus.read32(0x28) == 1 << 17
    bus.write32(0x34, 1 << 17)
    assert rc.fast_input(17) == 1


def test_state_and_argument_checks(clean_fastpath):
    driver = rc.Rp1Driver(rc.SimRp1())
    out_fb, in_fb = Recorder("o"), Recorder("i")
    with pytest.raises(TypeError, match="callable"):
        rc.fastpath_bind(driver, None, in_fb)
    with pytest.raises(TypeError, match="Driver, ChardevLines or None"):
        rc.fastpath_bind(rc.SimRp1(), out_fb, in_fb)
    assert rc.fastpath_state()["driver"] is None  # a failed bind changes nothing
    rc.fastpath_bind(driver, out_fb, in_fb)
    with pytest.raises(ValueError, match="out of range"):
        rc.fastpath_set_channel_map([0, 64])
    with pytest.raises(ValueError, match="out of range"):
        rc.fastpath_set_channel_map([-2])
    with pytest.raises(TypeError, match="ints"):
        rc.fastpath_set_channel_map([0, "1"])
    rc.fastpath_set_channel_map((-1, 3, 5))
    with pytest.raises(IndexError):
        rc.fastpath_set_direction(64, 0)
    with pytest.raises(ValueError):
        rc.fastpath_set_direction(3, 2)
    rc.fastpath_set_direction(3, OUT)
    rc.fastpath_set_direction(5, IN)
    state = rc.fastpath_state()
    assert state["driver"] is driver
    assert state["fallback_output"] is out_fb and state["fallback_input"] is in_fb
    assert state["channel_map"] == [-1, 3, 5]
    assert state["directions"] == {3: OUT, 5: IN}
    rc.fastpath_reset()
    assert rc.fastpath_state() == {"driver": None, "fallback_output": None,
                                   "fallback_input": None, "channel_map": [], "directions": {}}


def test_benchmark_baselines():
    assert rc._bench_noop2 is rc._core._bench_noop2  # bench/io.py reaches them here
    assert rc._bench_fastcall_noop2 is rc._core._bench_fastcall_noop2
    assert rc._core._bench_noop2(1, 2) is None
    assert rc._core._bench_fastcall_noop2(1, 2) is None
    with pytest.raises(TypeError):
        rc._core._bench_fastcall_noop2(1)
