"""Home Assistant discovery checked field by field, a removed pin's entry removed; PWM and servo
outputs; the bridge over TLS with a password file, against a real Mosquitto."""

import json
import statistics
import time

import pytest

import RPIO
import RPIO.sim as sim
from mqtt_helpers import WAIT, Broker, write_config

pytest.importorskip("paho.mqtt.client", reason="needs paho-mqtt 2 (rpio[mqtt])")

PINS = """
[[input]]
name = "doorbell"
gpio = 17
pull = "up"
device_class = "sound"

[[output]]
name = "relay"
gpio = 27

[[pwm]]
name = "fan"
gpio = 18
frequency = 200
initial = 10

[[servo]]
name = "arm"
gpio = 12
"""


def test_discovery_payloads_field_by_field_and_a_removed_pin_removed(
        tmp_path, broker, shared_board, bridges, watchers):
    watcher = watchers(broker, ["homeassistant/#", "rpio/#"])
    config = write_config(tmp_path / "bridge.toml", broker, device="garage", pins=PINS)
    bridge = bridges(config, shared_board)
    entries = {}
    while len(entries) < 4:
        message = watcher.expect_prefix("homeassistant/")
        entries[message.topic] = json.loads(message.payload)
        assert message.retain == 0
    assert set(entries) == {"homeassistant/binary_sensor/garage/doorbell/config",
                            "homeassistant/switch/garage/relay/config",
                            "homeassistant/number/garage/fan/config",
                            "homeassistant/number/garage/arm/config"}
    device = {"identifiers": ["rpio_garage"], "name": "garage", "manufacturer": "RPIO",
              "model": RPIO.RPI_INFO["TYPE"], "sw_version": RPIO.VERSION}
    availability = [{"topic": "rpio/garage/availability", "payload_available": "online",
                     "payload_not_available": "offline"}]
    common = {"qos": 1, "device": device, "availability": availability,
              "origin": {"name": "RPIO", "sw_version": RPIO.VERSION}}
    assert entries["homeassistant/binary_sensor/garage/doorbell/config"] == dict(
        common, name="doorbell", unique_id="rpio_garage_doorbell", object_id="garage_doorbell",
        state_topic="rpio/garage/gpio/doorbell/state", payload_on="1", payload_off="0",
        device_class="sound")
    assert entries["homeassistant/switch/garage/relay/config"] == dict(
        common, name="relay", unique_id="rpio_garage_relay", object_id="garage_relay",
        state_topic="rpio/garage/gpio/relay/state", command_topic="rpio/garage/gpio/relay/set",
        payload_on="1", payload_off="0", state_on="1", state_off="0")
    assert entries["homeassistant/number/garage/fan/config"] == dict(
        common, name="fan", unique_id="rpio_garage_fan", object_id="garage_fan",
        state_topic="rpio/garage/gpio/fan/state", command_topic="rpio/garage/gpio/fan/set",
        min=0, max=100, step=1, unit_of_measurement="%", mode="slider")
    assert entries["homeassistant/number/garage/arm/config"] == dict(
        common, name="arm", unique_id="rpio_garage_arm", object_id="garage_arm",
        state_topic="rpio/garage/gpio/arm/state", command_topic="rpio/garage/gpio/arm/set",
        min=0, max=180, step=1, unit_of_measurement="°", mode="slider")
    watcher.expect("rpio/garage/gpio/fan/state", b"10")
    assert bridge.terminate()[0] == 0

    # the relay and the fan leave the configuration: their entries and states go, once
    smaller = PINS.replace('[[output]]\nname = "relay"\ngpio = 27\n', "").replace(
        '[[pwm]]\nname = "fan"\ngpio = 18\nfrequency = 200\ninitial = 10\n', "")
    config = write_config(tmp_path / "smaller.toml", broker, device="garage", pins=smaller)
    bridge = bridges(config, shared_board)
    cleared = set()
    while len(cleared) < 4:
        message = watcher.expect_prefix("", payload=b"")
        cleared.add(message.topic)
    assert cleared == {"homeassistant/switch/garage/relay/config", "rpio/garage/gpio/relay/state",
                       "homeassistant/number/garage/fan/config", "rpio/garage/gpio/fan/state"}
    assert bridge.terminate()[0] == 0
    # what a newcomer (Home Assistant starting) finds retained
    late = watchers(broker, ["homeassistant/#"])
    found = set()
    while len(found) < 2:
        found.add(late.expect_prefix("homeassistant/").topic)
    assert found == {"homeassistant/binary_sensor/garage/doorbell/config",
                     "homeassistant/number/garage/arm/config"}


