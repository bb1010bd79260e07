"""RPi.GPIO 0.7.1's rules, one by one (shared/reference/rpi-gpio-api.md §1), on the simulated board.

Every error is checked for its exact built-in type and message; RPIO raises subclasses that also
carry RPIO 0.10's exception names, so both `except` styles work.
"""

import re

import pytest

import RPIO
import RPIO.sim
from RPIO import Exceptions

IN_USE = (
    "This channel is already in use, continuing anyway.  "
    "Use GPIO.setwarnings(False) to disable warnings."
)
NOTHING = (
    "No channels have been set up yet - nothing to clean up!  "
    "Try cleaning up at the end of your program instead!"
)
INVALID = "The channel sent is invalid on a Raspberry Pi"


def raises(kind, message):
    return pytest.raises(kind, match="^" + re.escape(message) + "$")


# -- constants and names -------------------------------------------------------------------------
RPIGPIO_NAMES = {
    "BCM", "BOARD", "BOTH", "FALLING", "HARD_PWM", "HIGH", "I2C", "IN", "LOW", "OUT", "PUD_DOWN",
    "PUD_OFF", "PUD_UP", "RISING", "SERIAL", "SPI", "UNKNOWN", "RPI_INFO", "RPI_REVISION",
    "VERSION", "cleanup", "getmode", "gpio_function", "input", "output", "setmode", "setup",
    "setwarnings",
}  # fmt: skip


def test_every_rpigpio_io_name_exists():
    assert RPIGPIO_NAMES <= set(RPIO.__all__)
    for name in RPIGPIO_NAMES:
        assert getattr(RPIO, name) is not None or name == "RPI_INFO"


def test_constant_values():
    assert (RPIO.HIGH, RPIO.LOW, RPIO.OUT, RPIO.IN) == (1, 0, 0, 1)
    assert (RPIO.BOARD, RPIO.BCM) == (10, 11)
    assert (RPIO.PUD_OFF, RPIO.PUD_DOWN, RPIO.PUD_UP) == (20, 21, 22)
    assert (RPIO.RISING, RPIO.FALLING, RPIO.BOTH) == (31, 32, 33)
    assert (RPIO.SERIAL, RPIO.SPI, RPIO.I2C, RPIO.HARD_PWM, RPIO.UNKNOWN) == (40, 41, 42, 43, -1)


# -- setmode / getmode ---------------------------------------------------------------------------
def test_bcm_is_the_default_and_one_explicit_change_is_allowed():
    assert RPIO.getmode() == RPIO.BCM
    RPIO.setmode(RPIO.BOARD)  # the implicit default may be replaced once, as the spec does
    assert RPIO.getmode() == RPIO.BOARD
    RPIO.setmode(RPIO.BOARD)  # the same mode twice is fine
    with raises(ValueError, "A different mode has already been set!"):
        RPIO.setmode(RPIO.BCM)


def test_setmode_errors():
    with raises(ValueError, "An invalid mode was passed to setmode()") as caught:
        RPIO.setmode(12)
    assert isinstance(caught.value, Exceptions.InvalidModeException)
    with raises(TypeError, "'NoneType' object cannot be interpreted as an integer"):
        RPIO.setmode(None)
    with raises(TypeError, "setmode() takes no keyword arguments"):
        RPIO.setmode(mode=RPIO.BCM)
    RPIO.setmode(RPIO.BCM)
    with raises(ValueError, "A different mode has already been set!"):
        RPIO.setmode(99)  # checked before the mode's validity, as in RPi.GPIO


def test_board_mode_on_a_compute_module(board):
    board("0011")  # Compute Module 1
    with raises(RuntimeError, "BOARD numbering system not applicable on compute module"):
        RPIO.setmode(RPIO.BOARD)
    assert RPIO.getmode() == RPIO.BCM


def test_getmode_ignores_arguments():
    assert RPIO.getmode(1, 2, x=3) == RPIO.BCM


# -- channel validation --------------------------------------------------------------------------
@pytest.mark.parametrize("channel", [-1, 58, 100])
def test_invalid_bcm_channels(channel):
    with raises(ValueError, INVALID) as caught:
        RPIO.setup(channel, RPIO.IN)
    assert isinstance(caught.value, Exceptions.InvalidChannelException)


@pytest.mark.parametrize("pin", [0, 1, 2, 4, 6, 9, 14, 17, 20, 25, 30, 34, 39, 41])
def test_invalid_board_pins_on_a_40_pin_header(pin):
    RPIO.setmode(RPIO.BOARD)
    with raises(ValueError, INVALID):
        RPIO.setup(pin, RPIO.IN)


