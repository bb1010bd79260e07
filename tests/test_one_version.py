"""One version, written once (VERSION), read by all four builds; fails on any drift.

Also runnable as a script (`python tests/test_version.py`, the nox `check_versions` session).
"""

import importlib
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = {
    "rpio-core": "rpio_core",
    "rpio-interrupts": "rpio_interrupts",
    "rpio-pwm": "rpio_pwm",
    "rpio": "RPIO",
}
VERSION = (ROOT / "VERSION").read_text().strip()


def test_the_version_is_a_successor_of_rpio_0_10():
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)((a|b|rc)\d+)?(\.dev\d+)?", VERSION)
    assert match, VERSION
    assert int(match.group(1)) >= 2  # PyPI's RPIO 0.10.0 owns the name; we succeed it


def test_every_package_reads_the_one_version_file():
    for name in PACKAGES:
        link = ROOT / "packages" / name / "VERSION"
        assert link.is_symlink() and link.resolve() == (ROOT / "VERSION").resolve(), name
        pyproject = (ROOT / "packages" / name / "pyproject.toml").read_text()
        assert re.search(r'dynamic\s*=\s*\[[^\]]*"version"', pyproject), name
        assert re.search(r'(path|input)\s*=\s*"VERSION"', pyproject), name
        assert not re.search(r'^version\s*=', pyproject, re.MULTILINE), name


def test_the_umbrella_pins_its_siblings_to_exactly_that_version():
    hook = (ROOT / "packages" / "rpio" / "hatch_build.py").read_text()
    assert 'f"{name}=={version}"' in hook
    for sibling in ("rpio-core", "rpio-interrupts", "rpio-pwm"):
        assert f'"{sibling}"' in hook


def test_installed_packages_report_that_version():
    for module_name in PACKAGES.values():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue  # not installed in this interpreter: the metadata checks above still ran
        assert module.__version__ == VERSION, module_name


if __name__ == "__main__":
    for check in (test_the_version_is_a_successor_of_rpio_0_10,
                  test_every_package_reads_the_one_version_file,
                  test_the_umbrella_pins_its_siblings_to_exactly_that_version):
        check()
    print(f"one version: {VERSION}")
    sys.exit(0)


def test_the_opt_in_rpigpio_package_reads_it_and_pins_rpio_to_it():
    # packages/rpio-rpi-gpio (distribution "RPi.GPIO"): not imported here, since the real RPi.GPIO
    # 0.7.1 may be the one installed (tests/conformance runs against it)
    package = ROOT / "packages" / "rpio-rpi-gpio"
    link = package / "VERSION"
    assert link.is_symlink() and link.resolve() == (ROOT / "VERSION").resolve()
    pyproject = (package / "pyproject.toml").read_text()
    assert re.search(r'dynamic\s*=\s*\[[^\]]*"version"', pyproject)
    assert not re.search(r'^version\s*=', pyproject, re.MULTILINE)
    assert 'f"rpio=={version}"' in (package / "hatch_build.py").read_text()
