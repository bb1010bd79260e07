"""MQTT bridges, same run, same broker, same simulated board model: `rpio mqtt` against mqtt-io
2.7 (its raspberrypi GPIO module, RPIO standing in for RPi.GPIO) and against a 10 ms polling
bridge written with the same client (paho-mqtt 2). JSON out.

    python bench/mqtt.py [--samples N] [--rates R,R,...] [--duration S] [--devices N]
                         [--fleet-rate R] [--fleet-seconds S]

Every bridge is a process on a shared simulated board of its own (RPIO.mqtt.fleet.SimulatedPi);
this process drives the button pin of each board (GPIO 17, pull-up) and runs one MQTT subscriber
(paho, its own thread) that stamps every message with CLOCK_MONOTONIC on arrival.

- latency: one edge, then wait for that bridge's state message (--samples edges per bridge, all
  of them in the figures; p99_by_quarter shows how much the tail moves within the run); edge time = the board's own
  record of the level change (CLOCK_MONOTONIC, the same clock), arrival = the subscriber's stamp.
  The bridges take turns edge by edge (so a noisy moment of the machine hits them alike), with a
  random 5-15 ms pause between edges (the polling bridge's phase is random). p50/p90/p99/max in
  microseconds.
- throughput: edges at each offered rate for --duration s; state messages received (live ones),
  delivered messages/s, loss = edges - state messages (a bridge that merges or debounces edges
  loses them; the final state must still be right, reported as final_state_ok).
- fleet: --devices `rpio mqtt` processes on one broker, each button toggled at --fleet-rate
  edges/s for --fleet-seconds s; every edge is a state and an event message: total messages/s
  at the subscriber and loss (also seqno gaps in the events). The device count is lowered to what
  the machine's free memory holds (about 25 MB a process), and the JSON says so.

mqtt-io needs `pip install mqtt-io==2.7.0` in this interpreter; without it its figures are
replaced by the reason. Ratios: other / rpio_mqtt (latency: > 1 means rpio mqtt is faster).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

WAIT = 10.0
GPIO = 17


# -- the 10 ms polling bridge (this script, run as a child) ------------------------------------
def polling_bridge(port: int, prefix: str) -> None:
    import paho.mqtt.client as mqtt

    import RPIO

    RPIO.setwarnings(False)
    RPIO.setup(GPIO, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"poll-{os.getpid()}",
                         protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port, 30)
    client.loop_start()
    running = [True]
    signal.signal(signal.SIGTERM, lambda *a: running.__setitem__(0, False))
    last, tick = None, time.monotonic()
    while running[0]:
        value = RPIO.input(GPIO)
        if value != last:
            client.publish(f"{prefix}/gpio/button/state", b"%d" % value, qos=1, retain=True)
            last = value
        tick += 0.010
        time.sleep(max(0.0, tick - time.monotonic()))
    client.loop_stop()
    client.disconnect()
    RPIO.cleanup()


# -- the broker and the subscriber -------------------------------------------------------------
def start_broker(directory: str):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conf = os.path.join(directory, "mosquitto.conf")
    with open(conf, "w") as handle:
        handle.write(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                     "max_queued_messages 100000\nuser root\n"
                     # without it, Nagle's algorithm on the broker's socket to our one subscriber
                     # holds single small messages for the subscriber's delayed ACK (~40 ms)
                     "set_tcp_nodelay true\n")
    proc = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + WAIT
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mosquitto did not start") from None
            time.sleep(0.02)


class Subscriber:
    """One paho client on `bench/#`: per topic, a queue of (arrival ns, payload, retained)."""

    def __init__(self, port: int):
        import paho.mqtt.client as mqtt

        self.queues = {}
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-sub",
                                  protocol=mqtt.MQTTv5)
        self.ready = threading.Event()
        # the state topics only (rpio mqtt also sends an event per edge): this one Python
        # subscriber must not become the bottleneck of the rates measured
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(
            [("bench/rpio/gpio/button/state", 1), ("bench/poll/gpio/button/state", 1),
             ("bench/mqttio/#", 1)])
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, 30)
        self.client.loop_start()
        if not self.ready.wait(WAIT):
            raise RuntimeError("the subscriber could not subscribe")

    def _on_message(self, client, userdata, message):
        stamp = time.monotonic_ns()
        self.queue(message.topic).put((stamp, message.payload, bool(message.retain)))

    def queue(self, topic: str) -> queue.Queue:
        with self.lock:
            if topic not in self.queues:
                self.queues[topic] = queue.Queue()
            return self.queues[topic]

    def expect(self, topic: str, payload: bytes, timeout: float = WAIT):
        """The arrival time of the next live message on topic with this payload."""
        q = self.queue(topic)
        deadline = time.monotonic() + timeout
        while True:
            try:
                stamp, body, retained = q.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                return None
            if body == payload and not retained:
                return stamp

    def drain(self, topic: str, quiet: float = 1.0, until: int = 0):
        """Live messages on topic until `until` of them or `quiet` s without one."""
        q, got = self.queue(topic), []
        while until == 0 or len(got) < until:
            try:
                stamp, body, retained = q.get(timeout=quiet)
            except queue.Empty:
                break
            if not retained:
                got.append((stamp, body))
        return got

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


# -- the bridges --------------------------------------------------------------------------------
class Bridge:
    def __init__(self, name, pi, topic, on, off, ready=None):
        self.name, self.pi, self.topic, self.on, self.off = name, pi, topic, on, off
        self.ready = ready or (topic, on)  # what it publishes once it serves


def shim_dir(directory: str) -> str:
    """RPi.GPIO played by RPIO: RPi/GPIO.py does `from RPIO import *`, and an RPi.GPIO
    dist-info lets importlib.metadata (mqtt-io's requirement check) find it."""
    root = os.path.join(directory, "rpigpio-shim")
    os.makedirs(os.path.join(root, "RPi"), exist_ok=True)
    os.makedirs(os.path.join(root, "RPi_GPIO-0.7.1.dist-info"), exist_ok=True)
    with open(os.path.join(root, "RPi", "__init__.py"), "w") as handle:
        handle.write("")
    with open(os.path.join(root, "RPi", "GPIO.py"), "w") as handle:
        handle.write("from RPIO import *  # noqa: F401,F403 - RPIO speaks RPi.GPIO\n")
    info = os.path.join(root, "RPi_GPIO-0.7.1.dist-info")
    with open(os.path.join(info, "METADATA"), "w") as handle:
        handle.write("Metadata-Version: 2.1\nName: RPi.GPIO\nVersion: 0.7.1\n")
    with open(os.path.join(info, "RECORD"), "w") as handle:
        handle.write("RPi/__init__.py,,\nRPi/GPIO.py,,\n")
    return root


def start_bridges(directory, port, run_id, want_mqttio=True):
    from RPIO.mqtt.fleet import SimulatedPi

    bridges, notes = [], {}
    config = os.path.join(directory, "rpio.toml")
    with open(config, "w") as handle:
        handle.write(f'device = "rpio"\n[broker]\nhost = "127.0.0.1"\nport = {port}\n'
                     'prefix = "bench"\n[discovery]\nenabled = false\n'
                     f'[[input]]\nname = "button"\ngpio = {GPIO}\npull = "up"\n')
    pi = SimulatedPi(f"bench-{run_id}-rpio", config, stderr=subprocess.DEVNULL)
    bridges.append(Bridge("rpio_mqtt", pi, "bench/rpio/gpio/button/state", b"1", b"0"))

    if want_mqttio and importlib.util.find_spec("mqtt_io") is not None:
        from importlib.metadata import version

        yml = os.path.join(directory, "mqttio.yml")
        with open(yml, "w") as handle:
            handle.write(f"mqtt:\n  host: 127.0.0.1\n  port: {port}\n  topic_prefix: bench/mqttio\n"
                         "  client_id: bench-mqttio\n"
                         "gpio_modules:\n  - name: pi\n    module: raspberrypi\n"
                         f"digital_inputs:\n  - name: button\n    module: pi\n    pin: {GPIO}\n"
                         "    pullup: yes\n    interrupt: both\n    bouncetime: 1\n"
                         "    retain: yes\n"
                         # its default logs every interrupt at INFO: quieter, as rpio mqtt is
                         "logging:\n  version: 1\n  handlers:\n    console:\n"
                         "      class: logging.StreamHandler\n  loggers:\n    mqtt_io:\n"
                         "      level: WARNING\n      handlers: [console]\n")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [shim_dir(directory)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        log = open(os.path.join(directory, "mqttio.log"), "w")
        pi = SimulatedPi(f"bench-{run_id}-mqttio", command=[sys.executable, "-m", "mqtt_io", yml],
                         env=env, stdout=log, stderr=subprocess.STDOUT)
        # an interrupt input of mqtt-io publishes nothing at start; its status topic says when
        bridges.append(Bridge("mqtt_io", pi, "bench/mqttio/input/button", b"ON", b"OFF",
                              ready=("bench/mqttio/status", b"running")))
        notes["mqtt_io"] = f"mqtt-io {version('mqtt-io')}, module raspberrypi, bouncetime 1 ms " \
                           "(its minimum), RPi.GPIO = RPIO through a shim on PYTHONPATH"
    elif want_mqttio:
        notes["mqtt_io"] = "not measured: mqtt-io is not installed in this interpreter " \
                           "(pip install mqtt-io==2.7.0)"

    pi = SimulatedPi(f"bench-{run_id}-poll", command=[sys.executable, os.path.abspath(__file__),
                                                      "--poll-bridge", str(port), "bench/poll"],
                     stderr=subprocess.DEVNULL)
    bridges.append(Bridge("polling_10ms", pi, "bench/poll/gpio/button/state", b"1", b"0"))
    return bridges, notes


def percentiles(values):
    values = sorted(values)
    if not values:
        return None

    def at(q):
        return values[min(len(values) - 1, int(q * len(values)))]

    return {"p50": round(at(0.50), 1), "p90": round(at(0.90), 1), "p99": round(at(0.99), 1),
            "max": round(values[-1], 1), "n": len(values)}


def measure_latency(bridges, sub, samples):
    lat = {b.name: [] for b in bridges}
    missed = {b.name: 0 for b in bridges}
    pressed = False
    for _ in range(samples):
        pressed = not pressed
        for bridge in bridges:
            time.sleep(random.uniform(0.005, 0.015))
            if pressed:
                bridge.pi.press(GPIO)
            else:
                bridge.pi.release(GPIO)
            arrived = sub.expect(bridge.topic, bridge.off if pressed else bridge.on, timeout=2.0)
            edge = bridge.pi.last_change_ns(GPIO)
            if arrived is None:
                missed[bridge.name] += 1
            else:
                lat[bridge.name].append((arrived - edge) / 1000.0)
    result = {}
    for name, values in lat.items():
        quarters = [values[i::4] for i in range(4)]  # four interleaved quarters of the run
        result[name] = dict(percentiles(values) or {}, missed=missed[name],
                            p99_by_quarter=[(percentiles(q) or {}).get("p99") for q in quarters])
    return result


def measure_rate(bridge, sub, rate, duration):
    """Toggle the button at `rate` edges/s for `duration` s; count the state messages."""
    pi = bridge.pi
    level = pi.level(GPIO)
    sub.drain(bridge.topic, quiet=0.3)  # nothing left over
    count = int(rate * duration)
    start = time.monotonic()
    first_edge = None
    for index in range(count):
        target = start + index / rate
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        level ^= 1
        if level:
            pi.release(GPIO)
        else:
            pi.press(GPIO)
        if first_edge is None:
            first_edge = time.monotonic_ns()
    offered_s = time.monotonic() - start
    got = sub.drain(bridge.topic, quiet=1.0, until=count)
    final_ok = bool(got) and got[-1][1] == (bridge.on if level else bridge.off)
    span_s = (got[-1][0] - first_edge) / 1e9 if got else float("nan")
    return {"offered_per_s": rate, "edges": count, "achieved_edge_rate": round(count / offered_s),
            "state_messages": len(got), "lost": count - len(got),
            "messages_per_s": round(len(got) / span_s, 1) if got else 0.0,
            "final_state_ok": final_ok}


def measure_fleet(directory, port, run_id, devices, rate, seconds):
    from RPIO.mqtt.fleet import SimulatedPi, close_all, device_config

    available_kb = 0
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                available_kb = int(line.split()[1])
    fits = max(1, int(available_kb / 1024 * 0.6 / 25))
    run = min(devices, fits)
    result = {"devices_requested": devices, "devices": run,
              "edges_per_s_per_device": rate, "seconds": seconds}
    if run < devices:
        result["note"] = (f"lowered to {run}: {available_kb // 1024} MB free memory, about 25 MB "
                          "a bridge process, 60% of it used")
    sub_q = queue.Queue()
    import paho.mqtt.client as mqtt

    counts = {}
    ready = threading.Event()

    def on_message(client, userdata, message):
        if message.retain:
            return
        counts[message.topic] = counts.get(message.topic, 0) + 1
        if message.topic.endswith("/event"):
            sub_q.put((message.topic, json.loads(message.payload)["seqno"]))
        elif message.topic.endswith("/availability") or message.payload == b"online":
            pass

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-fleet-sub",
                         protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, u, f, rc, p: c.subscribe("fleet/#", qos=1)
    client.on_subscribe = lambda *a: ready.set()
    client.on_message = on_message
    client.connect("127.0.0.1", port, 30)
    client.loop_start()
    ready.wait(WAIT)
    pis = []
    try:
        names = [f"d{i:02d}" for i in range(run)]
        for name in names:
            path = os.path.join(directory, f"fleet-{name}.toml")
            with open(path, "w") as handle:
                handle.write(device_config(name, "127.0.0.1", port, prefix="fleet"))
            pis.append(SimulatedPi(f"bench-{run_id}-fleet-{name}", path,
                                   stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 120
        while any(counts.get(f"fleet/{n}/availability", 0) == 0 for n in names):
            if time.monotonic() > deadline:
                raise RuntimeError("the fleet did not come online")
            time.sleep(0.1)
        time.sleep(1.0)
        before = dict(counts)
        levels = [1] * run
        slots = int(rate * seconds)
        start = time.monotonic()
        for slot in range(slots):
            for index, pi in enumerate(pis):  # devices spread over the slot
                target = start + (slot + index / run) / rate
                delay = target - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                levels[index] ^= 1
                if levels[index]:
                    pi.release(GPIO)
                else:
                    pi.press(GPIO)
        elapsed = time.monotonic() - start
        expected = 2 * slots * run
        last_total, quiet_since = -1, time.monotonic()
        while True:  # until every message arrived, or 3 s without progress
            total = sum(counts.get(t, 0) - before.get(t, 0) for t in counts
                        if t.endswith(("/state", "/event")))
            if total >= expected:
                break
            if total != last_total:
                last_total, quiet_since = total, time.monotonic()
            elif time.monotonic() - quiet_since > 3.0:
                break
            time.sleep(0.05)
        done = time.monotonic()
        seqnos = {}
        while not sub_q.empty():
            topic, seqno = sub_q.get()
            seqnos.setdefault(topic, []).append(seqno)
        gaps = sum(sum(1 for a, b in zip(s, s[1:]) if b != a + 1) for s in seqnos.values())
        result.update(edges=slots * run, expected_messages=expected, received_messages=total,
                      lost=expected - total, event_seqno_gaps=gaps,
                      achieved_edges_per_s=round(slots * run / elapsed),
                      total_messages_per_s=round(total / (done - start), 1))
    finally:
        client.loop_stop()
        client.disconnect()
        close_all(pis)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--rates", default="100,500,2000,5000")
    parser.add_argument("--duration", type=float, default=1.0)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--fleet-rate", type=float, default=10.0)
    parser.add_argument("--fleet-seconds", type=float, default=3.0)
    parser.add_argument("--poll-bridge", nargs=2, metavar=("PORT", "PREFIX"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.poll_bridge:
        polling_bridge(int(args.poll_bridge[0]), args.poll_bridge[1])
        return
    out = {"bench": "mqtt", "python": platform.python_version(), "machine": platform.machine(),
           "cpus": os.cpu_count(), "broker_options": "set_tcp_nodelay true"}
    if shutil.which("mosquitto") is None or importlib.util.find_spec("paho") is None:
        out["error"] = "needs mosquitto (apt) and paho-mqtt 2 (pip install 'rpio[mqtt]')"
        print(json.dumps(out, indent=1))
        return
    directory = tempfile.mkdtemp(prefix="rpio-bench-mqtt-")
    broker, port = start_broker(directory)
    run_id = os.getpid()
    bridges = []
    try:
        out["broker"] = subprocess.run(["mosquitto", "-h"], capture_output=True,
                                       text=True).stdout.splitlines()[0]
        sub = Subscriber(port)
        bridges, notes = start_bridges(directory, port, run_id)
        out["notes"] = notes
        for bridge in bridges:  # each publishes its first state when it is up
            if sub.expect(*bridge.ready, timeout=60) is None:
                out.setdefault("failed_to_start", []).append(bridge.name)
        alive = [b for b in bridges if b.name not in out.get("failed_to_start", [])]
        time.sleep(0.5)
        out["latency_us"] = measure_latency(alive, sub, args.samples)
        out["throughput"] = {b.name: [measure_rate(b, sub, float(r), args.duration)
                                      for r in args.rates.split(",")] for b in alive}
        for bridge in bridges:
            bridge.pi.close()
        bridges = []
        sub.close()
        out["fleet"] = measure_fleet(directory, port, run_id, args.devices, args.fleet_rate,
                                     args.fleet_seconds)
    finally:
        for bridge in bridges:
            bridge.pi.close()
        broker.terminate()
        broker.wait(WAIT)
        shutil.rmtree(directory, ignore_errors=True)
    lat = out["latency_us"]
    rpio = lat.get("rpio_mqtt", {})
    out["ratios"] = {f"{name}_over_rpio_mqtt": {k: round(v[k] / rpio[k], 2)
                                                 for k in ("p50", "p99") if rpio.get(k)}
                     for name, v in lat.items() if name != "rpio_mqtt" and "p50" in v}
    def no_loss(name):
        return [r["offered_per_s"] for r in out["throughput"].get(name, [])
                if r["lost"] == 0 and r["final_state_ok"]]
    out["max_offered_rate_without_loss"] = {name: max(no_loss(name), default=0)
                                            for name in out["throughput"]}
    with open("/proc/loadavg") as handle:
        out["load_average_after"] = float(handle.read().split()[0])
    out["targets"] = {
        "p99_under_5ms": bool(rpio.get("p99") is not None and rpio["p99"] < 5000),
        "ahead_of_both_p99": set(lat) == {"rpio_mqtt", "mqtt_io", "polling_10ms"} and all(
            v.get("p99", 0) > rpio.get("p99", float("inf")) for n, v in lat.items()
            if n != "rpio_mqtt"),
        # the top offered rate (5000/s) probes where it saturates; the target is the rates below
        "zero_loss_rpio_mqtt_up_to_2000_per_s": all(
            r["lost"] == 0 for r in out["throughput"].get("rpio_mqtt", [])
            if r["offered_per_s"] <= 2000),
        "zero_loss_fleet": out["fleet"].get("lost") == 0,
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
