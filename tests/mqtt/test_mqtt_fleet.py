"""The fleet demo (examples/mqtt_fleet.py) as a user runs it: three simulated Pis, each a process
on its own shared board, on one Mosquitto; every button pressed, every state seen, every LED
switched through the broker, every Pi stopped with SIGTERM and seen going offline."""

import os
import subprocess
import sys

import pytest
from mqtt_helpers import WAIT

pytest.importorskip("paho.mqtt.client", reason="needs paho-mqtt 2 (rpio[mqtt])")


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_fleet_demo_on_three_simulated_pis(broker, watchers):
    watcher = watchers(broker, ["fleet/#"])
    result = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "mqtt_fleet.py"),
                             "--devices", "3", "--port", str(broker.port)],
                            capture_output=True, text=True, timeout=WAIT * 6)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"3 simulated Pis online on 127.0.0.1:{broker.port}"
    assert lines[1].startswith("pressed 3 buttons: every state arrived")
    assert lines[2] == "switched 3 LEDs on through the broker: 3 boards show GPIO 27 high"
    assert lines[3:] == ["stopped: 3/3 exited cleanly and went offline", "fleet OK"]
    # what the broker saw, independently of the script
    offline = set()
    while len(offline) < 3:
        offline.add(watcher.expect_prefix("fleet/", payload=b"offline").topic)
    assert offline == {f"fleet/pi0{i}/availability" for i in range(3)}
    seen = {(m.topic, m.payload) for m in watcher.seen}
    for device in ("pi00", "pi01", "pi02"):
        assert (f"fleet/{device}/gpio/button/state", b"1") in seen
        assert (f"fleet/{device}/gpio/led/state", b"1") in seen
    # the boards are gone with the fleet
    assert not [b for b in os.listdir("/dev/shm") if "fleet-" in b and f"-{os.getpid()}-" in b]
