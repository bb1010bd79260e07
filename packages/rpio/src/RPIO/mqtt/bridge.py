"""The bridge: a board's pins on an MQTT broker, driven by RPIO's edge path.

One asyncio loop does everything: each input is an ``RPIO.aio.edges`` stream (the kernel's edge
records, or the simulated board's, read by the loop as they arrive; nothing polls), and paho-mqtt
runs on the same loop (:mod:`.client`). Commands arrive as paho callbacks on that loop and act
on the pins at once.

Lifecycle: :meth:`Bridge.start` sets the pins up (all or nothing) before anything connects;
:meth:`Bridge.run` connects, reconnects with exponential backoff, and returns when
:meth:`Bridge.stop` is called (the CLI calls it on SIGTERM/SIGINT); then it publishes
``offline``, disconnects and releases the pins.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import random
import ssl
import uuid
from typing import Deque, Dict, List, Optional, Tuple

from . import discovery, topics
from .client import LoopAdapter
from .config import Config, ConfigError, PinConfig

log = logging.getLogger("RPIO.mqtt")

_PULLS = {"up": "PUD_UP", "down": "PUD_DOWN", "off": "PUD_OFF"}
SERVO_HZ = 50
MAX_RETAINED = 10000  # retained topics read back when syncing discovery
ERRORS_PER_S = 20     # answers on the error topic (and WARNING lines), burst and rate


def _paho():
    try:
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties
    except ImportError:
        raise RuntimeError("rpio mqtt needs paho-mqtt 2: pip install 'rpio[mqtt]'") from None
    if not hasattr(mqtt, "CallbackAPIVersion"):
        raise RuntimeError("rpio mqtt needs paho-mqtt 2 (found 1.x): pip install 'rpio[mqtt]'")
    return mqtt, PacketTypes, Properties


class Pin:
    """One configured pin, set up on the board."""

    def __init__(self, config: PinConfig, gpio: int):
        self.config, self.gpio, self.name, self.kind = config, gpio, config.name, config.kind
        self.value: float = 0          # what the state topic says (logical, after inversion)
        self.stream = None             # input: RPIO.aio EdgeStream
        self.task: Optional[asyncio.Task] = None
        self.pwm = None                # pwm/servo: RPIO.PWM instance
        self.pulse: Optional[asyncio.TimerHandle] = None
        self.settle: Optional[asyncio.TimerHandle] = None


class Bridge:
    """``Bridge(config).run()`` in a running loop; ``stop()`` from the loop ends it."""

    def __init__(self, config: Config):
        self.config = config
        self.base = config.base
        self.pins: Dict[str, Pin] = {}
        self.connected = False
        self._stop = None
        self._stopping = False         # stop() came before run() made its event
        self._client = None
        self._adapter = None
        self._connecting = False
        self._lost: Optional[asyncio.Event] = None
        self._queue: Deque[Tuple[str, bytes, int, bool]] = collections.deque()
        # the newest retained state per topic that paho's full queue refused (a burst of edges)
        self._held: Dict[str, Tuple[bytes, int, bool]] = {}
        self._queue_bytes = 0
        self.dropped = 0               # messages lost to a full queue, in total
        self.edges_lost = 0            # edges the kernel (or the model) dropped: seqno gaps
        self._dropped_unreported = 0
        self._sync_nonce: Optional[str] = None
        self._retained: Dict[str, bytes] = {}
        self.discovery_synced = False
        self.cleared: List[str] = []   # retained topics cleared (removed pins)
        self._mids: Dict[int, asyncio.Future] = {}
        self._error_tokens, self._error_time = float(ERRORS_PER_S), 0.0
        self.errors_suppressed = 0

    # -- pins ---------------------------------------------------------------------------------
    def _resolve(self, pin: PinConfig) -> int:
        from .._backend import _resolve_pin
        from .._gpio import _state

        info = _state.board.info
        key = "gpio" if pin.gpio is not None else "board"
        value = pin.gpio if pin.gpio is not None else f"BOARD{pin.board}"
        try:
            return _resolve_pin(value, info, f"{self.config.path}: {pin.key}.{key}")
        except ValueError as error:
            raise ConfigError(str(error)) from None

    async def start(self) -> None:
        """Set every pin up; on any error, release what was set up and raise."""
        import RPIO

        gpios, users = {}, {}
        for pin_config in self.config.pins:
            gpio = gpios[pin_config.name] = self._resolve(pin_config)
            if gpio in users:
                key = "gpio" if pin_config.gpio is not None else "board"
                raise ConfigError(f"{self.config.path}: {pin_config.key}.{key}: GPIO {gpio} is "
                                  f"used by {users[gpio]} already")
            users[gpio] = pin_config.key
        self._loop = asyncio.get_running_loop()
        try:
            for pin_config in self.config.pins:
                pin = Pin(pin_config, gpios[pin_config.name])
                self.pins[pin.name] = pin
                await self._setup(RPIO, pin)
        except BaseException:
            self.release()
            raise

    async def _setup(self, RPIO, pin: Pin) -> None:
        c = pin.config
        if pin.kind == "input":
            pin.stream = RPIO.aio.edges(pin.gpio, edge="both",
                                        pull_up_down=getattr(RPIO, _PULLS[c.pull]),
                                        debounce_timeout_ms=c.debounce_ms or None)
            await pin.stream.__aenter__()
            pin.value = pin.stream.get_value() ^ int(c.inverted)
            pin.task = self._loop.create_task(self._follow(pin))
        elif pin.kind == "output":
            pin.value = int(c.initial)
            RPIO.setup(pin.gpio, RPIO.OUT, initial=pin.value ^ int(c.inverted))
        elif pin.kind == "pwm":
            RPIO.setup(pin.gpio, RPIO.OUT, initial=0)
            pin.pwm = RPIO.PWM(pin.gpio, c.frequency)
            pin.value = c.initial
            pin.pwm.start(c.initial)
        else:
            RPIO.setup(pin.gpio, RPIO.OUT, initial=0)
            pin.pwm = RPIO.PWM(pin.gpio, SERVO_HZ)
            pin.value = c.initial
            pin.pwm.start(self._servo_duty(c, c.initial) if c.has_initial else 0)

    @staticmethod
    def _servo_duty(c: PinConfig, angle: float) -> float:
        pulse_us = c.min_pulse_us + (c.max_pulse_us - c.min_pulse_us) * angle / 180.0
        return pulse_us * SERVO_HZ / 10000.0  # % of the 20 ms period

    def release(self) -> None:
        """Close the edge streams, stop PWM, cancel pulses, give the outputs back (inputs)."""
        import RPIO

        for pin in self.pins.values():
            for handle in (pin.pulse, pin.settle):
                if handle is not None:
                    handle.cancel()
            if pin.task is not None:
                pin.task.cancel()
            if pin.stream is not None:
                pin.stream.close()
            if pin.pwm is not None:
                pin.pwm.stop()
            if pin.kind != "input":
                RPIO.cleanup(pin.gpio)
        self.pins.clear()

    # -- inputs -------------------------------------------------------------------------------
    async def _follow(self, pin: Pin) -> None:
        c = pin.config
        inverted = int(c.inverted)
        want = {"both": (0, 1), "rising": (1,), "falling": (0,)}[c.edge]
        state_topic = topics.state(self.base, pin.name)
        event_topic = topics.event(self.base, pin.name)
        burst = False
        last_seqno, lost = None, 0
        try:
            async for edge in pin.stream:
                value = edge.value ^ inverted
                pin.value = value
                self.publish(state_topic, b"%d" % value, 1, True)
                if edge.value in want:
                    self.publish(event_topic, topics.event_payload(value, edge.timestamp_ns,
                                                                   edge.seqno), 1, False)
                # (debounce drops edges on purpose: those gaps are not losses)
                if not c.debounce_ms and last_seqno is not None \
                        and edge.line_seqno > last_seqno + 1:
                    lost += edge.line_seqno - last_seqno - 1
                last_seqno = edge.line_seqno
                # Edges may have overflowed a queue on the way (the kernel's, ours), the last
                # ones too, and then no later edge tells: whenever the stream has nothing more
                # queued, the level decides (one read of the line; it publishes only when the
                # level differs). With a debounce, only after a burst: its settle timer decides
                # the rest, so a bounce in progress is never published.
                if pin.stream.pending:
                    burst = True
                    continue
                if burst or not c.debounce_ms:
                    burst = False
                    self._check_level(pin)
                if lost:
                    self.edges_lost += lost
                    log.warning("%s: %d edges were lost in the kernel's queue (they came faster "
                                "than they were read; the state was read again)", pin.name, lost)
                    lost = 0
                if c.debounce_ms:
                    # edges within debounce_ms of this one are dropped by the stream: when the
                    # window ends, the level decides (a bounce may have ended the other way)
                    if pin.settle is not None:
                        pin.settle.cancel()
                    pin.settle = self._loop.call_later(c.debounce_ms / 1000.0, self._settle, pin)
        except EOFError:
            log.error("the edge source of %s (GPIO %d) closed", pin.name, pin.gpio)

    def _settle(self, pin: Pin) -> None:
        pin.settle = None
        self._check_level(pin)

    def _check_level(self, pin: Pin) -> None:
        """Publish the input's level if it is not what the state topic says."""
        if pin.stream is None or pin.stream.closed:
            return
        value = pin.stream.get_value() ^ int(pin.config.inverted)
        if value != pin.value:
            pin.value = value
            self.publish(topics.state(self.base, pin.name), b"%d" % value, 1, True)

    # -- commands -----------------------------------------------------------------------------
    def _refuse(self, topic: str, message: str, payload: bytes = b"") -> None:
        """Log a refused command and answer on the error topic, at most ERRORS_PER_S a second
        (a flood of bad commands must not become a flood of answers and log lines)."""
        now = self._loop.time()
        self._error_tokens = min(ERRORS_PER_S, self._error_tokens
                                 + (now - self._error_time) * ERRORS_PER_S)
        self._error_time = now
        if self._error_tokens < 1:
            self.errors_suppressed += 1
            return
        self._error_tokens -= 1
        suppressed, self.errors_suppressed = self.errors_suppressed, 0
        if suppressed:
            message = f"{message} ({suppressed} more refused commands not answered)"
        log.warning("refused %s: %s", topic, message)
        self.publish(topics.error(self.base), topics.error_payload(topic, message, payload),
                     1, False)

    def _command(self, topic: str, payload: bytes, retained: bool) -> None:
        name = topics.command_name(self.base, topic)
        if name is None:
            log.debug("ignored a message on %s (not a command topic of this device)", topic)
            return
        if len(payload) > self.config.broker.max_payload:
            self._refuse(topic, f"payload of {len(payload)} bytes is over the limit of "
                                f"{self.config.broker.max_payload}", payload)
            return
        if retained:
            self._refuse(topic, "retained commands are not obeyed (publish commands without "
                                "the retain flag)", payload)
            return
        pin = self.pins.get(name)
        if pin is None:
            self._refuse(topic, f"no pin named {name!r}", payload)
            return
        if pin.kind == "input":
            self._refuse(topic, f"{name} is an input: it takes no commands", payload)
            return
        c = pin.config
        try:
            if pin.kind == "output":
                command = topics.parse_command("output", payload, max_pulse_ms=c.max_pulse_ms)
            elif pin.kind == "pwm":
                command = topics.parse_command("pwm", payload, low=0, high=100)
            else:
                command = topics.parse_command("servo", payload, low=0, high=180)
        except topics.CommandError as error:
            self._refuse(topic, str(error), payload)
            return
        self._apply(pin, command)

    def _apply(self, pin: Pin, command: topics.Command) -> None:
        import RPIO

        c = pin.config
        if pin.kind == "output":
            if pin.pulse is not None:
                pin.pulse.cancel()
                pin.pulse = None
            value = int(command.value)
            self._set_output(RPIO, pin, value)
            pulse_ms = command.pulse_ms or (c.pulse_ms if value else 0)
            if value and pulse_ms:
                pin.pulse = self._loop.call_later(pulse_ms / 1000.0, self._pulse_end, pin)
        elif pin.kind == "pwm":
            pin.pwm.ChangeDutyCycle(command.value)
            pin.value = command.value
            self._publish_state(pin)
        else:
            pin.pwm.ChangeDutyCycle(self._servo_duty(c, command.value))
            pin.value = command.value
            self._publish_state(pin)

    def _set_output(self, RPIO, pin: Pin, value: int) -> None:
        RPIO.output(pin.gpio, value ^ int(pin.config.inverted))
        pin.value = value
        self._publish_state(pin)

    def _pulse_end(self, pin: Pin) -> None:
        import RPIO

        pin.pulse = None
        if pin.name in self.pins:
            self._set_output(RPIO, pin, 0)

    def _publish_state(self, pin: Pin) -> None:
        self.publish(topics.state(self.base, pin.name),
                     topics.format_number(pin.value).encode(), 1, True)

    # -- publishing ---------------------------------------------------------------------------
    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        """Publish now, or keep it in the bounded queue until the broker is back."""
        if self.connected:
            if topic in self._held:  # an older state of this topic waits: this one goes after it
                self._held[topic] = (payload, qos, retain)
                return
            info = self._client.publish(topic, payload, qos, retain)
            if info.rc == 0:
                self._adapter.kick()
                return
            if info.rc == self._mqtt.MQTT_ERR_QUEUE_SIZE:
                if retain:
                    # a state (retained): the newest must reach the broker, whatever the burst
                    # dropped before it; it is published as soon as paho's queue has room
                    self._held[topic] = (payload, qos, retain)
                else:
                    self._count_dropped(1)
                return
            if qos > 0:  # MQTT_ERR_NO_CONN: paho keeps a QoS 1 message and resends it
                return
            # a QoS 0 message the connection lost just now: we keep it
        self._enqueue(topic, payload, qos, retain)

    def _enqueue(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        size = len(topic) + len(payload)
        limit, limit_bytes = self.config.broker.queue_limit, self.config.broker.queue_bytes
        dropped = 0
        while self._queue and (len(self._queue) >= limit or self._queue_bytes + size > limit_bytes):
            old = self._queue.popleft()  # the oldest goes: the newest state is worth more
            self._queue_bytes -= len(old[0]) + len(old[1])
            dropped += 1
        self._queue.append((topic, payload, qos, retain))
        self._queue_bytes += size
        if dropped:
            self._count_dropped(dropped)

    def _count_dropped(self, count: int) -> None:
        if self.dropped == 0 or self._dropped_unreported == 0:
            log.warning("the outgoing queue is full: dropping the oldest messages")
        self.dropped += count
        self._dropped_unreported += count

    def _flush(self) -> None:
        queue, self._queue, self._queue_bytes = self._queue, collections.deque(), 0
        for message in queue:
            self.publish(*message)
        if self._dropped_unreported:
            count, self._dropped_unreported = self._dropped_unreported, 0
            log.warning("%d messages were dropped while the broker was away", count)
            self.publish(topics.error(self.base),
                         json.dumps({"topic": self.base, "error": "queue overflow: messages "
                                     "dropped while disconnected", "dropped": count,
                                     "dropped_total": self.dropped}).encode(), 1, False)

    # -- the connection -----------------------------------------------------------------------
    def _make_client(self):
        mqtt, PacketTypes, Properties = _paho()
        b = self.config.broker
        self._mqtt = mqtt
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=b.client_id,
                             protocol=mqtt.MQTTv5)
        client.max_inflight_messages_set(100)
        # while connected, what the broker has not acknowledged yet is bounded too (a start-up
        # burst of discovery and states must fit even with a tiny offline queue_limit)
        client.max_queued_messages_set(max(b.queue_limit, 1000))
        client.will_set(topics.availability(self.base), "offline", qos=1, retain=True)
        if b.username is not None:
            client.username_pw_set(b.username, b.password)
        if b.tls is not None:
            client.tls_set(ca_certs=b.tls.ca, certfile=b.tls.cert, keyfile=b.tls.key,
                           cert_reqs=ssl.CERT_REQUIRED)
            client.tls_insecure_set(b.tls.insecure)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = b.session_expiry
        self._connect_properties = properties
        return client

    async def run(self) -> None:
        """Connect and serve until :meth:`stop`; then offline, disconnect, release the pins."""
        if not self.pins:
            await self.start()
        self._stop = asyncio.Event()
        if self._stopping:
            self._stop.set()
        self._client = self._make_client()
        self._adapter = LoopAdapter(self._client, self._loop)
        self._adapter.start_misc(lambda: self._connecting)
        try:
            await self._connection_loop()
        finally:
            self._adapter.stop_misc()
            await self._goodbye()
            self.release()

    def stop(self) -> None:
        self._stopping = True
        if self._stop is not None:
            self._stop.set()
        if self._lost is not None:
            self._lost.set()

    async def _sleep_or_stop(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _connection_loop(self) -> None:
        b = self.config.broker
        delay = b.reconnect_min
        first = True
        while not self._stop.is_set():
            self._lost = asyncio.Event()
            self._was_connected = False
            self._connecting = True
            try:
                if first:
                    await self._loop.run_in_executor(None, lambda: self._client.connect(
                        b.host, b.port, b.keepalive, clean_start=False,
                        properties=self._connect_properties))
                else:
                    await self._loop.run_in_executor(None, self._client.reconnect)
                first = False
            except (OSError, ssl.SSLError, ValueError) as error:
                self._connecting = False
                log.warning("cannot connect to %s:%d (%s); next try in %.2f s", b.host, b.port,
                            error, delay)
                await self._sleep_or_stop(delay * random.uniform(1.0, 1.1))
                delay = min(delay * 2, b.reconnect_max)
                continue
            finally:
                self._connecting = False
            self._adapter.drop_wakeup_pair()
            self._adapter.kick()
            await self._lost.wait()
            if self._stop.is_set():
                break
            if self._was_connected:
                delay = b.reconnect_min
            log.warning("disconnected from %s:%d; reconnecting in %.2f s", b.host, b.port, delay)
            await self._sleep_or_stop(delay * random.uniform(1.0, 1.1))
            delay = min(delay * 2, b.reconnect_max)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("the broker refused the connection: %s", reason_code)
            return  # paho closes the socket: _on_disconnect follows
        self.connected = True
        self._was_connected = True
        log.info("connected to %s:%d as %s (session present: %s)", self.config.broker.host,
                 self.config.broker.port, self.config.broker.client_id, flags.session_present)
        client.subscribe(f"{self.base}/gpio/+/set", qos=1)
        self.publish(topics.availability(self.base), b"online", 1, True)
        if self.config.discovery:
            import RPIO

            model = RPIO.RPI_INFO.get("TYPE", "Raspberry Pi")
            self._announced = discovery.messages(self.config, model=model,
                                                 sw_version=RPIO.VERSION)
            for topic, body in self._announced.items():
                self.publish(topic, body, 1, True)
        if not self.discovery_synced:
            self._start_sync(client)
        self._flush()
        for pin in self.pins.values():
            if pin.kind == "input" and pin.stream is not None and not pin.stream.closed:
                pin.value = pin.stream.get_value() ^ int(pin.config.inverted)
            self._publish_state(pin)

    def _start_sync(self, client) -> None:
        """Read back this device's retained topics (discovery configs, pin states); when the
        marker we publish after subscribing comes back, everything retained has been seen."""
        self._sync_nonce = uuid.uuid4().hex
        self._retained = {}
        subs = [(f"{self.base}/gpio/+/state", 1), (f"{self.base}/sync", 1)]
        if self.config.discovery:
            subs.append((discovery.device_wildcard(self.config), 1))
        result, self._sync_mid = client.subscribe(subs)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if self._sync_nonce is not None and mid == getattr(self, "_sync_mid", None):
            self.publish(f"{self.base}/sync", self._sync_nonce.encode(), 1, False)

    def _finish_sync(self, client) -> None:
        self._sync_nonce = None
        names = set(self.pins)
        announced = getattr(self, "_announced", {}) if self.config.discovery else {}
        stale = [t for t in discovery.stale(self.config, self._retained, announced)]
        state_head = f"{self.base}/gpio/"
        for topic, body in self._retained.items():
            if topic.startswith(state_head) and topic.endswith("/state") and body:
                name = topic[len(state_head):-len("/state")]
                if name not in names:
                    stale.append(topic)
        for topic in stale:
            log.info("clearing %s (no longer configured)", topic)
            self.publish(topic, b"", 1, True)
        self.cleared.extend(stale)
        subs = [f"{self.base}/gpio/+/state", f"{self.base}/sync"]
        if self.config.discovery:
            subs.append(discovery.device_wildcard(self.config))
        client.unsubscribe(subs)
        self._retained = {}
        self.discovery_synced = True

    def _on_message(self, client, userdata, message) -> None:
        topic = message.topic
        payload = message.payload
        try:
            if self._sync_nonce is not None:
                if topic == f"{self.base}/sync":
                    if payload == self._sync_nonce.encode():
                        self._finish_sync(client)
                    return
                if message.retain and (topic.startswith(f"{self.base}/gpio/")
                                       and topic.endswith("/state")
                                       or discovery.is_device_topic(self.config, topic)):
                    # only whether it is set is kept, and only so many topics (hostile brokers)
                    if len(self._retained) < MAX_RETAINED or topic in self._retained:
                        self._retained[topic] = b"1" if payload else b""
                    return
            if topic.endswith("/set"):
                self._command(topic, payload, bool(message.retain))
        except Exception:  # never let one message end the bridge
            log.exception("handling a message on %s failed", topic)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        future = self._mids.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(None)
        if self._held:  # paho's queue has room again: the oldest held state goes first
            topic = next(iter(self._held))
            payload, qos, retain = self._held.pop(topic)
            self.publish(topic, payload, qos, retain)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected = False
        if self._lost is not None:
            self._lost.set()

    async def _goodbye(self) -> None:
        """Publish offline (retained) and wait for the broker to have it, then disconnect."""
        if self._client is None:
            return
        if self.connected:
            info = self._client.publish(topics.availability(self.base), b"offline", 1, True)
            future = self._loop.create_future()
            self._mids[info.mid] = future
            if info.is_published():
                future.set_result(None)
            self._adapter.kick()
            try:
                await asyncio.wait_for(future, 5.0)
            except asyncio.TimeoutError:
                log.warning("the broker did not acknowledge 'offline' in time")
            self._client.disconnect()
            self._adapter.kick()
        else:
            self._client.disconnect()
        self.connected = False
