"""`rpio mqtt` as a subprocess against a real Mosquitto, on a shared simulated board: buttons
pressed on the board reach the broker as states and events, commands through the broker reach
the outputs, bad commands change nothing and are answered on the error topic, SIGTERM publishes
offline and releases the pins, a broker restart in a command stream loses nothing."""

import json

import RPIO
import RPIO.sim as sim
from conftest import WAIT, write_config

PINS = """
[[input]]
name = "button"
gpio = 17
pull = "up"
inverted = true

[[input]]
name = "door"
board = 16
pull = "down"
edge = "rising"

[[output]]
name = "relay"
gpio = 27
initial = 0

[[output]]
name = "lamp"
gpio = 22
initial = 1
inverted = true
"""


def start(tmp_path, broker, shared_board, bridges, watchers, pins=PINS, device="pi1", **kw):
    watcher = watchers(broker, ["rpio/#"])
    config = write_config(tmp_path / "bridge.toml", broker, device=device, pins=pins, **kw)
    bridge = bridges(config, shared_board)
    watcher.expect(f"rpio/{device}/availability", b"online")
    return watcher, bridge


def test_states_at_start_edges_to_broker_commands_to_pins_and_sigterm(
        tmp_path, broker, shared_board, bridges, watchers):
    watcher, bridge = start(tmp_path, broker, shared_board, bridges, watchers)
    # states at start: the button is released (pull-up, 1, inverted: 0), the lamp's initial 1
    watcher.expect("rpio/pi1/gpio/button/state", b"0")
    watcher.expect("rpio/pi1/gpio/lamp/state", b"1")
    assert sim.level(22) == 0 and sim.level(27) == 0  # lamp inverted: logical 1 drives 0
    button = sim.Button("b", 17)
    button.press()
    message = watcher.expect("rpio/pi1/gpio/button/state", b"1")
    assert message.retain == 0 or message.retain is False  # live, not from the retained store
    event = json.loads(watcher.expect("rpio/pi1/gpio/button/event").payload)
    pressed_at = sim.history(17)[-1]
    assert event["value"] == 1 and event["timestamp_ns"] == pressed_at.timestamp_ns
    assert isinstance(event["seqno"], int)
    button.release()
    watcher.expect("rpio/pi1/gpio/button/state", b"0")
    # the door is header pin 16: GPIO 23 (pull-down, reads 0); only rising edges are events
    assert sim.level(23) == 0
    sim.drive(23, 1)
    watcher.expect("rpio/pi1/gpio/door/state", b"1")
    assert json.loads(watcher.expect("rpio/pi1/gpio/door/event").payload)["value"] == 1
    sim.drive(23, 0)
    watcher.expect("rpio/pi1/gpio/door/state", b"0")  # the state follows both edges
    sim.drive(23, 1)
    watcher.expect("rpio/pi1/gpio/door/state", b"1")
    rising = [m for m in watcher.seen if m.topic == "rpio/pi1/gpio/door/event"]
    watcher.expect("rpio/pi1/gpio/door/event")
    assert len(rising) == 1  # no event for the falling edge in between
    for payload, level in ((b"1", 1), (b"OFF", 0), (b"on", 1), (b"false", 0), (b"true", 1),
                           (b'{"value": 0}', 0)):
        watcher.publish("rpio/pi1/gpio/relay/set", payload)
        watcher.expect("rpio/pi1/gpio/relay/state", str(level).encode())
        assert sim.level(27) == level, payload
    code, err = bridge.terminate()
    assert code == 0, err
    watcher.expect("rpio/pi1/availability", b"offline")
    # the pins are released: the outputs are inputs again, the lines free for another process
    states = {p.gpio: p for p in sim.pin_states()}
    assert states[27].function == "IN" and states[22].function == "IN"
    seen = []
    RPIO.add_interrupt_callback(17, lambda gpio, value: seen.append(value), edge="both")
    RPIO.cleanup_interrupts()
