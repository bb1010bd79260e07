"""RPIO's whole I/O API on the real kernel through the chardev backend (RPIO/_chardev.py).

The board: a fake root whose device tree says "Pi 4 Model B" and whose dev/ holds no
/dev/gpiomem but a gpiochip that is a gpio-sim chip labelled pinctrl-bcm2711 (58 lines): the
situation of a container given only /dev/gpiochip0. Levels are read back through gpio-sim's
``value`` attribute, pulls through its ``pull`` attribute, edges driven through ``pull``.
Programs run as subprocesses as users run them; waits have timeouts (kernel_helpers).
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import queue
import subprocess
import sys
import time
import warnings

import pytest
from kernel_helpers import EVENT_TIMEOUT, line_request_fds
from rpio_interrupts import uapi

pytestmark = pytest.mark.gpiosim

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPI_CS = 9  # a line the kernel holds, as the SPI driver holds GPIO 8/7 on a Pi


def fake_pi_root(base: pathlib.Path, chip) -> pathlib.Path:
    (base / "proc/device-tree/system").mkdir(parents=True)
    (base / "proc/device-tree/system/linux,revision").write_bytes((0xC03111).to_bytes(4, "big"))
    (base / "dev").mkdir()
    (base / "sys").mkdir()
    os.symlink(chip.dev_path, base / "dev" / chip.name)
    return base


@pytest.fixture
def pi(sim, tmp_path):
    """(gpio-sim chip, fake root); RPIO in this process drives the chip through chardev."""
    import RPIO
    from RPIO import _backend
    from RPIO._gpio import _state

    chip = sim(num_lines=58, label="pinctrl-bcm2711", hogs={SPI_CS: ("spi0 CS0", "output-high")})
    root = fake_pi_root(tmp_path / "root", chip)
    board = _backend.identify({"RPIO_ROOT": str(root), "RPIO_BACKEND": "chardev"})
    assert board.backend == "chardev" and board.on_pi
    board.open()
    _state.use_board(board)
    try:
        yield chip, root
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            RPIO.cleanup()
        RPIO.sim.use_board("c03111")


def run(args, root, **env):
    environment = dict(os.environ, RPIO_ROOT=str(root), **env)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          env=environment, timeout=120)


def test_the_spec_io_example_runs_verbatim(pi):
    chip, root = pi
    result = run([str(ROOT / "examples/spec_gpio_io.py")], root, RPIO_BACKEND="chardev")
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr
    # set_pullupdn(17, PUD_UP) held line 17 as an input with that bias; cleanup() released it
    assert chip.get_pull(17) == "pull-up"
    assert not any(uapi.Chip(chip.dev_path).line_info(o).used for o in (7, 8, 17))


def test_the_spec_io_example_in_this_process(pi):
    import RPIO

    chip, _root = pi
    namespace: dict = {}
    code = (ROOT / "examples/spec_gpio_io.py").read_text()
    exec(compile(code, "spec_gpio_io.py", "exec"), namespace)
    assert namespace["input_value"] == 1  # GPIO 7 with its pull-up, through the kernel
    assert RPIO.getmode() == RPIO.BCM


def test_auto_mode_takes_the_chip_when_the_registers_cannot_be_opened(pi):
    chip, root = pi
    code = "import logging, RPIO; logging.basicConfig(level=logging.INFO); RPIO.setup(4, RPIO.OUT, initial=1)"
    result = run(["-c", code], root)  # RPIO_BACKEND unset: auto
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "character device" in line]
    assert len(lines) == 1 and f"through its GPIO character device {root}/dev/{chip.name}" in lines[0]
    assert "the registers cannot be opened" in lines[0]


def test_outputs_read_back_through_the_sim_value(pi):
    import RPIO

    chip, _root = pi
    RPIO.setup(8, RPIO.OUT, initial=RPIO.HIGH)
    assert chip.get_value(8) == 1
    for level in (0, 1, 0, 1, 1, 0):
        RPIO.output(8, level)
        assert chip.get_value(8) == level
        assert RPIO.input(8) == level
    RPIO.setup(10, RPIO.OUT)
    RPIO.output([8, 10], [1, 1])
    assert (chip.get_value(8), chip.get_value(10)) == (1, 1)
    RPIO.setup(8, RPIO.OUT)  # set up again: keeps driving HIGH (no glitch through LOW)
    assert chip.get_value(8) == 1
    RPIO.cleanup(8)
    assert not uapi.Chip(chip.dev_path).line_info(8).used


def test_setup_with_initial_high_from_an_input(pi):
    """Input -> output HIGH is one reconfiguration of the request (the fake-kernel tests show
    the single ioctl); the kernel's value says HIGH right after it."""
    import RPIO

    chip, _root = pi
    RPIO.setup(11, RPIO.IN, pull_up_down=RPIO.PUD_DOWN)
    assert chip.get_value(11) == 0
    RPIO.setup(11, RPIO.OUT, initial=RPIO.HIGH)
    assert chip.get_value(11) == 1
    info = uapi.Chip(chip.dev_path).line_info(11)
    assert info.direction == "output" and info.consumer == "RPIO"