def test_a_26_pin_board_has_no_pin_27(board):
    board("000e")
    RPIO.setmode(RPIO.BOARD)
    RPIO.setup(26, RPIO.IN)
    with raises(ValueError, INVALID):
        RPIO.setup(29, RPIO.IN)


def test_huge_channels_are_truncated_like_a_c_int():
    RPIO.setup(2**40 + 17, RPIO.OUT)  # (int)PyLong_AsLong: 2**40 + 17 -> 17
    assert RPIO.gpio_function(17) == RPIO.OUT
    with raises(OverflowError, "Python int too large to convert to C long"):
        RPIO.setup(2**70, RPIO.IN)


# -- setup ---------------------------------------------------------------------------------------
def test_setup_channel_types():
    with raises(ValueError, "Channel must be an integer or list/tuple of integers"):
        RPIO.setup("17", RPIO.IN)
    with raises(ValueError, "Channel must be an integer"):
        RPIO.setup([17, "18"], RPIO.IN)
    RPIO.setup(True, RPIO.IN)  # a bool is an int: GPIO 1


def test_setup_check_order():
    with raises(ValueError, "An invalid direction was passed to setup()"):
        RPIO.setup(17, 5, pull_up_down=99, initial=7)
    with raises(ValueError, "pull_up_down parameter is not valid for outputs"):
        RPIO.setup(17, RPIO.OUT, pull_up_down=RPIO.PUD_UP, initial=7)
    with raises(ValueError, "initial parameter is not valid for inputs"):
        RPIO.setup(17, RPIO.IN, pull_up_down=99, initial=1)
    with raises(
        ValueError,
        "Invalid value for pull_up_down - should be either PUD_OFF, PUD_UP or PUD_DOWN",
    ) as caught:
        RPIO.setup(17, RPIO.IN, pull_up_down=99)
    assert isinstance(caught.value, Exceptions.InvalidPullException)


def test_setup_keyword_names_and_argument_errors():
    RPIO.setup(channel=17, direction=RPIO.OUT, initial=RPIO.HIGH)
    RPIO.setup(channel=18, direction=RPIO.IN, pull_up_down=RPIO.PUD_DOWN)
    with raises(TypeError, "function missing required argument 'direction' (pos 2)"):
        RPIO.setup(17)
    with raises(TypeError, "function missing required argument 'channel' (pos 1)"):
        RPIO.setup(pin=17, direction=RPIO.IN)  # CPython reports the missing one first
    with raises(TypeError, "'pin' is an invalid keyword argument for this function"):
        RPIO.setup(17, direction=RPIO.IN, pin=17)
    with raises(TypeError, "'NoneType' object cannot be interpreted as an integer"):
        RPIO.setup(17, RPIO.OUT, initial=None)
    with raises(TypeError, "'str' object cannot be interpreted as an integer"):
        RPIO.setup(17, "out")


def test_setup_output_initial_level_and_ignored_initial():
    RPIO.setup(17, RPIO.OUT, initial=RPIO.HIGH)
    assert RPIO.input(17) == 1
    RPIO.setup(17, RPIO.OUT, initial=7)  # anything but 0/1 is silently ignored
    assert RPIO.input(17) == 1
    RPIO.setup(17, RPIO.OUT, initial=RPIO.LOW)
    assert RPIO.input(17) == 0


def test_initial_level_is_written_before_the_pin_becomes_an_output(fresh_board):
    RPIO.setup(17, RPIO.IN, pull_up_down=RPIO.PUD_OFF)
    fresh_board.clear_history()
    RPIO.setup(17, RPIO.OUT, initial=RPIO.HIGH)
    assert [(gpio, level) for _, gpio, level in fresh_board.history()] == [(17, 1)]


def test_setup_lists_and_tuples():
    RPIO.setup([17, 18], RPIO.OUT)
    RPIO.setup((22, 23), RPIO.IN, pull_up_down=RPIO.PUD_UP)
    assert [RPIO.gpio_function(g) for g in (17, 18, 22, 23)] == [0, 0, 1, 1]
    assert RPIO.input(22) == RPIO.input(23) == 1


def test_a_bad_list_changes_no_pin(fresh_board):
    """RPi.GPIO sets up the channels before a bad one; RPIO checks the whole list first."""
    before = [fresh_board.pin_state(g) for g in (17, 18)]
    with raises(ValueError, INVALID):
        RPIO.setup([17, 18, 99], RPIO.OUT)
    assert [fresh_board.pin_state(g) for g in (17, 18)] == before
    with raises(RuntimeError, "You must setup() the GPIO channel first"):
        RPIO.input(17)


