"""The seeded differential fuzzer (rpigpio_fuzz.py) as a test: a few hundred random programs over
the I/O functions, the PWM class and the event API, on three boards, against the real RPi.GPIO 0.7.1.
Every difference must be one of rpigpio_fuzz.ALLOWED, each written down in docs/compat.md.

RPIO_FUZZ_PROGRAMS and RPIO_FUZZ_SEED change the run (a longer one by hand:
``python tests/conformance/rpigpio_fuzz.py --programs 5000 --seed 3``).
"""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import rpigpio_fuzz as fuzz

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROGRAMS = int(os.environ.get("RPIO_FUZZ_PROGRAMS", "300"))
SEED = int(os.environ.get("RPIO_FUZZ_SEED", "2026"))


def _rpigpio_installed() -> bool:
    found = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u; print(u.find_spec('RPi.GPIO') is not None)"],
        capture_output=True, text=True,
    )
    return found.stdout.strip() == "True"


def needs_rpigpio(test):
    test = pytest.mark.skipif(not _rpigpio_installed(), reason="RPi.GPIO 0.7.1 is not installed")(test)
    return pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler for the shim")(test)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    directory = tmp_path_factory.mktemp("fuzz")
    return directory, fuzz.build_shim(directory)


@pytest.fixture
def harness(library, request):
    directory, shim = library
    made = fuzz.Harness(request.param, shim, directory)
    yield made
    made.close()


@needs_rpigpio
@pytest.mark.parametrize("harness", fuzz.BOARDS, indirect=True)
def test_random_programs_agree_with_rpigpio(harness):
    count = -(-PROGRAMS // len(fuzz.BOARDS))
    start = SEED * 1000 + fuzz.BOARDS.index(harness.revision) * count
    report = fuzz.fuzz(harness, range(start, start + count), fuzz.Report())
    assert report.programs == count
    assert not report.findings, (
        f"{len(report.findings)} of {count} programs differ from RPi.GPIO 0.7.1 outside the "
        f"allow-list (minimised):\n{fuzz.format_findings(report.findings)}"
    )
    # the comparison is live: most programs agree call by call, over thousands of calls
    assert report.agreed > count // 2 and report.calls > 5 * count


@needs_rpigpio
@pytest.mark.parametrize("harness", ["a02082"], indirect=True)
def test_an_undocumented_difference_is_found_and_minimised(harness, monkeypatch):
    """With one allow-list entry taken away, its difference becomes a finding, cut down by ddmin
    to setmode plus the one call."""
    allowed = dict(fuzz.ALLOWED)
    del allowed["remove_event_detect before the registers are mapped"]
    monkeypatch.setattr(fuzz, "ALLOWED", allowed)
    program = ["GPIO.setmode(GPIO.BCM)", "GPIO.input(99)", "GPIO.getmode()", "GPIO.event_detected(4)",
               "GPIO.remove_event_detect(17)", "GPIO.setup(18, GPIO.OUT)"]
    monkeypatch.setattr(fuzz, "generate", lambda seed, revision: list(program))
    report = fuzz.fuzz(harness, [0], fuzz.Report())
    assert len(report.findings) == 1
    finding = report.findings[0]
    assert finding.program == ["GPIO.setmode(GPIO.BCM)", "GPIO.remove_event_detect(17)"]
    assert finding.expected["message"] == "No access to /dev/mem.  Try running as root!"
    assert finding.actual["value"] == "None"


def test_ddmin_finds_a_minimal_failing_subset():
    program = [f"s{i}" for i in range(20)]
    calls = []

    def fails(candidate):
        calls.append(candidate)
        return "s3" in candidate and "s17" in candidate

    assert fuzz.ddmin(program, fails) == ["s3", "s17"]
    assert len(calls) < 60


def test_programs_are_seeded_and_hostile():
    assert fuzz.generate(5) == fuzz.generate(5)
    text = "\n".join("\n".join(fuzz.generate(seed)) for seed in range(200))
    for needle in ("GPIO.PWM(", ".start(", ".ChangeFrequency(", "GPIO.add_event_detect(",
                   "GPIO.wait_for_edge(", "nan", "2**70", "'x'", "[17, [18]]", "foo=1", "del p"):
        assert needle in text, needle
    assert "wait_for_edge" not in text or all(
        "timeout=" in line for line in text.splitlines() if "wait_for_edge" in line
    )


def test_every_allowed_difference_is_written_down_in_compat_md():
    compat = (ROOT / "docs" / "compat.md").read_text()
    headings = {line.lstrip("#").strip() for line in compat.splitlines() if line.startswith("#")}
    for name, allowed in fuzz.ALLOWED.items():
        assert allowed.section in headings, f"{name}: no section {allowed.section!r} in compat.md"
        assert name in compat, f"compat.md does not name the allowed difference {name!r}"
