"""Issue 15: RPIO 0.10's public names and a typical 0.10 program; GPIO.PWM as a real class that
unittest.mock can patch, while RPIO 0.10's RPIO.PWM module API keeps working."""

import inspect
import math
import os
import subprocess
import sys
import textwrap
import warnings
from unittest import mock

import pytest
from rpio_pwm.gpio_pwm import MAX_DRIVEN_FREQUENCY, _waveform

import RPIO
import RPIO.PWM
from RPIO import PWM

# RPIO 0.10.0's values (source/RPIO/__init__.py of that release)
GPIO_LIST_R1_010 = (0, 1, 4, 7, 8, 9, 10, 11, 14, 15, 17, 18, 21, 22, 23, 24, 25)
GPIO_LIST_R2_010 = (2, 3, 4, 7, 8, 9, 10, 11, 14, 15, 17, 18, 22, 23, 24, 25, 27, 28, 29, 30, 31)
PIN_LIST_010 = (3, 5, 7, 8, 10, 11, 12, 13, 15, 16, 18, 19, 21, 22, 23, 24, 26,
                3 | 5 << 8, 4 | 5 << 8, 5 | 5 << 8, 6 | 5 << 8)


@pytest.fixture(autouse=True)
def pwm_cleanup():
    yield
    PWM.cleanup()


# -- RPIO 0.10's names ------------------------------------------------------------------------
def test_rpio_010_module_level_names(board):
    assert RPIO.GPIO_LIST_R1 == GPIO_LIST_R1_010
    assert RPIO.GPIO_LIST_R2 == GPIO_LIST_R2_010
    assert RPIO.PIN_LIST == PIN_LIST_010 and RPIO.HEADER_P5 == 5 << 8
    assert RPIO.version() == (RPIO.VERSION, RPIO.VERSION_GPIO)
    assert {"RPI_INFO", "RPI_REVISION", "RPI_REVISION_HEX", "VERSION_GPIO", "MODEL_DATA",
            "GPIO_LIST_R1", "GPIO_LIST_R2", "PIN_LIST", "_GPIO", "PWM"} <= set(dir(RPIO))
    # 0.10's MODEL_DATA keys and its sysinfo() formula, on 0.10's boards and on today's
    assert list(RPIO.MODEL_DATA) == ["2", "3", "4", "5", "6", "7", "8", "9", "d", "e", "f"]
    for code in ("000e", "0002", "a02082", "c03111"):
        board(code)
        entry = RPIO.MODEL_DATA[RPIO.RPI_REVISION_HEX.lstrip("0")]
        assert RPIO.sysinfo() == (RPIO.RPI_REVISION_HEX,) + entry
    assert RPIO.MODEL_DATA["e"][:3] == ("B", "2.0", 512)
    for unknown in ("a", "0e", "zz", "", 14):
        assert unknown not in RPIO.MODEL_DATA
        with pytest.raises(KeyError):
            RPIO.MODEL_DATA[unknown]


def test_rpio_010_gpio_extension_names():
    from RPIO import Exceptions

    assert RPIO._GPIO.InvalidChannelException is Exceptions.InvalidChannelException
    assert RPIO._GPIO.WrongDirectionException is Exceptions.WrongDirectionException
    assert RPIO._GPIO.setup is RPIO.setup and RPIO._GPIO.forceinput is RPIO.forceinput
    assert RPIO._GPIO.VERSION_GPIO == RPIO.VERSION_GPIO
    assert RPIO._GPIO.RPI_REVISION == RPIO.RPI_REVISION == 3
    assert "RPI_REVISION_HEX" in dir(RPIO._GPIO)
    with pytest.raises(RPIO._GPIO.InvalidChannelException):  # as 0.10's tests_gpio.py catches it
        RPIO.setup(60, RPIO.IN)
    with pytest.raises(RPIO._GPIO.InvalidChannelException):
        RPIO.channel_to_gpio(-1)


