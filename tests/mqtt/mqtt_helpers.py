"""Helpers of tests/mqtt (the fixtures are in conftest.py): a real Mosquitto (Debian's
`mosquitto`) on a free loopback port with a generated configuration, plain or TLS (a CA and a
server certificate made with openssl) plus a password file (mosquitto_passwd); an MQTT client for
the test side that waits on messages with timeouts; `rpio mqtt` as a subprocess on a shared
simulated board."""

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

WAIT = 20.0

try:
    import paho.mqtt.client as paho_client
except ImportError:  # the tests that need it skip (importorskip in their modules)
    paho_client = None


def need_mosquitto():
    if shutil.which("mosquitto") is None:
        pytest.skip("needs Debian's mosquitto (apt-get install mosquitto mosquitto-clients)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Broker:
    """One mosquitto process; restart() keeps its port and its persistence (sessions, queued
    QoS 1 messages, retained messages survive)."""

    def __init__(self, directory, *, tls=False, users=None):
        need_mosquitto()
        self.dir = str(directory)
        self.port = free_port()
        self.tls = tls
        self.proc = None
        lines = [f"listener {self.port} 127.0.0.1", "persistence true",
                 f"persistence_location {self.dir}/", "log_dest stderr",
                 "log_type error", "log_type warning", "user root", "max_queued_messages 100000"]
        if users:
            passwd = os.path.join(self.dir, "passwd")
            for index, (user, password) in enumerate(users.items()):
                subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if index == 0 else [])
                               + [passwd, user, password], check=True, capture_output=True)
            lines += [f"password_file {passwd}", "allow_anonymous false"]
        else:
            lines.append("allow_anonymous true")
        if tls:
            self.ca = make_certificates(self.dir)
            lines += [f"cafile {self.ca}", f"certfile {self.dir}/server.crt",
                      f"keyfile {self.dir}/server.key"]
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        self.start()

    def start(self) -> None:
        self.log = open(os.path.join(self.dir, "mosquitto.log"), "ab")
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + WAIT
        while True:  # ready when it accepts a TCP connection
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.read_log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("mosquitto did not start listening") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # saves its persistence file
            self.proc.wait(WAIT)
        self.proc = None
        self.log.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def read_log(self) -> str:
        with open(os.path.join(self.dir, "mosquitto.log"), "rb") as handle:
            return handle.read().decode(errors="replace")


def make_certificates(directory: str) -> str:
    """A CA and a server certificate for 127.0.0.1/localhost signed by it; returns the CA."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command (apt-get install openssl)")
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=rpio test CA", "-keyout", "ca.key", "-out", "ca.crt")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout",
            "server.key", "-out", "server.csr")
    with open(os.path.join(directory, "san.ext"), "w") as handle:
        handle.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt")
    return os.path.join(directory, "ca.crt")




class Watcher:
    """The test's own MQTT client (paho, its own thread): every message lands in a queue;
    expect() waits for one that matches, with a timeout."""

    def __init__(self, broker, topics=("#",), client_id=None, persistent=False, **tls):
        mqtt = paho_client
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.messages = queue.Queue()
        self.backlog = []  # messages an expect(keep_others=True) passed over, served first
        self.seen = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"watcher-{os.getpid()}-{id(self)}",
                                  protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(1000)
        if tls.get("ca"):
            self.client.tls_set(ca_certs=tls["ca"])
        if tls.get("username"):
            self.client.username_pw_set(tls["username"], tls.get("password"))
        self._topics = list(topics)
        self.connected = queue.Queue()
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        self.client.reconnect_delay_set(0.05, 0.5)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600 if persistent else 0
        self.client.connect("127.0.0.1", broker.port, 30, clean_start=not persistent,
                            properties=properties)
        self.client.loop_start()
        try:
            self.connected.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError("the watcher could not connect") from None

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if not reason_code.is_failure:
            for topic in self._topics:
                client.subscribe(topic, qos=1)
            self.connected.put(True)

    def expect(self, topic, payload=None, *, retained=None, timeout=WAIT, keep_others=False):
        """The next message on topic (with that payload, if given); others are kept in seen.
        With keep_others, the messages passed over stay for the next expect() too (their order
        against the awaited one is the bridge's business, e.g. states against "online")."""
        deadline = time.monotonic() + timeout
        passed_over = []
        try:
            return self._expect(topic, payload, retained, deadline, passed_over)
        finally:
            if keep_others:
                self.backlog[:0] = passed_over

    def _next(self, deadline):
        if self.backlog:
            return self.backlog.pop(0)
        return self.messages.get(timeout=max(deadline - time.monotonic(), 0.001))

    def _expect(self, topic, payload, retained, deadline, passed_over):
        while True:
            try:
                message = self._next(deadline)
            except queue.Empty:
                raise AssertionError(f"no message on {topic} ({payload!r}) within the time allowed; "
                                     f"seen: {[(m.topic, m.payload) for m in self.seen[-20:]]}"
                                     ) from None
            self.seen.append(message)
            if message.topic == topic and (payload is None or message.payload == payload) and (
                    retained is None or bool(message.retain) == retained):
                return message
            passed_over.append(message)

    def expect_prefix(self, prefix, payload=None, *, timeout=WAIT):
        """The next message on a topic starting with prefix (with that payload, if given)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self._next(deadline)
            except queue.Empty:
                raise AssertionError(f"no message under {prefix!r} within {timeout} s; seen: "
                                     f"{[(m.topic, m.payload) for m in self.seen[-20:]]}"
                                     ) from None
            self.seen.append(message)
            if message.topic.startswith(prefix) and (payload is None or message.payload == payload):
                return message

    def publish(self, topic, payload, qos=1, retain=False):
        return self.client.publish(topic, payload, qos=qos, retain=retain)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()




def write_config(path, broker, device="pi1", pins="", broker_extra=""):
    text = textwrap.dedent(f"""\
        device = "{device}"
        [broker]
        host = "127.0.0.1"
        port = {broker.port}
        reconnect_min = 0.05
        reconnect_max = 0.5
        keepalive = 5
        """) + textwrap.dedent(broker_extra) + textwrap.dedent(pins)
    path.write_text(text)
    return str(path)


class BridgeProcess:
    """`rpio mqtt CONFIG` as a subprocess on the shared simulated board `board`."""

    def __init__(self, config_path, board, *extra):
        env = dict(os.environ, RPIO_BACKEND="sim", RPIO_SIM_SHARED=board, RPIO_SIM_BOARD="c03111")
        env.pop("RPIO_SIM_CONFIG", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "RPIO.cli", "mqtt", config_path,
                                      *extra], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def terminate(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(f"rpio mqtt did not end on SIGTERM: {err}") from None
        return self.proc.returncode, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
