"""The configuration is checked whole before anything connects: every error names the file and
the key. Command payloads are parsed strictly. `rpio mqtt --check` as a subprocess."""

import os
import subprocess
import sys

import pytest

from RPIO.mqtt import ConfigError, load_config, topics
from RPIO.mqtt.topics import CommandError, parse_command

GOOD = """
device = "greenhouse"
[broker]
host = "mqtt.local"
prefix = "home/gpio"
username = "pi"
password = "x"
session_expiry = 600
[discovery]
prefix = "ha"
[[input]]
name = "window"
board = 11
pull = "up"
edge = "falling"
debounce_ms = 20
inverted = true
[[output]]
name = "pump"
gpio = 27
initial = 1
pulse_ms = 500
[[pwm]]
name = "fan"
gpio = 18
frequency = 25000
[[servo]]
name = "vent"
gpio = 13
initial = 45
"""


def write(tmp_path, text, name="c.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_good_configuration(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.device == "greenhouse" and config.base == "home/gpio/greenhouse"
    assert config.broker.port == 1883 and config.broker.client_id == "rpio-greenhouse"
    assert config.broker.session_expiry == 600 and config.discovery_prefix == "ha"
    window, pump, fan, vent = config.pins
    assert (window.kind, window.board, window.gpio, window.pull, window.edge) == (
        "input", 11, None, "up", "falling")
    assert window.debounce_ms == 20 and window.inverted
    assert (pump.initial, pump.pulse_ms) == (1, 500)
    assert (fan.frequency, fan.initial) == (25000, 0)
    assert (vent.initial, vent.has_initial) == (45, True)


@pytest.mark.parametrize("change, key, words", [
    (lambda t: t.replace('device = "greenhouse"', ""), "device", "is missing"),
    (lambda t: t.replace('"greenhouse"', '"green house"'), "device", "letters, digits"),
    (lambda t: t.replace('pull = "up"', 'pull = "sideways"'), "input[0].pull",
     "'sideways' is not one of up, down, off"),
    (lambda t: t.replace('edge = "falling"', "edge = 3"), "input[0].edge", "must be a string"),
    (lambda t: t.replace("debounce_ms = 20", "debounce_ms = -1"), "input[0].debounce_ms",
     "out of range"),
    (lambda t: t.replace("inverted = true", 'inverted = "yes"'), "input[0].inverted",
     "true or false"),
    (lambda t: t.replace("board = 11", "board = 11\ngpio = 4"), "input[0].gpio",
     "exactly one of gpio"),
    (lambda t: t.replace("gpio = 27", "gpio = 18"), "pwm[0].gpio", "used by output[0]"),
    (lambda t: t.replace('name = "fan"', 'name = "pump"'), "pwm[0].name", "used by output[0]"),
    (lambda t: t.replace('name = "fan"', 'name = "fan/+"'), "pwm[0].name", "letters, digits"),
    (lambda t: t.replace("initial = 1", "initial = 2"), "output[0].initial", "out of range"),
    (lambda t: t.replace("pulse_ms = 500", "pulse_ms = 500\ncolour = 1"), "output[0]",
     "unknown key(s) colour"),
    (lambda t: t.replace('host = "mqtt.local"', 'host = "mqtt.local"\nport = 70000'),
     "broker.port", "out of range"),
    (lambda t: t.replace('username = "pi"\n', ""), "broker.username", "needs a username"),
    (lambda t: t.replace('password = "x"', 'password_file = "nope"'), "broker.password_file",
     "no such file"),
    (lambda t: t.replace('prefix = "home/gpio"', 'prefix = "home/#"'), "broker.prefix",
     "not a topic prefix"),
    (lambda t: t.replace("[discovery]", "[discovery]\nenabled = 1"), "discovery.enabled",
     "true or false"),
    (lambda t: t + '[broker.tls]\nca = "missing.pem"\n', "broker.tls.ca", "no such file"),
    (lambda t: t.replace("initial = 45", "initial = 181"), "servo[0].initial", "out of range"),
    (lambda t: "speed = 3\n" + t, "(top level)", "unknown key(s) speed"),
])
def test_every_error_names_the_file_and_the_key(tmp_path, change, key, words):
    path = write(tmp_path, change(GOOD))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}"), message
    assert words in message, message


