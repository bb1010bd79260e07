"""The bridge's TOML configuration, checked whole before anything connects or touches a pin.

Every error is a :class:`ConfigError` whose message names the file and the key
(``garage.toml: input[1].pull: 'sideways' is not one of up, down, off``). The format is
documented in docs/mqtt.md; :func:`load` reads a file, :func:`parse` a dict already read.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

try:
    import tomllib
except ImportError:  # pragma: no cover - Python < 3.11
    tomllib = None

# Names become topic levels and Home Assistant object ids: no '/', '+', '#', no spaces.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# A topic prefix: levels of the same characters, joined by '/'.
_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,64}(/[A-Za-z0-9_-]{1,64}){0,7}")

PULLS = ("up", "down", "off")
EDGES = ("both", "rising", "falling")
KINDS = ("input", "output", "pwm", "servo")


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class TlsConfig:
    ca: Optional[str] = None        # CA certificate file (None: the system's CAs)
    cert: Optional[str] = None      # client certificate (with key)
    key: Optional[str] = None
    insecure: bool = False          # skip the host name check (self-signed test brokers)


@dataclass(frozen=True)
class BrokerConfig:
    host: str = "localhost"
    port: int = 1883
    client_id: str = ""
    keepalive: int = 30
    prefix: str = "rpio"
    username: Optional[str] = None
    password: Optional[str] = None
    tls: Optional[TlsConfig] = None
    session_expiry: int = 3600      # s the broker keeps our session (and queued commands)
    reconnect_min: float = 0.5      # s, first reconnect delay; doubles up to reconnect_max
    reconnect_max: float = 30.0
    max_payload: int = 256          # bytes; a bigger command is refused
    queue_limit: int = 1000         # messages kept while disconnected
    queue_bytes: int = 256 * 1024   # and their bytes


@dataclass(frozen=True)
class PinConfig:
    kind: str                       # input, output, pwm, servo
    name: str
    key: str                        # where it was configured: "input[0]"
    gpio: Optional[int] = None      # BCM gpio, or
    board: Optional[int] = None     # a header pin (resolved against the board when started)
    inverted: bool = False
    pull: str = "off"               # input
    edge: str = "both"              # input
    debounce_ms: int = 0            # input
    device_class: Optional[str] = None
    initial: float = 0              # output 0/1, pwm duty %, servo angle
    pulse_ms: int = 0               # output: every ON becomes a pulse of this length (0: none)
    max_pulse_ms: int = 60000       # output: the longest pulse a command may ask for
    frequency: float = 1000.0       # pwm Hz
    min_pulse_us: int = 1000        # servo: 0 degrees
    max_pulse_us: int = 2000        # servo: 180 degrees
    has_initial: bool = False       # servo: initial given (else the servo is left alone)


@dataclass(frozen=True)
class Config:
    path: str
    device: str
    broker: BrokerConfig
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    pins: Tuple[PinConfig, ...] = field(default_factory=tuple)

    @property
    def base(self) -> str:
        return f"{self.broker.prefix}/{self.device}"


class _Table:
    """One TOML table with its place in the file, for error messages and unknown-key checks."""

    def __init__(self, path: str, where: str, data: Any):
        self.path, self.where = path, where
        if not isinstance(data, dict):
            raise self.error(f"must be a table, not {type(data).__name__}", key=None)
        self.data, self.used = data, set()

    def error(self, message: str, key: Optional[str] = None) -> ConfigError:
        name = ".".join(part for part in (self.where, key) if part)
        return ConfigError(f"{self.path}: {name or '(top level)'}: {message}")

    def get(self, key: str, types, default=None, *, required=False):
        self.used.add(key)
        if key not in self.data:
            if required:
                raise self.error("is missing", key)
            return default
        value = self.data[key]
        if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
            raise self.error(f"must be {_type_names(types)}, not a boolean", key)
        if not isinstance(value, types):
            raise self.error(f"must be {_type_names(types)}, not {type(value).__name__} "
                             f"{value!r}", key)
        return value

    def number(self, key: str, default, low, high, *, integer=False):
        value = self.get(key, int if integer else (int, float), default)
        if not low <= value <= high:
            raise self.error(f"{value!r} is out of range ({low} to {high})", key)
        return value

    def choice(self, key: str, choices, default):
        value = self.get(key, str, default)
        if value not in choices:
            raise self.error(f"{value!r} is not one of {', '.join(choices)}", key)
        return value

    def file(self, key: str) -> Optional[str]:
        value = self.get(key, str)
        if value is None:
            return None
        full = os.path.join(os.path.dirname(os.path.abspath(self.path)), value)
        if not os.path.isfile(full):
            raise self.error(f"no such file {full!r}", key)
        return full

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(f"unknown key(s) {', '.join(unknown)}")


def _type_names(types) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
             dict: "a table", list: "a list"}
    types = types if isinstance(types, tuple) else (types,)
    if set(types) == {int, float}:
        return "a number"
    return " or ".join(names.get(t, t.__name__) for t in types)


def load(path) -> Config:
    """Read and check a configuration file."""
    path = os.fspath(path)
    if tomllib is None:  # pragma: no cover
        raise ConfigError(f"{path}: reading TOML needs Python 3.11 (tomllib)")
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    return parse(data, path)


def parse(data: Dict[str, Any], path: str = "<config>") -> Config:
    """Check a configuration already read from TOML; ``path`` names it in errors."""
    top = _Table(path, "", data)
    device = top.get("device", str, required=True)
    if not _NAME.fullmatch(device):
        raise top.error(f"{device!r} must be 1-64 letters, digits, '_' or '-'", "device")
    broker = _broker(_Table(path, "broker", top.get("broker", dict, {})), device)
    disc = _Table(path, "discovery", top.get("discovery", dict, {}))
    discovery = disc.get("enabled", bool, True)
    discovery_prefix = disc.get("prefix", str, "homeassistant")
    if not _PREFIX.fullmatch(discovery_prefix):
        raise disc.error(f"{discovery_prefix!r} is not a topic prefix (levels of letters, "
                         "digits, '_' or '-', joined by '/')", "prefix")
    disc.done()
    pins: List[PinConfig] = []
    for kind in KINDS:
        entries = top.get(kind, list, [])
        for index, entry in enumerate(entries):
            pins.append(_pin(_Table(path, f"{kind}[{index}]", entry), kind))
    top.done()
    if not pins:
        raise top.error("configures no pins: add [[input]], [[output]], [[pwm]] or [[servo]] "
                        "tables")
    names: Dict[str, str] = {}
    places: Dict[Tuple[str, int], str] = {}
    for pin in pins:
        if pin.name in names:
            raise ConfigError(f"{path}: {pin.key}.name: {pin.name!r} is used by {names[pin.name]} "
                              "already")
        names[pin.name] = pin.key
        place = ("gpio", pin.gpio) if pin.gpio is not None else ("board", pin.board)
        if place in places:
            raise ConfigError(f"{path}: {pin.key}.{place[0]}: {place[1]} is used by "
                              f"{places[place]} already")
        places[place] = pin.key
    return Config(path, device, broker, discovery, discovery_prefix, tuple(pins))


def _broker(table: _Table, device: str) -> BrokerConfig:
    host = table.get("host", str, "localhost")
    if not host or len(host) > 253:
        raise table.error(f"{host!r} is not a host name", "host")
    tls_data = table.get("tls", dict)
    tls = None
    if tls_data is not None:
        sub = _Table(table.path, "broker.tls", tls_data)
        tls = TlsConfig(sub.file("ca"), sub.file("cert"), sub.file("key"),
                        sub.get("insecure", bool, False))
        if (tls.cert is None) != (tls.key is None):
            raise sub.error("cert and key go together: give both or neither", "cert")
        sub.done()
    port = table.number("port", 8883 if tls else 1883, 1, 65535, integer=True)
    client_id = table.get("client_id", str, f"rpio-{device}")
    if not 1 <= len(client_id.encode()) <= 128:
        raise table.error("must be 1 to 128 bytes", "client_id")
    username = table.get("username", str)
    password = table.get("password", str)
    password_file = table.file("password_file")
    if password is not None and password_file is not None:
        raise table.error("give password or password_file, not both", "password_file")
    if password_file is not None:
        try:
            with open(password_file, encoding="utf-8") as handle:
                password = handle.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as error:
            raise table.error(f"cannot read it ({error})", "password_file") from None
    if password is not None and username is None:
        raise table.error("a password needs a username", "username")
    prefix = table.get("prefix", str, "rpio")
    if not _PREFIX.fullmatch(prefix):
        raise table.error(f"{prefix!r} is not a topic prefix (levels of letters, digits, '_' "
                          "or '-', joined by '/')", "prefix")
    result = BrokerConfig(
        host=host, port=port, client_id=client_id,
        keepalive=table.number("keepalive", 30, 5, 65535, integer=True),
        prefix=prefix, username=username, password=password, tls=tls,
        session_expiry=table.number("session_expiry", 3600, 0, 0xFFFFFFFF, integer=True),
        reconnect_min=table.number("reconnect_min", 0.5, 0.01, 3600),
        reconnect_max=table.number("reconnect_max", 30.0, 0.01, 3600),
        max_payload=table.number("max_payload", 256, 16, 65536, integer=True),
        queue_limit=table.number("queue_limit", 1000, 1, 1_000_000, integer=True),
        queue_bytes=table.number("queue_bytes", 256 * 1024, 1024, 64 * 1024 * 1024,
                                 integer=True),
    )
    if result.reconnect_max < result.reconnect_min:
        raise table.error("must be at least reconnect_min", "reconnect_max")
    table.done()
    return result


def _pin(table: _Table, kind: str) -> PinConfig:
    name = table.get("name", str, required=True)
    if not _NAME.fullmatch(name):
        raise table.error(f"{name!r} must be 1-64 letters, digits, '_' or '-'", "name")
    gpio = table.get("gpio", int)
    board = table.get("board", int)
    if (gpio is None) == (board is None):
        raise table.error("give exactly one of gpio (a BCM number) or board (a header pin)",
                          "gpio")
    if gpio is not None and not 0 <= gpio <= 57:
        raise table.error(f"{gpio} is not a GPIO number", "gpio")
    if board is not None and not 1 <= board <= 40:
        raise table.error(f"{board} is not a header pin (1-40)", "board")
    options: Dict[str, Any] = {"kind": kind, "name": name, "key": table.where, "gpio": gpio,
                               "board": board}
    if kind in ("input", "output"):
        options["inverted"] = table.get("inverted", bool, False)
        device_class = table.get("device_class", str)
        if device_class is not None and not _NAME.fullmatch(device_class):
            raise table.error(f"{device_class!r} is not a device class", "device_class")
        options["device_class"] = device_class
    if kind == "input":
        options["pull"] = table.choice("pull", PULLS, "off")
        options["edge"] = table.choice("edge", EDGES, "both")
        options["debounce_ms"] = table.number("debounce_ms", 0, 0, 10000, integer=True)
    elif kind == "output":
        options["initial"] = table.number("initial", 0, 0, 1, integer=True)
        options["max_pulse_ms"] = table.number("max_pulse_ms", 60000, 1, 86_400_000,
                                               integer=True)
        options["pulse_ms"] = table.number("pulse_ms", 0, 0, options["max_pulse_ms"],
                                           integer=True)
    elif kind == "pwm":
        options["frequency"] = table.number("frequency", 1000.0, 0.1, 100000)
        options["initial"] = table.number("initial", 0, 0, 100)
    else:
        options["min_pulse_us"] = table.number("min_pulse_us", 1000, 100, 5000, integer=True)
        options["max_pulse_us"] = table.number("max_pulse_us", 2000, 100, 5000, integer=True)
        if options["max_pulse_us"] <= options["min_pulse_us"]:
            raise table.error("must be greater than min_pulse_us", "max_pulse_us")
        options["has_initial"] = "initial" in table.data
        options["initial"] = table.number("initial", 90, 0, 180)
    table.done()
    return PinConfig(**options)
