"""The chardev backend's logic against a fake kernel at the ioctl layer (chardev_fake.py): which
requests, configurations and values reach the kernel for each RPIO call, how the backend is
chosen, and its errors. The same calls against the real kernel: tests/kernel/test_kernel_chardev.py."""

import os
import sys
import threading
import warnings

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import rpio_core  # noqa: E402
from chardev_fake import FakeKernel  # noqa: E402
from rpio_interrupts import uapi  # noqa: E402
from rpio_interrupts.uapi import LineBusyError  # noqa: E402

import RPIO  # noqa: E402
from RPIO import Exceptions, _backend, _chardev  # noqa: E402
from RPIO._gpio import _state  # noqa: E402

F = uapi


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    fake = FakeKernel(tmp_path / "dev")
    fake.install(monkeypatch)
    (tmp_path / "proc").mkdir()
    (tmp_path / "sys").mkdir()
    return fake


@pytest.fixture
def chip(kernel, tmp_path):
    """A 16-line chip with a kernel driver on line 9 (an SPI chip select), RPIO on it."""
    path = kernel.add_chip(16, "fake-gpio", hogs={9: ("spi0 CS0", "output-high")})
    board = _backend.identify({"RPIO_ROOT": str(tmp_path), "RPIO_BACKEND": "chardev"})
    assert board.backend == "chardev" and board.chip_path == path
    board.open()
    _state.use_board(board)
    yield kernel.chip(path)
    RPIO.cleanup() if _state.directions else None
    RPIO.sim.use_board("c03111")  # closes the chardev driver's requests


def last(kernel, what):
    return [c for c in kernel.calls if c[0] == what][-1]


def test_setup_output_is_one_request_with_direction_bias_and_level(chip, kernel):
    RPIO.setup(4, RPIO.OUT, initial=RPIO.HIGH)
    assert [c[0] for c in kernel.calls] == ["request"]  # one ioctl: no glitch through LOW
    _, flags, bits = kernel.calls[0]
    assert flags == F.FLAG_OUTPUT | F.FLAG_BIAS_DISABLED and bits == 1
    line = chip.lines[4]
    assert line.used and line.consumer == "RPIO" and line.value == 1
    RPIO.output(4, 0)
    assert chip.lines[4].value == 0 and last(kernel, "set_values") == ("set_values", 0, 0)
    assert RPIO.input(4) == 0
    RPIO.output(4, True)
    assert RPIO.input(4) == 1
    RPIO.output([4], [0])
    assert chip.lines[4].value == 0