def test_not_toml_no_pins_and_a_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "device = "))
    with pytest.raises(ConfigError, match="configures no pins"):
        load_config(write(tmp_path, 'device = "x"\n'))
    with pytest.raises(ConfigError, match="cannot read it"):
        load_config(str(tmp_path / "absent.toml"))


def test_a_password_file_is_read_relative_to_the_config(tmp_path):
    (tmp_path / "secret").write_text("hunter2\n")
    config = load_config(write(tmp_path, GOOD.replace('password = "x"',
                                                      'password_file = "secret"')))
    assert config.broker.password == "hunter2"


@pytest.mark.parametrize("payload, expected", [
    (b"1", (1, None)), (b"0", (0, None)), (b"ON", (1, None)), (b"off", (0, None)),
    (b"True", (1, None)), (b" false ", (0, None)), (b'{"value": 1}', (1, None)),
    (b'{"value": "on", "pulse_ms": 500}', (1, 500)), (b'{"value": true}', (1, None)),
])
def test_switch_payloads(payload, expected):
    assert tuple(parse_command("output", payload, max_pulse_ms=1000)) == expected


@pytest.mark.parametrize("payload, words", [
    (b"2", "is not 0, 1"), (b"yes", "is not 0, 1"), (b"", "empty"), (b"\xc3", "UTF-8"),
    (b"[1]", "is not 0, 1"), (b'{"value": 0, "pulse_ms": 5}', "pulse is an ON command"),
    (b'{"value": 1, "pulse_ms": 5000}', "from 1 to 1000"), (b'{"pulse_ms": 5}', '"value"'),
    (b'{"value": 1, "pulse_ms": true}', "pulse_ms"),
])
def test_bad_switch_payloads(payload, words):
    with pytest.raises(CommandError, match=words):
        parse_command("output", payload, max_pulse_ms=1000)


def test_number_payloads():
    assert parse_command("pwm", b"12.5", low=0, high=100).value == 12.5
    assert parse_command("servo", b'{"value": 90}', low=0, high=180).value == 90
    for payload in (b"inf", b"nan", b"101", b"-0.1", b"true", b'{"value": "x"}',
                    b'{"value": 1, "pulse_ms": 3}'):
        with pytest.raises(CommandError):
            parse_command("pwm", payload, low=0, high=100)
    assert topics.format_number(12.5) == "12.5" and topics.format_number(75.0) == "75"


def test_command_topics_outside_the_device_are_not_commands():
    base = "rpio/pi1"
    assert topics.command_name(base, "rpio/pi1/gpio/relay/set") == "relay"
    for topic in ("rpio/pi2/gpio/relay/set", "rpio/pi1/gpio/relay/state", "rpio/pi1/gpio//set",
                  "rpio/pi1/gpio/a/b/set", "rpio/pi1x/gpio/relay/set", "other/rpio/pi1/gpio/r/set"):
        assert topics.command_name(base, topic) is None, topic


def run_cli(*args):
    env = dict(os.environ, RPIO_BACKEND="sim")
    env.pop("RPIO_SIM_SHARED", None)
    return subprocess.run([sys.executable, "-m", "RPIO.cli", "mqtt", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli_check_resolves_pins_against_the_board_before_connecting(tmp_path):
    good = GOOD.replace('host = "mqtt.local"', 'host = "127.0.0.1"\nport = 9')
    result = run_cli("--check", write(tmp_path, good))
    assert result.returncode == 0, result.stderr
    assert "OK (4 pins, device greenhouse" in result.stdout
    # header pin 1 is 3V3; header pin 11 (the window) is GPIO 17, which the servo wants too
    for text, key, words in ((good.replace("board = 11", "board = 1"), "input[0].board",
                              "not a GPIO"),
                             (good.replace("gpio = 13", "gpio = 17"), "servo[0].gpio",
                              "GPIO 17 is used by input[0]")):
        path = write(tmp_path, text, "bad.toml")
        result = run_cli(path)  # not even --check: it fails before connecting
        assert result.returncode == 1, result.stderr
        last = result.stderr.splitlines()[-1]
        assert last.startswith(f"rpio mqtt: {path}: {key}") and words in last, result.stderr
    text = good.replace("board = 11", "board = 13").replace("gpio = 27", "gpio = 5")
    assert run_cli("--check", write(tmp_path, text, "ok.toml")).returncode == 0
    result = run_cli(write(tmp_path, "device = 1\n", "type.toml"))
    assert result.returncode == 1 and "device: must be a string" in result.stderr

