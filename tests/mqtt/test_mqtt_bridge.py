"""`rpio mqtt` as a subprocess against a real Mosquitto, on a shared simulated board: buttons
pressed on the board reach the broker as states and events, commands through the broker reach
the outputs, bad commands change nothing and are answered on the error topic, SIGTERM publishes
offline and releases the pins, a broker restart in a command stream loses nothing."""

import json
import signal

import pytest

import RPIO
import RPIO.sim as sim
from mqtt_helpers import WAIT, write_config

pytest.importorskip("paho.mqtt.client", reason="needs paho-mqtt 2 (rpio[mqtt])")

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
    # the states at start may come before or after "online": they stay for the test's expect()
    watcher.expect(f"rpio/{device}/availability", b"online", keep_others=True)
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


def test_bad_commands_change_nothing_and_are_answered_on_the_error_topic(
        tmp_path, broker, shared_board, bridges, watchers):
    # a retained command, left on the broker before the bridge starts, is not obeyed (it would
    # act again at every reconnect): the bridge sees it flagged retained when it subscribes
    early = watchers(broker, [])
    early.publish("rpio/pi1/gpio/relay/set", b"1", retain=True).wait_for_publish(WAIT)
    watcher, bridge = start(tmp_path, broker, shared_board, bridges, watchers,
                            broker_extra="max_payload = 64\n")
    assert "retained" in json.loads(watcher.expect("rpio/pi1/error").payload)["error"]
    early.publish("rpio/pi1/gpio/relay/set", b"", retain=True).wait_for_publish(WAIT)
    watcher.expect("rpio/pi1/error")  # the empty payload that cleared it, refused too
    assert sim.level(27) == 0
    before = {p.gpio: (p.function, p.level) for p in sim.pin_states()}
    history = len(sim.history())
    bad = [
        ("rpio/pi1/gpio/relay/set", b"2", "is not 0, 1"),
        ("rpio/pi1/gpio/relay/set", b"maybe", "is not 0, 1"),
        ("rpio/pi1/gpio/relay/set", b"\xff\xfe", "not UTF-8"),
        ("rpio/pi1/gpio/relay/set", b"", "empty payload"),
        ("rpio/pi1/gpio/relay/set", b'{"value": 1', "not valid JSON"),
        ("rpio/pi1/gpio/relay/set", b'{"value": 1, "pulse_ms": -5}', "pulse_ms"),
        ("rpio/pi1/gpio/relay/set", b'{"value": 1, "colour": "red"}', "unknown key"),
        ("rpio/pi1/gpio/relay/set", b"1" * 65, "over the limit of 64"),
        ("rpio/pi1/gpio/button/set", b"1", "is an input"),
        ("rpio/pi1/gpio/nothing/set", b"1", "no pin named 'nothing'"),
    ]
    for topic, payload, reason in bad:
        watcher.publish(topic, payload)
        answer = json.loads(watcher.expect("rpio/pi1/error").payload)
        assert answer["topic"] == topic and reason in answer["error"], (payload, answer)
    # another device's command topic is not ours: the bridge never subscribed to it
    watcher.publish("rpio/pi2/gpio/relay/set", b"1")
    assert {p.gpio: (p.function, p.level) for p in sim.pin_states()} == before
    assert len(sim.history()) == history
    # and the bridge still serves
    watcher.publish("rpio/pi1/gpio/relay/set", b"1")
    watcher.expect("rpio/pi1/gpio/relay/state", b"1")
    assert sim.level(27) == 1
    assert not [m for m in watcher.seen if m.topic.startswith("rpio/pi2/") and m.topic != "rpio/pi2/gpio/relay/set"]
    code, err = bridge.terminate()
    assert code == 0 and "Traceback" not in err, err


def test_a_timed_pulse(tmp_path, broker, shared_board, bridges, watchers):
    watcher, bridge = start(tmp_path, broker, shared_board, bridges, watchers)
    watcher.expect("rpio/pi1/gpio/relay/state", b"0")
    watcher.publish("rpio/pi1/gpio/relay/set", b'{"value": "ON", "pulse_ms": 60}')
    watcher.expect("rpio/pi1/gpio/relay/state", b"1")
    watcher.expect("rpio/pi1/gpio/relay/state", b"0")
    rise, fall = sim.history(27)[-2:]
    assert (rise.level, fall.level) == (1, 0)
    assert fall.timestamp_ns - rise.timestamp_ns >= 60_000_000  # a timer never fires early
    bridge.terminate()