def test_pwm_duty_and_servo_angle_from_commands(tmp_path, broker, shared_board, bridges,
                                                watchers):
    watcher = watchers(broker, ["rpio/#"])
    config = write_config(tmp_path / "bridge.toml", broker, pins=PINS)
    led = sim.LED("fanled", 18)
    arm = sim.Servo("servo", 12)
    bridge = bridges(config, shared_board)
    watcher.expect("rpio/pi1/gpio/fan/state", b"10")
    watcher.publish("rpio/pi1/gpio/fan/set", b"75")
    watcher.expect("rpio/pi1/gpio/fan/state", b"75")
    watcher.publish("rpio/pi1/gpio/arm/set", b'{"value": 135}')
    watcher.expect("rpio/pi1/gpio/arm/state", b"135")
    for payload in (b"101", b"-1", b"nan", b"fast"):
        watcher.publish("rpio/pi1/gpio/fan/set", payload)
        watcher.expect("rpio/pi1/error")
    # the servo part measures the pulses on the board: wait for a few, by the board's own clock
    deadline, first = time.monotonic() + WAIT, len(arm.pulses())
    while len(arm.pulses()) < first + 10:
        assert time.monotonic() < deadline, "the servo got no pulses"
        time.sleep(0.02)
    pulses = [angle for _t, _w, angle in arm.pulses()][-10:]
    assert abs(statistics.median(pulses) - 135) < 20  # software-timed pulses on a shared CPU
    assert 0.5 < led.brightness(sim.history(18)[-40].timestamp_ns) < 0.95  # ~75 % duty
    watcher.publish("rpio/pi1/gpio/fan/set", b"0")
    watcher.expect("rpio/pi1/gpio/fan/state", b"0")
    assert bridge.terminate()[0] == 0


@pytest.fixture
def tls_broker(tmp_path):
    directory = tmp_path / "broker"
    directory.mkdir()
    b = Broker(directory, tls=True, users={"pi": "s3cret pass", "watcher": "w"})
    yield b
    b.stop()


def test_over_tls_with_a_password_file(tmp_path, tls_broker, shared_board, bridges, watchers):
    (tmp_path / "password").write_text("s3cret pass\n")
    ca = tmp_path / "ca.crt"
    ca.write_bytes(open(tls_broker.ca, "rb").read())
    watcher = watchers(tls_broker, ["rpio/#"], ca=str(ca), username="watcher", password="w")
    extra = 'username = "pi"\npassword_file = "password"\n[broker.tls]\nca = "ca.crt"\n'
    config = write_config(tmp_path / "bridge.toml", tls_broker, pins=PINS, broker_extra=extra)
    config_text = open(config).read().replace('host = "127.0.0.1"', 'host = "localhost"')
    open(config, "w").write(config_text)
    bridge = bridges(config, shared_board)
    watcher.expect("rpio/pi1/availability", b"online", keep_others=True)
    watcher.expect("rpio/pi1/gpio/doorbell/state", b"1")
    sim.Button("bell", 17).press()
    watcher.expect("rpio/pi1/gpio/doorbell/state", b"0")
    assert bridge.terminate()[0] == 0
    watcher.expect("rpio/pi1/availability", b"offline")


def test_a_wrong_password_is_retried_and_logged_without_a_crash(tmp_path, tls_broker,
                                                                 shared_board, bridges):
    extra = 'username = "pi"\npassword = "wrong"\n[broker.tls]\nca = "ca.crt"\n'
    (tmp_path / "ca.crt").write_bytes(open(tls_broker.ca, "rb").read())
    config = write_config(tmp_path / "bridge.toml", tls_broker, pins=PINS, broker_extra=extra)
    text = open(config).read()
    open(config, "w").write(text.replace('"127.0.0.1"', '"localhost"'))
    bridge = bridges(config, shared_board)
    lines = []
    while sum("refused the connection" in line for line in lines) < 2:  # retried
        line = bridge.proc.stderr.readline()
        assert line, "".join(lines)
        lines.append(line)
    code, err = bridge.terminate()
    assert code == 0 and "Traceback" not in err
