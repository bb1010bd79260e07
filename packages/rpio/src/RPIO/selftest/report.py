"""The selftest's report: steps with a status, figures and advice; as text and as versioned JSON.

The JSON format is ``{"format": "rpio-selftest", "version": 1, ...}`` and is described by
``SCHEMA`` (JSON Schema, draft 2020-12; docs/check-your-pi.md). It holds no personal data: no host
name, user name, address, serial number or path under a home directory.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

FORMAT = "rpio-selftest"
FORMAT_VERSION = 1
STATUSES = ("PASS", "WARN", "FAIL", "SKIP")


@dataclasses.dataclass
class Step:
    """One check: ``status`` PASS (works as it should), WARN (works, figures outside what this
    engine or board should reach: often a busy machine), FAIL (broken: ``advice`` says what to do)
    or SKIP (not possible here: ``summary`` says why)."""

    id: str
    title: str
    status: str
    summary: str
    figures: Dict[str, Any] = dataclasses.field(default_factory=dict)
    advice: Optional[str] = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")

    def line(self) -> str:
        text = f"{self.status:<4}  {self.title}: {self.summary}"
        if self.advice and self.status in ("FAIL", "WARN"):
            text += f"\n      -> {self.advice}"
        return text


@dataclasses.dataclass
class Report:
    rpio_version: str
    board: Dict[str, Any]
    access: Dict[str, Any]
    jumper: Dict[str, Any]
    steps: List[Step] = dataclasses.field(default_factory=list)
    interrupted: bool = False

    def counts(self) -> Dict[str, int]:
        return {status.lower(): sum(step.status == status for step in self.steps)
                for status in STATUSES}

    @property
    def passed(self) -> bool:
        return not self.interrupted and not any(step.status == "FAIL" for step in self.steps)

    def step(self, step_id: str) -> Step:
        return next(step for step in self.steps if step.id == step_id)

    def to_json(self) -> Dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "rpio_version": self.rpio_version,
            "board": self.board,
            "access": self.access,
            "jumper": self.jumper,
            "steps": [dataclasses.asdict(step) for step in self.steps],
            "summary": {**self.counts(), "passed": self.passed, "interrupted": self.interrupted},
        }

    def text(self) -> str:
        board = self.board
        lines = [f"RPIO {self.rpio_version} selftest",
                 f"board: {board['model']} (revision {board['revision']}, {board['chip']}), "
                 f"kernel {board['kernel']}, "
                 f"{'simulated' if board['simulated'] else 'backend ' + board['backend']}",
                 f"jumper: GPIO {self.jumper['out']} -> GPIO {self.jumper['in']}"]
        lines += [step.line() for step in self.steps]
        counts = self.counts()
        verdict = "INTERRUPTED" if self.interrupted else ("PASSED" if self.passed else "FAILED")
        lines.append(f"{verdict}: {counts['pass']} passed, {counts['fail']} failed, "
                     f"{counts['warn']} warnings, {counts['skip']} skipped")
        return "\n".join(lines) + "\n"


_FIGURES = {"type": "object", "additionalProperties": {
    "type": ["number", "string", "boolean", "null", "array", "object"]}}

SCHEMA: Dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "RPIO selftest report",
    "type": "object",
    "required": ["format", "version", "rpio_version", "board", "access", "jumper", "steps",
                 "summary"],
    "additionalProperties": False,
    "properties": {
        "format": {"const": FORMAT},
        "version": {"const": FORMAT_VERSION},
        "rpio_version": {"type": "string"},
        "board": {
            "type": "object",
            "required": ["model", "revision", "chip", "kernel", "firmware", "simulated", "backend",
                         "backend_reason", "gpio_count"],
            "additionalProperties": False,
            "properties": {
                "model": {"type": "string"}, "revision": {"type": "string"},
                "chip": {"type": "string"}, "kernel": {"type": "string"},
                "firmware": {"type": ["string", "null"]}, "simulated": {"type": "boolean"},
                "backend": {"type": "string"}, "backend_reason": {"type": "string"},
                "gpio_count": {"type": "integer"},
            },
        },
        "access": {
            "type": "object",
            "required": ["root", "devices", "missing"],
            "additionalProperties": False,
            "properties": {
                "root": {"type": "boolean"},
                "devices": {"type": "array", "items": {
                    "type": "object", "required": ["path", "exists", "readable", "writable",
                                                   "group", "needed_for"],
                    "additionalProperties": False,
                    "properties": {"path": {"type": "string"}, "exists": {"type": "boolean"},
                                   "readable": {"type": "boolean"},
                                   "writable": {"type": "boolean"},
                                   "group": {"type": ["string", "null"]},
                                   "needed_for": {"type": "string"}}}},
                "missing": {"type": "array", "items": {
                    "type": "object", "required": ["path", "fix"], "additionalProperties": False,
                    "properties": {"path": {"type": "string"}, "fix": {"type": "string"}}}},
            },
        },
        "jumper": {
            "type": "object", "required": ["out", "in", "out_pin", "in_pin"],
            "additionalProperties": False,
            "properties": {"out": {"type": "integer"}, "in": {"type": "integer"},
                           "out_pin": {"type": ["integer", "null"]},
                           "in_pin": {"type": ["integer", "null"]}},
        },
        "steps": {"type": "array", "items": {
            "type": "object", "required": ["id", "title", "status", "summary", "figures", "advice"],
            "additionalProperties": False,
            "properties": {"id": {"type": "string", "pattern": "^[a-z0-9-]+$"},
                           "title": {"type": "string"},
                           "status": {"enum": list(STATUSES)},
                           "summary": {"type": "string"},
                           "figures": _FIGURES,
                           "advice": {"type": ["string", "null"]}}}},
        "summary": {
            "type": "object",
            "required": ["pass", "warn", "fail", "skip", "passed", "interrupted"],
            "additionalProperties": False,
            "properties": {"pass": {"type": "integer"}, "warn": {"type": "integer"},
                           "fail": {"type": "integer"}, "skip": {"type": "integer"},
                           "passed": {"type": "boolean"}, "interrupted": {"type": "boolean"}},
        },
    },
}