def test_input_pulls_are_biases_and_read_back(chip, kernel):
    RPIO.setup(5, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    assert last(kernel, "request")[1] == F.FLAG_INPUT | F.FLAG_BIAS_PULL_UP
    assert RPIO.input(5) == 1 and RPIO.get_pullupdn(5) == RPIO.PUD_UP
    RPIO.set_pullupdn(5, RPIO.PUD_DOWN)  # the same request, reconfigured with its direction
    assert last(kernel, "set_config")[1] == F.FLAG_INPUT | F.FLAG_BIAS_PULL_DOWN
    assert RPIO.input(5) == 0 and RPIO.get_pullupdn(5) == RPIO.PUD_DOWN
    assert len([c for c in kernel.calls if c[0] == "request"]) == 1
    RPIO.setup(5, RPIO.IN)  # PUD_OFF: the bias disabled
    assert last(kernel, "set_config")[1] == F.FLAG_INPUT | F.FLAG_BIAS_DISABLED
    kernel.drive(os.path.join(kernel.dev_dir, "gpiochip0"), 5, 1)
    assert RPIO.input(5) == 1


def test_cleanup_resets_and_releases(chip, kernel):
    RPIO.setup(6, RPIO.OUT, initial=1)
    RPIO.cleanup(6)
    assert last(kernel, "set_config")[1] == F.FLAG_INPUT | F.FLAG_BIAS_DISABLED
    assert not chip.lines[6].used
    with pytest.raises(RuntimeError, match="setup\\(\\) the GPIO channel first"):
        RPIO.input(6)
    RPIO.setup(6, RPIO.OUT)  # requestable again: nothing of ours holds it
    assert chip.lines[6].used
    RPIO.cleanup()
    assert not any(line.used for i, line in enumerate(chip.lines) if i != 9)


def test_output_on_an_output_keeps_its_level_when_setup_again(chip, kernel):
    RPIO.setup(7, RPIO.OUT, initial=1)
    RPIO.setup(7, RPIO.OUT)  # RPi.GPIO leaves the latch: the level stays HIGH
    assert chip.lines[7].value == 1 and last(kernel, "set_config")[2] == 1
    RPIO.setup(7, RPIO.IN)
    RPIO.setup(7, RPIO.OUT)
    assert chip.lines[7].value == 0


def test_a_line_a_kernel_driver_holds(chip):
    assert RPIO.gpio_function(9) == RPIO.SPI
    with pytest.warns(RuntimeWarning, match="already in use"), \
            pytest.raises(LineBusyError, match="GPIO 9 is busy: held by 'spi0 CS0'"):
        RPIO.setup(9, RPIO.OUT)
    assert 9 not in _state.directions
    with pytest.raises(LineBusyError, match="spi0 CS0"):
        RPIO.forceinput(9)


@pytest.mark.parametrize(("consumer", "category"), [
    ("spi0 CS1", "SPI"), ("i2c-1 SDA", "I2C"), ("pwm-fan", "HARD_PWM"), ("serial0", "SERIAL"),
    ("ttyAMA0", "SERIAL"), ("gpio-keys", "UNKNOWN")])
def test_consumer_categories(consumer, category):
    assert _chardev.consumer_category(consumer) == category


def test_gpio_function_follows_the_line_info(chip, kernel):
    assert RPIO.gpio_function(3) == RPIO.IN
    RPIO.setup(3, RPIO.OUT)
    assert RPIO.gpio_function(3) == RPIO.OUT
    other = uapi.request_lines(os.path.join(kernel.dev_dir, "gpiochip0"), [2], consumer="other",
                               direction="output")
    try:  # held by another consumer with no category: its direction
        assert RPIO.gpio_function(2) == RPIO.OUT
        assert RPIO.pin_info(3).function == "OUT"
    finally:
        other.close()


def test_setup_then_events_use_the_same_request(chip, kernel):
    path = os.path.join(kernel.dev_dir, "gpiochip0")
    RPIO.setup(12, RPIO.IN, pull_up_down=RPIO.PUD_DOWN)
    fd = _state.driver.fd(12)
    got = threading.Event()
    RPIO.add_event_detect(12, RPIO.RISING, callback=lambda channel: got.set())
    assert len([c for c in kernel.calls if c[0] == "request"]) == 1  # no second request
    assert last(kernel, "set_config")[1] == F.FLAG_INPUT | F.FLAG_BIAS_PULL_DOWN | F.FLAG_EDGE_RISING
    assert _state.driver.fd(12) == fd
    RPIO.set_pullupdn(12, RPIO.PUD_OFF)  # keeps the edge flags
    assert last(kernel, "set_config")[1] == F.FLAG_INPUT | F.FLAG_BIAS_DISABLED | F.FLAG_EDGE_RISING
    kernel.drive(path, 12, 1)
    assert got.wait(5)
    assert RPIO.event_detected(12)
    with pytest.raises(RuntimeError, match="Conflicting edge detection"):
        RPIO.add_event_detect(12, RPIO.FALLING)
    RPIO.remove_event_detect(12)
    assert last(kernel, "set_config")[1] == F.FLAG_INPUT | F.FLAG_BIAS_DISABLED  # edges off
    assert chip.lines[12].used and RPIO.input(12) == 1  # still the input setup() made
    with pytest.raises(RuntimeError, match="edge detection"):
        RPIO.add_event_detect(12, RPIO.BOTH)
        RPIO.setup(12, RPIO.OUT)
    RPIO.remove_event_detect(12)
    RPIO.cleanup(12)
    assert not chip.lines[12].used


def test_interrupt_callbacks_on_a_line_not_set_up(chip, kernel):
    path = os.path.join(kernel.dev_dir, "gpiochip0")
    got = []
    done = threading.Event()

    def callback(gpio, value):
        got.append((gpio, value))
        done.set()

    RPIO.add_interrupt_callback(13, callback, edge="falling", pull_up_down=RPIO.PUD_UP,
                                threaded_callback=True)
    try:
        assert last(kernel, "request")[1] == F.FLAG_INPUT | F.FLAG_EDGE_FALLING | F.FLAG_BIAS_PULL_UP
        RPIO.wait_for_interrupts(threaded=True)
        kernel.drive(path, 13, 1)  # pulled up already: no edge
        RPIO.set_pullupdn(13, RPIO.PUD_OFF)  # now the outside world shows: 1
        kernel.drive(path, 13, 0)
        assert done.wait(5)
        assert got[0][0] == 13
    finally:
        RPIO.stop_waiting_for_interrupts()
        RPIO.del_interrupt_callback(13)
    assert chip.lines[13].used  # RPIO 0.10: the line stays an input of this process
    assert RPIO.input(13) == 0
    RPIO.cleanup()
    assert not chip.lines[13].used


def test_a_second_holder_is_ebusy_naming_the_holder(chip, kernel):
    RPIO.setup(10, RPIO.IN)
    with pytest.raises(LineBusyError, match="held by 'RPIO'"):
        uapi.request_lines(os.path.join(kernel.dev_dir, "gpiochip0"), [10])


def test_forceinput_forceoutput_set_pullupdn_on_lines_not_set_up(chip, kernel):
    kernel.drive(os.path.join(kernel.dev_dir, "gpiochip0"), 11, 1)
    assert RPIO.forceinput(11) == 1
    assert last(kernel, "request")[1] == 0  # as-is: nothing changed on the line
    assert not chip.lines[11].used  # and released again
    RPIO.forceoutput(14, 1)  # requested as an output at that level, held until cleanup
    assert chip.lines[14].used and chip.lines[14].value == 1
    RPIO.forceoutput(14, 0)
    assert chip.lines[14].value == 0
    RPIO.set_pullupdn(15, RPIO.PUD_UP)  # a bias needs a direction: an input, held
    assert last(kernel, "request")[1] == F.FLAG_INPUT | F.FLAG_BIAS_PULL_UP
    RPIO.setup(1, RPIO.IN)
    with pytest.raises(RuntimeError, match="no output latch"):
        RPIO.forceoutput(1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        RPIO.cleanup()
    assert not chip.lines[14].used and not chip.lines[15].used and not chip.lines[1].used


def test_a_chip_that_goes_away(chip, kernel):
    RPIO.setup(4, RPIO.OUT)
    RPIO.setup(5, RPIO.IN)
    chip.gone = True
    with pytest.raises(OSError, match="the chip has gone away"):
        RPIO.output(4, 1)
    with pytest.raises(OSError, match="the chip has gone away"):
        RPIO.input(5)
    RPIO.cleanup()  # releases what it can, and says so in the log
    assert _state.directions == {}


def test_board_numbering_off_a_pi_says_why(chip):
    with pytest.raises(RuntimeError, match="BOARD numbering needs a board table .* Linux GPIO "
                                           "chip gpiochip0 \\(fake-gpio\\)"):
        RPIO.setmode(RPIO.BOARD)
    with pytest.raises(ValueError, match="The channel sent is invalid"):
        RPIO.setup(16, RPIO.IN)  # BCM numbers are the chip's 16 line offsets


def test_alternate_functions_are_not_for_the_character_device(chip):
    with pytest.raises(ValueError, match="no alternate functions"):
        _state.driver.set_function(3, rpio_core.ALT0)


def test_the_fast_path_is_bound_to_the_request_fds(chip):
    RPIO.setup(4, RPIO.OUT)
    state = rpio_core.fastpath_state()
    assert state["driver"] is _state.driver and state["directions"][4] == 0
    assert _state.driver.fd(4) >= 0
    RPIO.cleanup(4)
    assert _state.driver.fd(4) == -1  # let go before the fd was closed


# -- choosing the backend -----------------------------------------------------------------------
def fake_pi(root, revision=0xC03111, gpiomem=True):
    (root / "proc/device-tree/system").mkdir(parents=True)
    (root / "proc/device-tree/system/linux,revision").write_bytes(revision.to_bytes(4, "big"))
    if gpiomem:
        (root / "dev" / "gpiomem").write_bytes(bytes(4096))


def test_auto_on_a_pi_without_registers_takes_its_chip(kernel, tmp_path, caplog):
    (tmp_path / "proc").rmdir()
    fake_pi(tmp_path, gpiomem=False)
    kernel.add_chip(4, "other")
    path = kernel.add_chip(58, "pinctrl-bcm2711")
    with caplog.at_level("INFO", logger="RPIO"):
        board = _backend.identify({"RPIO_ROOT": str(tmp_path)})
    assert board.backend == "chardev" and board.chip_path == path and board.on_pi
    assert board.info.model == "Pi 4 Model B" and board.board_mode_error is None
    assert [r.getMessage() for r in caplog.records if "character device" in r.getMessage()] == [
        f"RPIO on Pi 4 Model B (revision c03111) through its GPIO character device {path}: "
        f"the registers cannot be opened ({tmp_path}/dev/gpiomem: No such file or directory)"]


def test_auto_on_a_pi_with_registers_keeps_them(kernel, tmp_path):
    (tmp_path / "proc").rmdir()
    fake_pi(tmp_path)
    kernel.add_chip(58, "pinctrl-bcm2711")
    assert _backend.identify({"RPIO_ROOT": str(tmp_path)}).backend == "registers"
    board = _backend.identify({"RPIO_ROOT": str(tmp_path), "RPIO_BACKEND": "chardev"})
    assert board.backend == "chardev" and board.on_pi


def test_auto_off_a_pi(kernel, tmp_path):
    env = {"RPIO_ROOT": str(tmp_path)}
    assert _backend.identify(env).backend == "sim"  # no gpiochip: the simulated board
    sim_path = kernel.add_chip(8, "gpio-sim.0-node0")
    sysdev = tmp_path / "sys/devices/platform/gpio-sim.0/gpiochip0"
    sysdev.mkdir(parents=True)
    (tmp_path / "sys/bus/gpio/devices").mkdir(parents=True)
    (tmp_path / "sys/bus/gpio/devices/gpiochip0").symlink_to(sysdev)
    assert _backend.identify(env).backend == "sim"  # test chips never count in auto mode
    board = _backend.identify({**env, "RPIO_BACKEND": "chardev"})  # unless asked for
    assert board.chip_path == sim_path and not board.on_pi
    real = kernel.add_chip(32, "gpio-bank-a")
    board = _backend.identify(env)
    assert board.backend == "chardev" and board.chip_path == real
    assert board.info.gpio_count == 32 and board.info.model == "Linux GPIO chip gpiochip1 (gpio-bank-a)"
    assert _backend.identify({**env, "RPIO_CHIP": "gpio-sim.0-node0"}).chip_path == sim_path
    assert _backend.identify({**env, "RPIO_CHIP": "gpiochip1"}).chip_path == real
    with pytest.raises(Exceptions.BoardAccessError, match="RPIO_CHIP='nope'.*found no GPIO chip"):
        _backend.identify({**env, "RPIO_CHIP": "nope"})


def test_chardev_asked_for_with_no_chip(kernel, tmp_path):
    with pytest.raises(Exceptions.BoardAccessError, match="RPIO_BACKEND=chardev: no GPIO chip in "
                                                          ".* can be opened \\(there are none at all\\)"):
        _backend.identify({"RPIO_ROOT": str(tmp_path), "RPIO_BACKEND": "chardev"})


def test_no_permission_names_the_device_and_the_group(kernel, tmp_path, monkeypatch):
    path = kernel.add_chip(8)
    board = _backend.identify({"RPIO_ROOT": str(tmp_path), "RPIO_BACKEND": "chardev"})

    def refuse(path):
        raise uapi._permission_error(path, PermissionError(13, "Permission denied"), "open")

    monkeypatch.setattr(uapi, "Chip", refuse)
    with pytest.raises(Exceptions.BoardAccessError, match=f"no permission to open {path}.*group"):
        board.open()
    with pytest.raises(Exceptions.BoardAccessError, match=f"no permission to open {path}.*group"):
        _backend.identify({"RPIO_ROOT": str(tmp_path), "RPIO_BACKEND": "chardev", "RPIO_CHIP": path})


def test_rpi_info_and_pwm_off_a_pi(chip):
    info = RPIO.RPI_INFO
    assert info["P1_REVISION"] == 0 and info["TYPE"] == "Linux GPIO chip gpiochip0 (fake-gpio)"
    RPIO.setup(3, RPIO.OUT)
    pwm = RPIO.PWM(3, 200)  # software timing through the line request: DMA needs registers
    pwm.start(50)
    values = {chip.lines[3].value}
    deadline = __import__("time").monotonic() + 5
    while len(values) < 2 and __import__("time").monotonic() < deadline:
        values.add(chip.lines[3].value)
    pwm.stop()
    assert values == {0, 1}


def test_the_event_provider_on_a_line_not_held(chip, kernel):
    """bias 'as-is' leaves the line's bias alone; RPIO's interrupt API asks for 'disabled' with
    its default PUD_OFF, as on the register backend."""
    handle = _state.driver.events.request(2, edge="both")
    assert last(kernel, "request")[1] == F.FLAG_INPUT | F.FLAG_EDGE_RISING | F.FLAG_EDGE_FALLING
    assert chip.lines[2].used
    with pytest.raises(LineBusyError, match="detects its edges already"):
        _state.driver.events.request(2, edge="rising")
    handle.close()
    handle.close()  # idempotent
    assert chip.lines[2].used  # an input of this process from then on (RPIO 0.10)
    RPIO.add_interrupt_callback(3, lambda gpio, value: None)
    try:
        assert last(kernel, "request")[1] == (F.FLAG_INPUT | F.FLAG_EDGE_RISING | F.FLAG_EDGE_FALLING
                                              | F.FLAG_BIAS_DISABLED)
    finally:
        RPIO.del_interrupt_callback(3)


def test_a_chip_with_more_lines_than_the_fast_path(kernel, tmp_path):
    path = kernel.add_chip(96, "wide-gpio")
    board = _backend.identify({"RPIO_ROOT": str(tmp_path), "RPIO_BACKEND": "chardev"})
    board.open()
    _state.use_board(board)
    try:
        RPIO.setup(90, RPIO.OUT, initial=1)  # served by the Python path
        assert kernel.chip(path).lines[90].value == 1
        RPIO.output(90, 0)
        assert RPIO.input(90) == 0 and kernel.chip(path).lines[90].value == 0
        RPIO.cleanup()
        assert not kernel.chip(path).lines[90].used
    finally:
        RPIO.sim.use_board("c03111")


def test_setup_of_a_list_is_all_or_nothing(chip, kernel):
    with pytest.raises(LineBusyError, match="GPIO 9 is busy: held by 'spi0 CS0'"):
        RPIO.setup([4, 5, 9], RPIO.OUT)
    assert not chip.lines[4].used and not chip.lines[5].used and _state.directions == {}
    RPIO.setup([4, 5], RPIO.OUT, initial=1)
    assert chip.lines[4].value == chip.lines[5].value == 1