def test_pulls_read_back_through_the_sim_pull(pi):
    import RPIO

    chip, _root = pi
    RPIO.setup(7, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    assert chip.get_pull(7) == "pull-up" and RPIO.input(7) == 1
    RPIO.set_pullupdn(7, RPIO.PUD_DOWN)
    assert chip.get_pull(7) == "pull-down" and RPIO.input(7) == 0
    assert RPIO.get_pullupdn(7) == RPIO.PUD_DOWN
    RPIO.setup(7, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    assert chip.get_pull(7) == "pull-up" and RPIO.input(7) == 1
    RPIO.set_pullupdn(20, RPIO.PUD_DOWN)  # not set up: requested as an input with that bias
    assert chip.get_pull(20) == "pull-down"
    info = uapi.Chip(chip.dev_path).line_info(20)
    assert info.used and info.consumer == "RPIO" and info.bias == "pull-down"


def test_an_rpigpio_program_from_the_rpio_tests(pi, tmp_path):
    chip, root = pi
    spec = importlib.util.spec_from_file_location("rpio_program_tests", ROOT / "tests/rpio/test_spec_and_cli.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "RPi").mkdir()
    (tmp_path / "RPi" / "__init__.py").write_text("")
    (tmp_path / "RPi" / "GPIO.py").write_text("from RPIO import *\nfrom RPIO import VERSION\n")
    (tmp_path / "program.py").write_text(module.RPIGPIO_PROGRAM)
    result = run([str(tmp_path / "program.py")], root, RPIO_BACKEND="chardev")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "1", "0", "3"]  # BOARD 11 = BCM 17, BOARD 13 = BCM 27


def test_edges_on_a_line_set_up_first_use_its_request(pi):
    import RPIO

    chip, _root = pi
    # PUD_OFF: gpio-sim's pull is both the bias and the outside world, and a pull-down bias
    # would be applied again when the edges are turned off; bias 'disabled' leaves it alone.
    chip.set_pull(5, "pull-down")
    RPIO.setup(5, RPIO.IN)
    before = line_request_fds()
    q: queue.Queue = queue.Queue()
    RPIO.add_event_detect(5, RPIO.RISING, callback=q.put)  # no EBUSY: the same request
    assert line_request_fds() == before
    chip.set_pull(5, "pull-up")
    assert q.get(timeout=EVENT_TIMEOUT) == 5
    assert RPIO.event_detected(5)
    RPIO.remove_event_detect(5)
    info = uapi.Chip(chip.dev_path).line_info(5)
    assert info.used and info.edge is None and info.direction == "input"  # still set up
    assert RPIO.input(5) == 1


def test_interrupt_callbacks_on_a_line_set_up_first(pi):
    import RPIO

    chip, _root = pi
    RPIO.setup(6, RPIO.IN)
    q: queue.Queue = queue.Queue()
    RPIO.add_interrupt_callback(6, lambda gpio, value: q.put((gpio, value)), edge="both",
                                threaded_callback=True)
    RPIO.wait_for_interrupts(threaded=True)
    try:
        chip.set_pull(6, "pull-up")
        assert q.get(timeout=EVENT_TIMEOUT) == (6, 1)
        chip.set_pull(6, "pull-down")
        assert q.get(timeout=EVENT_TIMEOUT) == (6, 0)
    finally:
        RPIO.stop_waiting_for_interrupts()
        RPIO.del_interrupt_callback(6)


def test_a_second_holder_is_ebusy_and_named(pi):
    import RPIO

    chip, root = pi
    RPIO.setup(13, RPIO.OUT)
    with pytest.raises(uapi.LineBusyError, match="held by 'RPIO', a line request of this process"):
        uapi.request_lines(chip.dev_path, [13])
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from rpio_interrupts import uapi; "
         f"r = uapi.request_lines({chip.dev_path!r}, [14], consumer='other-app'); "
         "print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(uapi.LineBusyError,
                               match=f"GPIO 14 is busy: held by 'other-app', a line request of process {holder.pid}"):
                RPIO.setup(14, RPIO.IN)
        assert any("already in use" in str(w.message) for w in caught)
        assert RPIO.gpio_function(14) == RPIO.IN
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def test_gpio_function_of_lines_held_by_others(pi):
    import RPIO

    chip, _root = pi
    assert RPIO.gpio_function(SPI_CS) == RPIO.SPI  # the kernel's 'spi0 CS0'
    with uapi.request_lines(chip.dev_path, [15], consumer="someone", direction="output"):
        assert RPIO.gpio_function(15) == RPIO.OUT
    assert RPIO.gpio_function(16) == RPIO.IN
    RPIO.setup(16, RPIO.OUT)
    assert RPIO.gpio_function(16) == RPIO.OUT


def test_the_fast_path_serves_output_and_input_in_cpp(pi):
    """Fallbacks that count: a call served by C++ never reaches them."""
    import RPIO
    import rpio_core
    from RPIO import _gpio

    chip, _root = pi
    RPIO.setup(18, RPIO.OUT)
    RPIO.setup(19, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    calls = []
    rpio_core.fastpath_bind(_gpio._state.driver, lambda *a: calls.append(a), lambda *a: calls.append(a))
    try:
        RPIO.output(18, 1)
        assert chip.get_value(18) == 1
        assert RPIO.input(19) == 1 and RPIO.input(18) == 1
        assert calls == []
        RPIO.output(19, 1)  # an input: the fallback's business (WrongDirection)
        assert calls == [(19, 1)]
    finally:
        rpio_core.fastpath_bind(_gpio._state.driver, _gpio._output_slow, _gpio._input_slow)


def test_a_chip_that_goes_away(pi):
    import RPIO

    chip, _root = pi
    RPIO.setup(21, RPIO.OUT)
    chip.close()
    with pytest.raises(OSError, match="the chip has gone away"):
        RPIO.output(21, 1)
    with pytest.raises(OSError, match="the chip has gone away"):
        RPIO.input(21)


def _drop_root_file_powers():
    """Stay uid 0 (so the interpreter under /root stays readable) but lose the capabilities that
    let root open any file: the bounding set loses them, so the exec'd program never has them."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_no_permission_names_the_device_and_what_to_do(pi):
    chip, _root = pi
    os.chown(chip.dev_path, 12345, 65534)  # another user's, group 'nogroup'
    os.chmod(chip.dev_path, 0o660)
    code = "import RPIO; RPIO.setup(4, RPIO.IN)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env=dict(os.environ, RPIO_BACKEND="chardev", RPIO_CHIP=chip.dev_path),
        preexec_fn=_drop_root_file_powers)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("RPIO.Exceptions.BoardAccessError: no permission to open " + chip.dev_path), last
    assert "add your user to the 'nogroup' group" in last, last


def test_the_cli_inspects_every_line(pi):
    chip, root = pi
    result = run(["-m", "RPIO.cli", "--inspect-all"], root, RPIO_BACKEND="chardev")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 58
    assert lines[SPI_CS].startswith(f"GPIO {SPI_CS}: busy, held by 'spi0 CS0', the kernel")
    assert lines[4] == "GPIO 4: INPUT  (0)"
    result = run(["-m", "RPIO.cli", "--setoutput", "4:1", "--inspect", "4"], root, RPIO_BACKEND="chardev")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "GPIO 4: OUTPUT (1)\n"


def test_asyncio_edges_on_a_line_set_up_first(pi):
    """RPIO.aio rides the same loop and provider: the request setup() made, with edge flags."""
    import asyncio

    import RPIO
    import RPIO.aio

    chip, _root = pi
    chip.set_pull(23, "pull-down")
    RPIO.setup(23, RPIO.IN)
    fds = line_request_fds()

    async def main():
        seen = []
        async with RPIO.aio.edges(23, edge="both") as stream:
            assert line_request_fds() == fds  # no second request
            for pull in ("pull-up", "pull-down"):
                chip.set_pull(23, pull)
                seen.append(await stream.next(EVENT_TIMEOUT))
        return seen

    seen = asyncio.run(main())
    assert [(e.gpio, e.value) for e in seen] == [(23, 1), (23, 0)]
    info = uapi.Chip(chip.dev_path).line_info(23)
    assert info.used and info.edge is None  # edges off, the line still the input setup() made


@pytest.mark.parametrize("set_up_first", [True, False], ids=["setup-then-edges", "edges-only"])
def test_a_burst_larger_than_the_kernel_default_queue_is_kept_whole(pi, set_up_first):
    """The kernel sizes a request's edge queue when the line is requested (16 records unless the
    request says more) and keeps that size when edges are turned on later; a full queue drops
    its oldest edges. The chardev backend requests its lines with the largest queue, so of 300
    edges made while nobody reads (the loop not running yet) the first 60 reach the callback
    in order from seqno 1 (with the kernel's 16 only the newest 16 would be left). gpio-sim under
    emulation may merge two quick edges into one event (fewer events, never a gap): the edges
    are paced and the test counts the first 60 only."""
    import RPIO

    chip, _root = pi
    gpio, edges, checked = 12, 300, 60
    chip.set_pull(gpio, "pull-down")
    if set_up_first:
        RPIO.setup(gpio, RPIO.IN)
    got: queue.Queue = queue.Queue()
    RPIO.add_interrupt_callback(gpio, lambda g, value, event: got.put(event.seqno), edge="both",
                                with_event=True)
    try:
        for _ in range(edges // 2):  # the kernel queues them: no one reads the line yet
            for pull in ("pull-up", "pull-down"):
                chip.set_pull(gpio, pull)
                time.sleep(0.001)  # let the simulated interrupt run: two quick edges may merge
        RPIO.wait_for_interrupts(threaded=True)
        seqnos = [got.get(timeout=EVENT_TIMEOUT) for _ in range(checked)]
        assert seqnos == list(range(1, checked + 1))
    finally:
        RPIO.stop_waiting_for_interrupts()
        RPIO.del_interrupt_callback(gpio)
