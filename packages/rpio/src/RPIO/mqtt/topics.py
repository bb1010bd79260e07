"""The bridge's topics and payloads: what it publishes and what a command may say.

Topics (``<base>`` is ``<prefix>/<device>``; stable, documented in docs/mqtt.md):

- ``<base>/availability``        ``online`` / ``offline``, retained, QoS 1 (the last will)
- ``<base>/gpio/<name>/state``   ``0``/``1`` (a PWM duty in %, a servo angle), retained, QoS 1
- ``<base>/gpio/<name>/event``   JSON ``{"value", "timestamp_ns", "seqno"}``, QoS 1, not retained
- ``<base>/gpio/<name>/set``     commands (outputs, PWM, servos)
- ``<base>/error``               JSON ``{"topic", "error", "payload"}`` for refused commands and
                                 reports (queue overflow), QoS 1, not retained
"""

from __future__ import annotations

import json
import math
from typing import NamedTuple, Optional

ON_WORDS = {"1": 1, "on": 1, "true": 1, "0": 0, "off": 0, "false": 0}


class CommandError(ValueError):
    """A command that is refused: nothing changes, the reason goes to <base>/error."""


class Command(NamedTuple):
    value: float                 # output 0/1, PWM duty %, servo angle
    pulse_ms: Optional[int] = None


def availability(base: str) -> str:
    return f"{base}/availability"


def error(base: str) -> str:
    return f"{base}/error"


def state(base: str, name: str) -> str:
    return f"{base}/gpio/{name}/state"


def event(base: str, name: str) -> str:
    return f"{base}/gpio/{name}/event"


def command(base: str, name: str) -> str:
    return f"{base}/gpio/{name}/set"


def command_name(base: str, topic: str) -> Optional[str]:
    """The pin name of ``<base>/gpio/<name>/set``, None for any other topic."""
    head = f"{base}/gpio/"
    if not topic.startswith(head) or not topic.endswith("/set"):
        return None
    name = topic[len(head):-len("/set")]
    return name if name and "/" not in name else None


def format_number(value: float) -> str:
    """A state payload: integers without a decimal point, others with up to 3 decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}".rstrip("0")


def event_payload(value: int, timestamp_ns: int, seqno: int) -> bytes:
    return b'{"value":%d,"timestamp_ns":%d,"seqno":%d}' % (value, timestamp_ns, seqno)


def error_payload(topic: str, message: str, payload: bytes = b"") -> bytes:
    shown = payload[:64].decode("utf-8", "replace")
    return json.dumps({"topic": topic, "error": message, "payload": shown}).encode()


def parse_command(kind: str, payload: bytes, *, low: float = 0, high: float = 1,
                  max_pulse_ms: int = 0) -> Command:
    """A ``set`` payload for a pin of this kind; CommandError says what is wrong with it.

    output: ``0``/``1``/``ON``/``OFF``/``true``/``false`` (any case) or JSON
    ``{"value": 1, "pulse_ms": 500}`` (value as any of those; pulse_ms 1..max_pulse_ms). pwm and
    servo: a number from low to high, or ``{"value": n}``.
    """
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CommandError("payload is not UTF-8") from None
    if not text:
        raise CommandError("empty payload")
    pulse_ms = None
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as err:
            raise CommandError(f"payload is not valid JSON ({err.msg})") from None
        if not isinstance(data, dict) or "value" not in data:
            raise CommandError('a JSON command is an object with "value"')
        unknown = set(data) - ({"value", "pulse_ms"} if kind == "output" else {"value"})
        if unknown:
            raise CommandError(f"unknown key(s) in the command: {', '.join(sorted(unknown))}")
        raw = data["value"]
        if "pulse_ms" in data:
            pulse_ms = data["pulse_ms"]
            if isinstance(pulse_ms, bool) or not isinstance(pulse_ms, int) \
                    or not 1 <= pulse_ms <= max_pulse_ms:
                raise CommandError(f"pulse_ms must be an integer from 1 to {max_pulse_ms}")
    else:
        raw = text
    if kind == "output":
        value = _switch_value(raw)
        if pulse_ms is not None and value != 1:
            raise CommandError("a pulse is an ON command: value must be 1 with pulse_ms")
        return Command(value, pulse_ms)
    value = _number_value(raw)
    if not low <= value <= high:
        raise CommandError(f"{format_number(value)} is out of range ({format_number(low)} to "
                           f"{format_number(high)})")
    return Command(value)


def _switch_value(raw) -> int:
    if isinstance(raw, bool):
        return int(raw)
    if isinstance(raw, int) and raw in (0, 1):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ON_WORDS:
        return ON_WORDS[raw.strip().lower()]
    raise CommandError(f"{str(raw)[:32]!r} is not 0, 1, ON, OFF, true or false")


def _number_value(raw) -> float:
    if isinstance(raw, bool):
        raise CommandError("expected a number, not a boolean")
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        try:
            value = float(str(raw))
        except ValueError:
            raise CommandError(f"{str(raw)[:32]!r} is not a number") from None
    if not math.isfinite(value):
        raise CommandError("expected a finite number")
    return value
