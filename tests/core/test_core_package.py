"""The Python face of rpio_core: exports, constants, version, factories."""

from __future__ import annotations

import pathlib

import pytest
import rpio_core as rc

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_all_names_exist():
    for name in rc.__all__:
        assert hasattr(rc, name), name
    assert len(set(rc.__all__)) == len(rc.__all__)


def test_version_is_the_version_file():
    assert rc.__version__ == (REPO / "VERSION").read_text().strip()
    assert rc._core.__version__ == rc.__version__


def test_constants_are_the_design_vocabulary():
    assert (rc.INPUT, rc.OUTPUT, rc.NONE) == (0, 1, 11)
    assert [getattr(rc, f"ALT{i}") for i in range(9)] == list(range(2, 11))
    assert (rc.PULL_OFF, rc.PULL_DOWN, rc.PULL_UP, rc.PULL_UNKNOWN) == (0, 1, 2, -1)
    assert [rc.function_name(f) for f in (0, 1, 2, 10, 11)] == ["INPUT", "OUTPUT", "ALT0", "ALT8", "NONE"]
    with pytest.raises(ValueError):
        rc.function_name(12)


def test_fast_entries_are_builtins_named_as_rpi_gpio():
    assert rc.fast_output.__name__ == "output"
    assert rc.fast_input.__name__ == "input"
    assert type(rc.fast_output).__name__ == "builtin_function_or_method"


def test_chip_kinds_and_factories():
    assert rc.CHIP_KINDS == ("bcm2835", "bcm2836", "bcm2837", "bcm2711", "rp1")
    classes = {"bcm2835": rc.SimBcm2835, "bcm2836": rc.SimBcm2835, "bcm2837": rc.SimBcm2835,
               "bcm2711": rc.SimBcm2711, "rp1": rc.SimRp1}
    for kind, cls in classes.items():
        chip = rc.sim_chip(kind, history_capacity=16)
        assert type(chip) is cls and chip.history_capacity == 16
        direct = rc.SimChip(kind)  # the base class builds the chip of that kind
        assert type(direct) is cls and direct.kind == kind and direct.history_capacity == 65536
        driver = rc.make_driver(kind, chip)
        assert driver.bus is chip
        assert repr(driver) == f"<{driver.chip} driver>"


def test_sim_chip_base_class_errors_and_subclassing():
    with pytest.raises(ValueError, match="unknown chip kind 'bcm2712'"):
        rc.SimChip("bcm2712")
    with pytest.raises(TypeError):
        rc.SimChip()
    with pytest.raises(ValueError, match="history_capacity"):
        rc.SimChip("rp1", history_capacity=-1)

    class Bench(rc.SimRp1):  # subclasses construct as usual
        pass

    bench = Bench(history_capacity=8)
    assert type(bench) is Bench and bench.history_capacity == 8 and isinstance(bench, rc.SimChip)


def test_boards_is_reachable_as_an_attribute():
    import importlib.util

    if importlib.util.find_spec("rpio_core.boards") is None:
        pytest.skip("rpio_core.boards is written by another package author and not installed")
    assert rc.boards.__name__ == "rpio_core.boards"
    with pytest.raises(AttributeError):
        rc.no_such_attribute  # noqa: B018


def test_stub_names_match_the_module():
    stub = pathlib.Path(rc.__file__).with_name("_core.pyi")
    text = stub.read_text()
    public = [n for n in dir(rc._core) if not n.startswith("__")]
    for name in public:
        assert (f"def {name}(" in text or f"class {name}" in text or f"{name}: " in text), name
