"""A fleet without hardware: N simulated Raspberry Pis on one MQTT broker.

Each Pi is its own process running `rpio mqtt` on its own shared simulated board (a button on
GPIO 17, an LED on GPIO 27). This script presses every Pi's button and watches the states
arrive on the broker, then switches every LED on through the broker and checks each board's
pin, then stops the fleet with SIGTERM and watches each Pi go offline. docs/fleet.md.

    pip install 'rpio[mqtt]'; apt-get install mosquitto      # or any broker: --host/--port
    python examples/mqtt_fleet.py --devices 10

Without --port it starts a private Mosquitto on a free loopback port for the run.
"""

import argparse
import os
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import paho.mqtt.client as mqtt

from RPIO.mqtt.fleet import SimulatedPi, close_all, device_config

WAIT = 30.0


def private_broker(directory):
    """Debian's mosquitto on a free loopback port; returns (process, port)."""
    if shutil.which("mosquitto") is None:
        sys.exit("no broker: install mosquitto, or give --host/--port of one")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conf = os.path.join(directory, "mosquitto.conf")
    with open(conf, "w") as handle:
        handle.write(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    proc = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + WAIT
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit("mosquitto did not start")
            time.sleep(0.05)


class Watcher:
    """Every message of the fleet's topics, stamped with CLOCK_MONOTONIC on arrival."""

    def __init__(self, host, port, prefix):
        self.inbox = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"{prefix}/#", qos=1)
        self.client.on_message = lambda c, u, m: self.inbox.put((time.monotonic_ns(), m))
        self.client.connect(host, port)
        self.client.loop_start()

    def wait_for(self, wanted):
        """Wait until every (topic, payload) of `wanted` arrived; {key: arrival ns}."""
        wanted, arrived = set(wanted), {}
        deadline = time.monotonic() + WAIT
        while wanted - set(arrived):
            try:
                stamp, message = self.inbox.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                missing = sorted(wanted - set(arrived))
                raise SystemExit(f"timed out waiting for {missing[:5]} "
                                 f"({len(missing)} missing)") from None
            key = (message.topic, message.payload)
            if key in wanted and key not in arrived:
                arrived[key] = stamp
        return arrived


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=5)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="a running broker (default: start one)")
    parser.add_argument("--prefix", default="fleet")
    args = parser.parse_args(argv)
    directory = tempfile.mkdtemp(prefix="rpio-fleet-")
    broker = None
    if args.port is None:
        broker, args.port = private_broker(directory)
    names = [f"pi{i:02d}" for i in range(args.devices)]
    pis = []
    try:
        watcher = Watcher(args.host, args.port, args.prefix)
        for name in names:
            path = os.path.join(directory, f"{name}.toml")
            with open(path, "w") as handle:
                handle.write(device_config(name, args.host, args.port, prefix=args.prefix))
            pis.append(SimulatedPi(f"fleet-{os.getpid()}-{name}", path))
        p = args.prefix
        watcher.wait_for([(f"{p}/{n}/availability", b"online") for n in names]
                         + [(f"{p}/{n}/gpio/button/state", b"0") for n in names])
        print(f"{args.devices} simulated Pis online on {args.host}:{args.port}")

        for pi in pis:  # press every button, then watch every state arrive
            pi.press()
        arrived = watcher.wait_for((f"{p}/{n}/gpio/button/state", b"1") for n in names)
        latencies = [(arrived[(f"{p}/{n}/gpio/button/state", b"1")] - pi.last_change_ns(17)) / 1e6
                     for n, pi in zip(names, pis)]
        print(f"pressed {len(pis)} buttons: every state arrived; edge to message "
              f"median {statistics.median(latencies):.2f} ms, max {max(latencies):.2f} ms")
        for pi in pis:
            pi.release()
        watcher.wait_for((f"{p}/{n}/gpio/button/state", b"0") for n in names)

        for name in names:  # every LED on, through the broker
            watcher.client.publish(f"{p}/{name}/gpio/led/set", b"ON", qos=1)
        watcher.wait_for((f"{p}/{n}/gpio/led/state", b"1") for n in names)
        lit = sum(pi.level(27) for pi in pis)
        print(f"switched {len(pis)} LEDs on through the broker: {lit} boards show GPIO 27 high")

        for pi in pis:
            pi.proc.terminate()  # SIGTERM
        watcher.wait_for((f"{p}/{n}/availability", b"offline") for n in names)
        codes = [pi.proc.wait(WAIT) for pi in pis]
        print(f"stopped: {codes.count(0)}/{len(pis)} exited cleanly and went offline")
        ok = lit == len(pis) and codes.count(0) == len(pis)
        print("fleet OK" if ok else "fleet FAILED")
        return 0 if ok else 1
    finally:
        close_all(pis)
        if broker is not None:
            broker.terminate()
            broker.wait(WAIT)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