def test_setwarnings_as_rpio_010_and_rpigpio_take_it(board):
    board("000e")  # GPIO 2 has a pull-up fitted: setup() warns about a pull on it
    RPIO.setwarnings(enabled=False)
    RPIO.setup(2, RPIO.IN, pull_up_down=RPIO.PUD_UP)  # the fixture turns a warning into an error
    RPIO.setwarnings()  # 0.10: no argument means on
    with pytest.warns(RuntimeWarning, match="physical pull up resistor"):
        RPIO.setup(2, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    RPIO.setwarnings(False)
    RPIO.setup(2, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    with pytest.raises(TypeError, match=r"^setwarnings\(\) takes no keyword arguments$"):
        RPIO.setwarnings(flag=False)
    with pytest.raises(TypeError, match=r"^function takes exactly 1 argument \(2 given\)$"):
        RPIO.setwarnings(True, False)


TYPICAL_010_PROGRAM = """
    import socket, threading
    import RPIO
    from RPIO import PWM

    RPIO.setwarnings(False)
    print("version", RPIO.VERSION, RPIO.VERSION_GPIO, RPIO.RPI_REVISION, RPIO.sysinfo())

    pins = RPIO.GPIO_LIST_R1 if RPIO.RPI_REVISION == 1 else RPIO.GPIO_LIST_R2
    assert [RPIO.channel_to_gpio(pin) for pin in pins] == list(pins)
    try:
        RPIO.setup(60, RPIO.IN)
    except RPIO._GPIO.InvalidChannelException as error:
        print("invalid", error)

    RPIO.setup(17, RPIO.OUT, initial=RPIO.LOW)
    RPIO.output(17, True)
    print("output", RPIO.forceinput(17), RPIO.gpio_function(17) == RPIO.OUT)
    RPIO.setup(14, RPIO.IN)
    RPIO.set_pullupdn(14, RPIO.PUD_UP)
    print("pulled", RPIO.input(14))

    events = []
    got = threading.Event()
    def gpio_callback(gpio_id, value):
        events.append((gpio_id, value))
        got.set()
    def socket_callback(sock, message):
        sock.send(b"echo: " + message)
    RPIO.add_interrupt_callback(24, gpio_callback, edge="rising", pull_up_down=RPIO.PUD_DOWN)
    RPIO.add_tcp_callback(0, socket_callback)
    RPIO.wait_for_interrupts(threaded=True)
    RPIO.sim.drive(24, 1)
    assert got.wait(10)
    print("interrupt", events[0])
    RPIO.stop_waiting_for_interrupts()
    RPIO.del_interrupt_callback(24)

    servo = PWM.Servo()
    servo.set_servo(18, 1200)
    print("servo", PWM.is_setup(), PWM.get_pulse_incr_us())
    servo.stop_servo(18)
    PWM.cleanup()
    RPIO.cleanup()
    print("done")
"""


def test_a_typical_rpio_010_program_runs():
    env = dict(os.environ, RPIO_BACKEND="sim", RPIO_SIM_BOARD="000e")
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(TYPICAL_010_PROGRAM)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"version {RPIO.VERSION} {RPIO.VERSION_GPIO} 2 ('000e', 'B', '2.0', 512")
    assert lines[1:] == [
        "invalid The channel sent is invalid on a Raspberry Pi", "output 1 True", "pulled 1",
        "interrupt (24, 1)", "servo 1 10", "done",
    ]


# -- GPIO.PWM: a real class ---------------------------------------------------------------------
def test_gpio_pwm_is_a_real_class_and_the_010_module_api_stays():
    assert inspect.isclass(RPIO.PWM) and RPIO.PWM.__name__ == "PWM"
    assert RPIO.PWM.__module__ == "RPIO" and sys.modules["RPIO.PWM"] is RPIO.PWM
    assert PWM is RPIO.PWM
    from RPIO.PWM import Servo, setup

    assert Servo is RPIO.PWM.Servo and setup is RPIO.PWM.setup
    namespace = {}
    exec("from RPIO.PWM import *", namespace)
    assert {"Servo", "setup", "cleanup", "add_channel_pulse", "DELAY_VIA_PWM"} <= set(namespace)
    assert set(RPIO.PWM.__all__) >= {"Servo", "setup", "init_channel", "is_setup"}
    assert str(inspect.signature(RPIO.PWM)) == "(channel, frequency, /)"
    assert str(inspect.signature(RPIO.PWM.start)) == "(self, dutycycle, /)"


def test_mock_patches_gpio_pwm_methods_as_with_rpigpio(fresh_board):
    """What RPi.GPIO users' test suites do: patch the class's methods, run their code."""

    def code_under_test(GPIO):  # noqa: N803 - as user code names it
        GPIO.setup(12, GPIO.OUT)
        pwm = GPIO.PWM(12, 100)
        pwm.start(0)
        pwm.ChangeDutyCycle(40)
        pwm.stop()

    fresh_board.clear_history()
    with mock.patch.object(RPIO.PWM, "start") as start, \
            mock.patch.object(RPIO.PWM, "ChangeDutyCycle", autospec=True) as duty:
        code_under_test(RPIO)
    start.assert_called_once_with(0)
    assert duty.call_count == 1 and duty.call_args.args[1:] == (40,)
    assert [e.level for e in fresh_board.history() if e.gpio == 12] == []  # nothing ran
    assert RPIO.PWM.start is not start and "start" in vars(RPIO.PWM)  # restored

    with mock.patch("RPIO.PWM.ChangeFrequency") as change:  # by dotted name, too
        RPIO.setup(13, RPIO.OUT)
        RPIO.PWM(13, 50).ChangeFrequency(60)
    change.assert_called_once_with(60)

    with mock.patch.object(RPIO.PWM, "stop", autospec=True):
        RPIO.setup(16, RPIO.OUT)
        p = RPIO.PWM(16, 50)
        with pytest.raises(TypeError):  # autospec holds the real signature: stop(self, /, *args)
            p.stop(x=1)

    with mock.patch.object(RPIO, "PWM") as cls:  # the whole class
        RPIO.PWM(17, 50).start(5)
    cls.assert_called_once_with(17, 50)


# -- PWM's arguments (RPi.GPIO 0.7.1's parsing; the differential tests compare the texts) -----------
def test_pwm_arguments_are_parsed_before_any_check():
    with pytest.raises(TypeError, match="^must be real number, not str$"):
        RPIO.PWM(27, "x")  # not set up: RPi.GPIO still complains about the frequency first
    with pytest.raises(TypeError, match=r"^function takes exactly 2 arguments \(1 given\)$"):
        RPIO.PWM(27)
    RPIO.setup(27, RPIO.OUT)
    p = RPIO.PWM(27, 100, foo=1)  # RPi.GPIO ignores keywords here
    with pytest.raises(TypeError, match="^must be real number, not NoneType$"):
        RPIO.PWM(27, None)  # before "already exists"
    with pytest.raises(TypeError, match=r"^PWM\.start\(\) takes no keyword arguments$"):
        p.start(dutycycle=50)
    with pytest.raises(TypeError, match=r"^function takes exactly 1 argument \(0 given\)$"):
        p.ChangeDutyCycle()
    p.start(100.000001)  # a C float: 100.0
    with pytest.raises(ValueError, match="^frequency must be greater than 0.0$"):
        p.ChangeFrequency(1e-50)  # a C float: 0.0
    p.ChangeFrequency(math.nan)  # accepted, as RPi.GPIO does
    p.ChangeDutyCycle(math.nan)
    p.stop(1)  # RPi.GPIO's stop() ignores positional arguments
    with pytest.raises(TypeError, match=r"^PWM\.stop\(\) takes no keyword arguments$"):
        p.stop(now=True)


def test_what_the_engine_is_asked_for_when_the_numbers_are_not():
    assert _waveform(math.nan, 50.0, None) == (1000.0, 50.0)  # RPi.GPIO's default, 1 kHz
    assert _waveform(math.inf, math.nan, 200.0) == (200.0, 0.0)  # last finite; NaN duty: low
    assert _waveform(1e9, 10.0, None) == (MAX_DRIVEN_FREQUENCY, 10.0)
    assert _waveform(50.0, 100.0, 20.0) == (50.0, 100.0)


def test_a_failed_pwm_leaves_the_running_one_alone(fresh_board):
    """RPi.GPIO's destructor of the half-built object stops the pin's PWM; RPIO's does not."""
    RPIO.setup(22, RPIO.OUT)
    p = RPIO.PWM(22, 100)
    p.start(50)
    with pytest.raises(RuntimeError, match="^A PWM object already exists for this GPIO channel$"):
        RPIO.PWM(22, 100)
    assert RPIO.PWM._live.get(RPIO.channel_to_gpio(22)) is p and "running" in repr(p)
    p.stop()
    q = RPIO.PWM(22, 100)  # a stopped object lets a new one take the pin...
    with pytest.raises(RuntimeError, match="^A PWM object already exists for this GPIO channel$"):
        p.start(10)  # ...and cannot drive the new one's pin (RPi.GPIO silently would)
    q.stop()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del p, q
