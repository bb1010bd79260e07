"""Hostile and broken files (issue 10, finding 8): board files (TOML) and VCD traces are read only
from regular files, with a size cap; a FIFO, a device, invalid UTF-8, binary data, deep nesting and
a signal for a GPIO the board lacks each give one line naming the file, never a hang, a memory
blow-up or a raw exception."""

import json
import os
import subprocess
import threading

import pytest

import RPIO.sim
from RPIO.workbench import vcd
from wb_helpers import PYTHON, subprocess_env

GOOD_VCD = ("$timescale 1us $end\n$scope module bench $end\n$var wire 1 ! GPIO22 $end\n"
            "$upscope $end\n$enddefinitions $end\n#0\n$dumpvars\n1!\n$end\n#10\n0!\n")


def one_line_naming(error, path):
    text = str(error)
    assert "\n" not in text and str(path) in text, text
    return text


def call_without_hanging(function, *args):
    """function(*args) in a thread: what it raised (a FIFO must not block it forever)."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function(*args)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(30)
    return thread.is_alive(), outcome


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "trap"
    os.mkfifo(path)
    yield path
    # unblock a reader stuck in open() on code that waits on FIFOs
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    except OSError:
        pass


@pytest.mark.parametrize("reader", ["board file", "vcd"])
def test_a_fifo_is_refused_at_once(fifo, reader):
    function = RPIO.sim.load_board_file if reader == "board file" else vcd.read_vcd
    stuck, outcome = call_without_hanging(function, fifo)
    assert not stuck, f"reading a FIFO as a {reader} blocked"
    assert isinstance(outcome.get("error"), ValueError), outcome
    assert "a FIFO" in one_line_naming(outcome["error"], fifo)


ENDLESS = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # a regression fails, not the machine
import RPIO.sim
from RPIO.workbench import vcd
said = {}
for name, function in (("board file", RPIO.sim.load_board_file), ("vcd", vcd.read_vcd)):
    for path in sys.argv[1:]:
        try:
            function(path)
            said[name + " " + path] = "read"
        except ValueError as error:
            said[name + " " + path] = str(error)
print(json.dumps(said))
"""