def test_setup_pulls_reach_the_chip(fresh_board):
    RPIO.setup(17, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    assert RPIO.input(17) == 1
    RPIO.setup(17, RPIO.IN, pull_up_down=RPIO.PUD_DOWN)
    assert RPIO.input(17) == 0
    assert RPIO.get_pullupdn(17) == RPIO.PUD_DOWN


# -- warnings ------------------------------------------------------------------------------------
def test_warning_for_a_pin_in_an_alternate_function(fresh_board):
    RPIO.forceoutput(4, 0)
    fresh_board.write32(0x00, 4 << 12)  # GPIO 4 to ALT0 (GPCLK0), as another program would
    with pytest.warns(RuntimeWarning) as record:
        RPIO.setup(4, RPIO.IN)
    assert [str(w.message) for w in record] == [IN_USE]
    assert record[0].filename == __file__  # attributed to the caller, like RPi.GPIO's stacklevel 1


def test_warning_for_an_output_set_up_by_another_process(fresh_board):
    fresh_board.write32(0x04, 1 << 21)  # GPIO 17 to output behind RPIO's back
    with pytest.warns(RuntimeWarning, match=re.escape(IN_USE)):
        RPIO.setup(17, RPIO.OUT)
    RPIO.setup(17, RPIO.OUT)  # our own output now: no warning (warnings are errors here)


def test_warning_for_pulls_on_i2c_pins():
    with pytest.warns(RuntimeWarning, match="A physical pull up resistor is fitted on this channel!"):
        RPIO.setup(2, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    RPIO.setup(3, RPIO.IN)  # no pull: no warning


def test_rev1_warns_on_gpio_0_and_1_and_compute_modules_never(board):
    board("0002")
    with pytest.warns(RuntimeWarning, match="A physical pull up"):
        RPIO.setup(0, RPIO.IN, pull_up_down=RPIO.PUD_DOWN)
    board("0011")
    RPIO.setup(2, RPIO.IN, pull_up_down=RPIO.PUD_UP)  # compute module: silent


def test_setwarnings_false_silences_everything(fresh_board):
    RPIO.setwarnings(False)
    fresh_board.write32(0x04, 1 << 21)
    RPIO.setup(17, RPIO.OUT)
    RPIO.setup(2, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    RPIO.cleanup(5)
    with raises(TypeError, "'str' object cannot be interpreted as an integer"):
        RPIO.setwarnings("no")


# -- output --------------------------------------------------------------------------------------
def test_output_values_any_nonzero_is_high(fresh_board):
    RPIO.setup(17, RPIO.OUT)
    for value, level in [(1, 1), (0, 0), (2, 1), (-1, 1), (True, 1), (False, 0), (2**40, 0)]:
        RPIO.output(17, value)
        assert fresh_board.level(17) == level, value


def test_output_lists_and_broadcast(fresh_board):
    RPIO.setup([17, 18, 27], RPIO.OUT)
    RPIO.output([17, 18, 27], [1, 0, 1])
    assert [fresh_board.level(g) for g in (17, 18, 27)] == [1, 0, 1]
    RPIO.output((17, 18, 27), 1)
    assert [fresh_board.level(g) for g in (17, 18, 27)] == [1, 1, 1]
    RPIO.output([17, 18], (False, False))
    assert [fresh_board.level(g) for g in (17, 18)] == [0, 0]
    RPIO.output([], [])
    RPIO.output([], 1)


@pytest.mark.parametrize(
    "channel, value",
    [(17, (0, 0)), ([17, 18], []), (17, [1]), ([17, 18], [1, 0, 1]), ((17,), [])],
)
def test_output_count_mismatch(channel, value):
    RPIO.setup([17, 18], RPIO.OUT)
    with raises(RuntimeError, "Number of channels != number of values"):
        RPIO.output(channel, value)


def test_output_type_errors():
    RPIO.setup([17, 18], RPIO.OUT)
    with raises(ValueError, "Channel must be an integer or list/tuple of integers"):
        RPIO.output(17.0, 1)
    with raises(ValueError, "Value must be an integer/boolean or a list/tuple of integers/booleans"):
        RPIO.output(17, "1")
    with raises(ValueError, "Value must be an integer/boolean or a list/tuple of integers/booleans"):
        RPIO.output(17, None)
    with raises(ValueError, "Value must be an integer or boolean"):
        RPIO.output([17, 18], [1, "0"])
    with raises(ValueError, "Channel must be an integer"):
        RPIO.output([17, None], 1)
    with raises(TypeError, "output() takes no keyword arguments"):
        RPIO.output(channel=17, value=1)
    with raises(TypeError, "function takes exactly 2 arguments (1 given)"):
        RPIO.output(17)


def test_output_needs_an_output_set_up_by_this_process(fresh_board):
    with raises(RuntimeError, "The GPIO channel has not been set up as an OUTPUT") as caught:
        RPIO.output(17, 1)
    assert isinstance(caught.value, Exceptions.WrongDirectionException)
    RPIO.setup(18, RPIO.IN)
    with raises(RuntimeError, "The GPIO channel has not been set up as an OUTPUT"):
        RPIO.output(18, 1)
    RPIO.setup(17, RPIO.OUT)
    with raises(RuntimeError, "The GPIO channel has not been set up as an OUTPUT"):
        RPIO.output([17, 18], [1, 1])
    assert fresh_board.level(17) == 0  # nothing written: the list was checked first


def test_output_invalid_channel():
    with raises(ValueError, INVALID):
        RPIO.output(60, 1)


# -- input ---------------------------------------------------------------------------------------
def test_input_returns_int_not_bool(fresh_board):
    RPIO.setup(17, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    value = RPIO.input(17)
    assert value == 1 and type(value) is int
    fresh_board.drive(17, 0)
    assert RPIO.input(17) == 0 and type(RPIO.input(17)) is int


def test_input_on_an_output_reads_the_pin():
    RPIO.setup(17, RPIO.OUT, initial=RPIO.HIGH)
    assert RPIO.input(17) == 1


def test_input_errors():
    with raises(RuntimeError, "You must setup() the GPIO channel first") as caught:
        RPIO.input(17)
    assert isinstance(caught.value, Exceptions.WrongDirectionException)
    with raises(ValueError, INVALID):
        RPIO.input(99)
    with raises(TypeError, "'list' object cannot be interpreted as an integer"):
        RPIO.input([17])
    with raises(TypeError, "function takes exactly 1 argument (2 given)"):
        RPIO.input(17, 18)
    with raises(TypeError, "input() takes no keyword arguments"):
        RPIO.input(channel=17)
    with raises(OverflowError, "signed integer is greater than maximum"):
        RPIO.input(2**40)


# -- cleanup -------------------------------------------------------------------------------------
def test_cleanup_resets_pins_to_inputs_without_pull(fresh_board):
    RPIO.setup(17, RPIO.OUT, initial=RPIO.HIGH)
    RPIO.setup(18, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    RPIO.cleanup()
    assert RPIO.gpio_function(17) == RPIO.IN
    assert fresh_board.pin_state(18).pull == 0  # rpio_core.PULL_OFF
    with raises(RuntimeError, "You must setup() the GPIO channel first"):
        RPIO.input(17)


def test_cleanup_of_one_channel_or_a_list():
    RPIO.setup([17, 18, 22], RPIO.OUT)
    RPIO.cleanup(17)
    RPIO.cleanup(channel=[18])
    RPIO.output(22, 1)
    for gpio in (17, 18):
        with raises(RuntimeError, "The GPIO channel has not been set up as an OUTPUT"):
            RPIO.output(gpio, 1)


def test_cleanup_resets_an_explicit_mode():
    RPIO.setmode(RPIO.BOARD)
    RPIO.setup(11, RPIO.OUT)
    RPIO.cleanup()
    assert RPIO.getmode() == RPIO.BCM  # back to RPIO's default, as after import
    RPIO.setmode(RPIO.BOARD)  # and one explicit choice is allowed again


def test_cleanup_warns_when_nothing_was_set_up():
    with pytest.warns(RuntimeWarning) as record:
        RPIO.cleanup()
    assert [str(w.message) for w in record] == [NOTHING]
    RPIO.setup(17, RPIO.OUT)
    with pytest.warns(RuntimeWarning, match=re.escape(NOTHING)):
        RPIO.cleanup(18)  # never set up
    with raises(ValueError, INVALID):
        RPIO.cleanup(99)  # once the registers are mapped, the channel is validated
    RPIO.cleanup(17)


def test_cleanup_argument_errors():
    RPIO.setup(17, RPIO.OUT)
    with raises(ValueError, "Channel must be an integer or list/tuple of integers"):
        RPIO.cleanup("17")
    with raises(ValueError, "Channel must be an integer"):
        RPIO.cleanup([17, 1.5])
    RPIO.cleanup(17)


def test_list_elements_are_checked_in_rpigpio_order(fresh_board):
    """Element by element: the channel's type, (output) the value's type, then the channel."""
    RPIO.setup(16, RPIO.OUT)
    with raises(ValueError, INVALID):
        RPIO.cleanup([1000, "x"])
    with raises(ValueError, "Value must be an integer or boolean"):
        RPIO.output([16, 99], [1, "x"])
    with raises(ValueError, INVALID):
        RPIO.output([16, 99], [1, 1])
    with raises(ValueError, INVALID):
        RPIO.output([99, "x"], [1, 1])  # element 0 fails whole before element 1 is looked at
    with raises(ValueError, "Channel must be an integer"):
        RPIO.output([16, "x"], [1, 1])
    with raises(OverflowError, "Python int too large to convert to C long"):
        RPIO.output([2**70, 16], [1, None])
    assert fresh_board.pin_state(16).level == 0  # and a failing list call changed nothing
    RPIO.cleanup(16)


def test_a_cleanup_list_before_the_registers_are_mapped_only_warns():
    """RPi.GPIO looks at cleanup()'s list only once its registers are mapped; a fresh process."""
    import subprocess
    import sys

    source = (
        "import warnings, RPIO\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    RPIO.cleanup([27, [0], 1, 1])\n"
        "    RPIO.cleanup(99)\n"
        "print([str(w.message)[:30] for w in caught])\n"
        "try:\n"
        "    RPIO.cleanup('x')\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    out = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True,
                         check=True, timeout=60).stdout.splitlines()
    assert out == [repr([NOTHING[:30]] * 2), "Channel must be an integer or list/tuple of integers"]


# -- gpio_function -------------------------------------------------------------------------------
def test_gpio_function_categories(fresh_board):
    def set_alt(gpio, alt):
        codes = [4, 5, 6, 7, 3, 2]  # FSEL codes of ALT0..ALT5
        reg = (gpio // 10) * 4
        shift = (gpio % 10) * 3
        value = fresh_board.read32(reg) & ~(7 << shift)
        fresh_board.write32(reg, value | (codes[alt] << shift))

    expected = {
        (2, 0): RPIO.I2C, (3, 0): RPIO.I2C, (28, 0): RPIO.I2C, (8, 0): RPIO.SPI,
        (12, 0): RPIO.HARD_PWM, (14, 0): RPIO.SERIAL, (4, 0): RPIO.UNKNOWN,
        (18, 5): RPIO.HARD_PWM, (14, 5): RPIO.UNKNOWN, (20, 4): RPIO.SPI, (22, 4): RPIO.UNKNOWN,
        (17, 1): RPIO.UNKNOWN,
    }  # fmt: skip
    for (gpio, alt), category in expected.items():
        set_alt(gpio, alt)
        assert RPIO.gpio_function(gpio) == category, (gpio, alt)
    assert RPIO.gpio_function(5) == RPIO.IN  # never set up: works anyway
    RPIO.setup(6, RPIO.OUT)
    assert RPIO.gpio_function(6) == RPIO.OUT


def test_gpio_function_follows_the_numbering_mode():
    RPIO.setup(14, RPIO.OUT)
    RPIO.setmode(RPIO.BOARD)
    assert RPIO.gpio_function(8) == RPIO.OUT  # pin 8 is GPIO 14
    with raises(ValueError, INVALID):
        RPIO.gpio_function(1)


# -- board data exposed as RPi.GPIO does -----------------------------------------------------------
def test_rpi_info_and_revision(board):
    assert RPIO.RPI_INFO == {
        "P1_REVISION": 3, "REVISION": "c03111", "TYPE": "Pi 4 Model B",
        "MANUFACTURER": "Sony UK", "PROCESSOR": "BCM2711", "RAM": "4G",
    }  # fmt: skip
    assert RPIO.RPI_REVISION == 3
    board("0002")
    assert RPIO.RPI_REVISION == 1 and RPIO.RPI_INFO["TYPE"] == "Model B"
    assert RPIO.RPI_INFO["REVISION"] == "2"
    assert RPIO.RPI_REVISION_HEX == "0002"  # RPIO's: the code as /proc/cpuinfo shows it


def test_version_strings():
    assert RPIO.VERSION == RPIO.version()[0]
    assert RPIO.VERSION.split(".")[0] == "2"
