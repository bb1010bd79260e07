"""Home Assistant MQTT discovery: one retained config message per pin.

``<discovery_prefix>/<component>/<device>/<name>/config``, component ``binary_sensor`` (inputs),
``switch`` (outputs), ``number`` (PWM duty in %, servo angle in degrees). Each carries the pin's
topics, the device's availability topic, a unique id ``rpio_<device>_<name>`` and the device
information, so Home Assistant groups a board's pins under one device. A pin removed from the
configuration has its entry removed: the bridge reads back the retained config topics under its
device on connect and publishes an empty retained message on each one it no longer announces.
"""

from __future__ import annotations

import json
from typing import Dict, Optional

from . import topics
from .config import Config, PinConfig

COMPONENTS = {"input": "binary_sensor", "output": "switch", "pwm": "number", "servo": "number"}


def config_topic(config: Config, pin: PinConfig) -> str:
    return f"{config.discovery_prefix}/{COMPONENTS[pin.kind]}/{config.device}/{pin.name}/config"


def device_wildcard(config: Config) -> str:
    """Matches every discovery config topic of this device, whatever the component."""
    return f"{config.discovery_prefix}/+/{config.device}/+/config"


def is_device_topic(config: Config, topic: str) -> bool:
    parts = topic.split("/")
    prefix = config.discovery_prefix.split("/")
    return (len(parts) == len(prefix) + 4 and parts[:len(prefix)] == prefix
            and parts[-3] == config.device and parts[-1] == "config")


def payload(config: Config, pin: PinConfig, *, model: str, sw_version: str) -> Dict:
    base = config.base
    entity: Dict = {
        "name": pin.name,
        "unique_id": f"rpio_{config.device}_{pin.name}",
        "object_id": f"{config.device}_{pin.name}",
        "state_topic": topics.state(base, pin.name),
        "availability": [{"topic": topics.availability(base), "payload_available": "online",
                          "payload_not_available": "offline"}],
        "qos": 1,
        "device": {
            "identifiers": [f"rpio_{config.device}"],
            "name": config.device,
            "manufacturer": "RPIO",
            "model": model,
            "sw_version": sw_version,
        },
        "origin": {"name": "RPIO", "sw_version": sw_version},
    }
    if pin.kind == "input":
        entity.update(payload_on="1", payload_off="0")
    elif pin.kind == "output":
        entity.update(command_topic=topics.command(base, pin.name), payload_on="1",
                      payload_off="0", state_on="1", state_off="0")
    elif pin.kind == "pwm":
        entity.update(command_topic=topics.command(base, pin.name), min=0, max=100, step=1,
                      unit_of_measurement="%", mode="slider")
    else:
        entity.update(command_topic=topics.command(base, pin.name), min=0, max=180, step=1,
                      unit_of_measurement="°", mode="slider")
    if pin.device_class:
        entity["device_class"] = pin.device_class
    return entity


def messages(config: Config, *, model: str, sw_version: str) -> Dict[str, bytes]:
    """Every discovery topic of this configuration and its payload."""
    return {config_topic(config, pin): json.dumps(payload(config, pin, model=model,
                                                          sw_version=sw_version),
                                                  ensure_ascii=False).encode()
            for pin in config.pins}


def stale(config: Config, retained: Dict[str, bytes], announced: Dict[str, bytes]) -> Dict[str, Optional[bytes]]:
    """The retained topics read back that this configuration no longer announces (to clear)."""
    return {topic: None for topic, body in retained.items()
            if body and topic not in announced and is_device_topic(config, topic)}