def test_dev_zero_and_directories_are_refused(tmp_path):
    """In a child whose address space is capped: reading /dev/zero to its end would take all
    the memory of the machine."""
    result = subprocess.run([PYTHON, "-c", ENDLESS, "/dev/zero", str(tmp_path)],
                            env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    said = json.loads(result.stdout)
    for reader in ("board file", "vcd"):
        for path, kind in (("/dev/zero", "a character device"), (str(tmp_path), "a directory")):
            text = said[f"{reader} {path}"]
            assert "\n" not in text and text.startswith(f"{path}: {kind}, not a"), text


def test_files_larger_than_the_cap_are_refused_unread(tmp_path):
    big = tmp_path / "big.toml"
    with open(big, "wb") as file:
        file.truncate(2 << 20)  # sparse: 2 MiB of NULs, no disk used
    with pytest.raises(ValueError) as caught:
        RPIO.sim.load_board_file(big)
    assert f"{2 << 20} bytes, larger than a board file may be" in one_line_naming(caught.value, big)
    # a file that says it is empty and is not (/proc): the cap holds while reading
    with pytest.raises(ValueError) as caught:
        vcd.read_vcd("/proc/self/maps", max_bytes=100)
    assert "larger than a VCD file may be (100 bytes)" in one_line_naming(caught.value,
                                                                          "/proc/self/maps")
    trace = tmp_path / "big.vcd"
    trace.write_text(GOOD_VCD + "#20\n1!\n" * 1000)
    with pytest.raises(ValueError) as caught:
        vcd.read_vcd(trace, max_bytes=1000)
    assert "larger than a VCD file may be" in one_line_naming(caught.value, trace)
    assert len(vcd.read_vcd(trace).changes) == 1002


@pytest.mark.parametrize("content, message", [
    (b"model = \"pi4\"\nwires = [[17, 27]]\n\xff\xfe", "not UTF-8 text (byte 0xff at offset 33)"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary data"),
    (b"wires = " + b"[" * 5000 + b"]" * 5000, "nest too deep"),
    (b"wires = [[17, 27]]\n[parts.x\n", "not valid TOML"),
    (b"wires = [[[17], [27]]]\n", "is not a pin"),
])
def test_broken_board_files_are_one_line_naming_the_file(tmp_path, content, message):
    path = tmp_path / "board.toml"
    path.write_bytes(content)
    with pytest.raises(ValueError) as caught:
        RPIO.sim.load_board_file(path)
    assert message in one_line_naming(caught.value, path)
    assert RPIO.sim.wires() == []  # the board in use was left as it was


@pytest.mark.parametrize("content, message", [
    (GOOD_VCD.encode() + b"#20\n\xc3(!\n", "not UTF-8 text (byte 0xc3"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "binary data"),
    (b"$timescale 1us $end\n" + b"$scope module m $end\n" * 5000, "nest deeper than 64"),
    (GOOD_VCD.encode() + b"#x1\n", "a VCD time is #DIGITS"),
    (GOOD_VCD.encode() + b"b101 ?\n", "undeclared identifier '?'"),
    (b"$var wire -1 ! GPIO4 $end\n$enddefinitions $end\n", "malformed $var"),
    (b"$var wire 1 ! GPIO4\n", "not closed with $end"),
])
def test_broken_vcd_files_are_one_line_naming_the_file(tmp_path, content, message):
    path = tmp_path / "trace.vcd"
    path.write_bytes(content)
    with pytest.raises(ValueError) as caught:
        vcd.read_vcd(path)
    assert message in one_line_naming(caught.value, path)


def test_a_signal_for_a_gpio_the_board_lacks_is_named(tmp_path):
    path = tmp_path / "wide.vcd"
    path.write_text(GOOD_VCD.replace("GPIO22", "GPIO99"))
    with pytest.raises(ValueError) as caught:
        vcd.replay_vcd(path, scale=0)
    text = one_line_naming(caught.value, path)
    assert "signal bench.GPIO99 drives GPIO 99: this board has GPIO 0-57" in text
    with pytest.raises(ValueError, match="GPIO 60: this board has GPIO 0-57"):
        vcd.Replay(path, channels={"GPIO99": 60})
    assert RPIO.sim.chip().pin_state(22).drive is None


def test_the_cli_says_one_line_for_each_bad_file(tmp_path, fifo):
    bad = tmp_path / "wide.vcd"
    bad.write_text(GOOD_VCD.replace("GPIO22", "GPIO99"))
    for path, message in ((fifo, "a FIFO (named pipe), not a VCD file"),
                          ("/dev/zero", "a character device, not a VCD file"),
                          (bad, "drives GPIO 99: this board has GPIO 0-57"),
                          (tmp_path / "missing.vcd", "No such file or directory")):
        result = subprocess.run([PYTHON, "-m", "RPIO.cli", "sim", "replay", str(path),
                                 "--board", f"wbfiles{os.getpid()}"], env=subprocess_env(),
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 1, result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert result.stderr.startswith(f"rpio sim replay: {path}: "), result.stderr
        assert message in result.stderr
    RPIO.sim.reset_board(f"wbfiles{os.getpid()}")


def test_a_board_file_of_another_model_names_both_models(tmp_path):
    name = f"wbmodel{os.getpid()}"
    RPIO.sim.use_board("pi4", shared=name)
    try:
        path = tmp_path / "pi3.toml"
        path.write_text(f'model = "pi3"\nshared = "{name}"\n')
        with pytest.raises(ValueError) as caught:
            RPIO.sim.load_board_file(path)
        text = str(caught.value)
        assert "not a bcm" not in text and "is a simulated" not in text
        assert (f"shared board '{name}' models a Pi 4 Model B (revision c03111, BCM2711), not a "
                "Pi 3 Model B") in text
    finally:
        RPIO.sim.use_board("c03111")
        RPIO.sim.reset_board(name)