def test_a_broker_restart_in_the_middle_of_a_command_stream_loses_nothing(
        tmp_path, broker, shared_board, bridges, watchers):
    watcher, bridge = start(tmp_path, broker, shared_board, bridges, watchers)
    watcher.expect("rpio/pi1/gpio/relay/state", b"0")
    commander = watchers(broker, [], client_id="commander", persistent=True)
    first_change = len(sim.history(27))
    total = 60
    for index in range(total // 2):
        commander.publish("rpio/pi1/gpio/relay/set", b"%d" % ((index + 1) % 2))
    broker.restart()  # some of those are in flight, in the broker or with the bridge
    for index in range(total // 2, total):
        commander.publish("rpio/pi1/gpio/relay/set", b"%d" % ((index + 1) % 2))
    # every command toggles the relay: all of them arrived when the board shows `total` changes
    # (a QoS 1 duplicate may add changes; a lost command takes two away)
    watcher2 = watchers(broker, ["rpio/pi1/gpio/relay/state"])
    while len(sim.history(27)) - first_change < total:
        watcher2.expect("rpio/pi1/gpio/relay/state")
    assert len(sim.history(27)) - first_change >= total
    while sim.level(27) != 0:  # the stream's last word (0) decides, once its state is out
        watcher2.expect("rpio/pi1/gpio/relay/state", b"0")
    assert bridge.terminate()[0] == 0


def test_edges_while_the_broker_is_away_are_queued_then_states_republished(
        tmp_path, broker, shared_board, bridges, watchers):
    watcher = watchers(broker, ["rpio/#"], client_id="queue-watcher", persistent=True)
    config = write_config(tmp_path / "bridge.toml", broker, pins=PINS)
    bridge = bridges(config, shared_board)
    watcher.expect("rpio/pi1/gpio/button/state", b"0")
    button = sim.Button("b", 17)
    broker.stop()
    for _ in range(5):  # ten edges, while nobody can hear them
        button.press()
        button.release()
    button.press()  # and it stays pressed
    broker.start()
    seqnos = []
    while len(seqnos) < 11:
        seqnos.append(json.loads(watcher.expect("rpio/pi1/gpio/button/event").payload)["seqno"])
    assert seqnos == list(range(seqnos[0], seqnos[0] + 11))  # every edge, in order
    watcher.expect("rpio/pi1/gpio/button/state", b"1")  # and the state is right afterwards
    assert not [m for m in watcher.seen if m.topic == "rpio/pi1/error"]
    assert bridge.terminate()[0] == 0


def test_a_full_queue_drops_the_oldest_counts_and_reports_and_the_state_is_still_right(
        tmp_path, broker, shared_board, bridges, watchers):
    watcher = watchers(broker, ["rpio/#"], client_id="overflow-watcher", persistent=True)
    config = write_config(tmp_path / "bridge.toml", broker, pins=PINS, broker_extra="queue_limit = 4\n")
    bridge = bridges(config, shared_board)
    watcher.expect("rpio/pi1/gpio/button/state", b"0")
    button = sim.Button("b", 17)
    broker.stop()
    for _ in range(10):  # 20 edges: 40 messages (state + event each) into a queue of 4
        button.press()
        button.release()
    button.press()
    broker.start()
    report = json.loads(watcher.expect("rpio/pi1/error").payload)
    # 42 edge messages into a queue of 4: at least 38 dropped; the level checks at idle points
    # may add one state message per edge (when the level had already moved on), never more
    assert "overflow" in report["error"] and 42 - 4 <= report["dropped"] <= 42 + 21 - 4
    watcher.expect("rpio/pi1/gpio/button/state", b"1")
    assert bridge.terminate()[0] == 0


def test_states_are_republished_after_a_reconnect_and_sigterm_detaches(
        tmp_path, broker, shared_board, bridges, watchers):
    watcher = watchers(broker, ["rpio/#"], client_id="republish-watcher", persistent=True)
    config = write_config(tmp_path / "bridge.toml", broker, pins=PINS)
    bridge = bridges(config, shared_board)
    watcher.expect("rpio/pi1/gpio/lamp/state", b"1")
    broker.restart()  # nothing changes on the board meanwhile
    watcher.expect("rpio/pi1/availability", b"online", retained=False)
    for name, value in (("button", b"0"), ("door", b"0"), ("relay", b"0"), ("lamp", b"1")):
        watcher.expect(f"rpio/pi1/gpio/{name}/state", value, retained=False)
    assert bridge.proc.pid in sim.chip().attached_pids()
    assert bridge.terminate()[0] == 0
    assert bridge.proc.pid not in sim.chip().attached_pids()


def test_debounce_publishes_a_bouncing_press_once_and_settles_on_the_level(
        tmp_path, broker, shared_board, bridges, watchers):
    pins = PINS.replace('pull = "up"\ninverted = true', 'pull = "up"\ndebounce_ms = 30')
    watcher, bridge = start(tmp_path, broker, shared_board, bridges, watchers, pins=pins)
    watcher.expect("rpio/pi1/gpio/button/state", b"1")
    button = sim.Button("b", 17)
    button.press(bounce=(4, 5))  # 9 transitions within 5 ms, ending pressed (0)
    watcher.expect("rpio/pi1/gpio/button/state", b"0")
    button.release(bounce=(4, 5))
    watcher.expect("rpio/pi1/gpio/button/state", b"1")
    button.press()
    watcher.expect("rpio/pi1/gpio/button/state", b"0")
    states = [m.payload for m in watcher.seen if m.topic == "rpio/pi1/gpio/button/state"]
    # one change per press or release, bounces dropped (a bounce would alternate the values). An
    # unchanged retained state sent twice is not a change: a CI dry run once saw the state at
    # start twice ([1, 1, 0, 1, 0]; the cause is not found yet).
    changes = [v for i, v in enumerate(states) if i == 0 or v != states[i - 1]]
    assert changes == [b"1", b"0", b"1", b"0"], states
    assert bridge.terminate()[0] == 0


def test_a_flood_of_bad_commands_is_answered_at_a_bounded_rate(
        tmp_path, broker, shared_board, bridges, watchers):
    watcher, bridge = start(tmp_path, broker, shared_board, bridges, watchers)
    flood = 300
    for _ in range(flood):
        watcher.publish("rpio/pi1/gpio/relay/set", b"bogus")
    watcher.publish("rpio/pi1/gpio/relay/set", b"1")  # the good one behind the flood
    watcher.expect("rpio/pi1/gpio/relay/state", b"1")
    answers = [m for m in watcher.seen if m.topic == "rpio/pi1/error"]
    assert 1 <= len(answers) < flood  # 20 at once, then 20 a second
    for _ in range(100):  # once the bucket refills, the next answer says how many went unanswered
        watcher.publish("rpio/pi1/gpio/relay/set", b"bogus")
        try:
            answer = json.loads(watcher.expect("rpio/pi1/error", timeout=0.5).payload)
        except AssertionError:
            continue
        if "not answered" in answer["error"]:
            break
    else:
        raise AssertionError("no answer reported the unanswered commands")
    assert bridge.terminate()[0] == 0


def test_after_a_burst_that_overflows_the_edge_queues_the_state_is_the_level(
        tmp_path, broker, shared_board, bridges, watchers):
    watcher, bridge = start(tmp_path, broker, shared_board, bridges, watchers)
    watcher.expect("rpio/pi1/gpio/door/state", b"0")
    chip = sim.chip()
    for final in (1, 0):  # one of the two differs from the last edge the full queue kept
        bridge.proc.send_signal(signal.SIGSTOP)  # it cannot read: its edge queue fills up
        try:
            for _ in range(2000):  # 4,000 edges, far more than the queue holds: the rest dropped
                chip.drive(23, 1)
                chip.drive(23, 0)
            chip.drive(23, final)
        finally:
            bridge.proc.send_signal(signal.SIGCONT)
        last, quiet = None, 0
        while quiet < 20:  # until the states stop coming (a second without one) and say final
            try:
                last = watcher.expect("rpio/pi1/gpio/door/state", timeout=1.0).payload
                quiet = 0
            except AssertionError:
                quiet += 1
                if last == b"%d" % final:
                    break
        assert last == b"%d" % final and sim.level(23) == final
    code, err = bridge.terminate()
    assert code == 0
    assert "edges were lost in the kernel's queue" in err  # the loss is said, not hidden
