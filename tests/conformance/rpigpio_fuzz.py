"""A seeded differential fuzzer: random RPi.GPIO programs run on the real RPi.GPIO 0.7.1 (its own C
code, off a Pi through _rpigpio_offpi.c) and on RPIO, compared call by call.

A program is a list of statements (probe.py runs them): setmode first, then random calls of the
I/O functions, the PWM class and the event API with hostile arguments (lists, nesting, floats, NaN,
huge ints, strings, None, keywords, wrong argument counts). Per call, the value, the exception's
type and message and the RuntimeWarnings must be equal. The first difference of a program is either
explained by an ALLOWED entry (a choice written down in docs/compat.md; the rest of that program is
then not compared, since the two states have parted on purpose) or it is a finding, minimised by
delta debugging (ddmin) to the few calls that still show it.

    python tests/conformance/rpigpio_fuzz.py --programs 2000 --seed 7   # a longer run, by hand
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Callable, Optional

HERE = pathlib.Path(__file__).resolve().parent
PROBE = HERE / "probe.py"
SHIM_SOURCE = HERE / "_rpigpio_offpi.c"
GPIO_COUNT = 54  # RPi.GPIO's gpio_direction[54]: the sysfs tree covers every gpio it accepts

# ----------------------------------------------------------------------------- the harness


def build_shim(directory: pathlib.Path) -> pathlib.Path:
    library = directory / "rpigpio_offpi.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(library), str(SHIM_SOURCE), "-ldl"],
                   check=True)
    return library


def make_sysfs(directory: pathlib.Path) -> pathlib.Path:
    """/sys/class/gpio as RPi.GPIO's event code sees it on a Pi with every gpio exported."""
    root = directory / "sysfs"
    root.mkdir()
    for name in ("export", "unexport"):
        (root / name).touch()
    for gpio in range(GPIO_COUNT):
        node = root / f"gpio{gpio}"
        node.mkdir()
        (node / "direction").touch()
        (node / "edge").touch()
        os.mkfifo(node / "value")
    return root


class Harness:
    """Two probe servers (RPi.GPIO under the shim, RPIO on the simulated board) on one board."""

    def __init__(self, revision: str, library: pathlib.Path, directory: pathlib.Path):
        self.revision = revision
        base = dict(os.environ, RPIO_BACKEND="sim", RPIO_SIM_BOARD=revision)
        page = directory / f"page-{revision}"
        page.write_bytes(bytes(4096))
        rev = directory / f"rev-{revision}"
        rev.write_bytes(int(revision, 16).to_bytes(4, "big"))
        sysfs = directory / "sysfs"
        if not sysfs.exists():
            make_sysfs(directory)
        rpigpio_env = dict(base, LD_PRELOAD=str(library), SHIM_GPIOMEM=str(page),
                           SHIM_REVISION=str(rev), SHIM_SYSFS=str(sysfs))
        self.servers = {
            "RPi.GPIO": self._start("RPi.GPIO", rpigpio_env),
            "RPIO": self._start("RPIO", base),
        }
        self.runs = 0

    @staticmethod
    def _start(module: str, env: dict) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, str(PROBE), module, "--serve"], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def _ask(self, module: str, program: list) -> list:
        server = self.servers[module]
        server.stdin.write(json.dumps(program) + "\n")
        server.stdin.flush()
        line = server.stdout.readline()
        if not line:
            raise RuntimeError(f"the {module} probe server died")
        return json.loads(line)

    def run(self, program: list) -> tuple:
        """(RPi.GPIO's outcomes, RPIO's), levels read by input() made comparable."""
        self.runs += 1
        expected = comparable(program, self._ask("RPi.GPIO", program))
        return expected, comparable(program, self._ask("RPIO", program))

    def close(self) -> None:
        for server in self.servers.values():
            server.stdin.close()
            server.wait(timeout=30)


# ----------------------------------------------------------------------------- the programs

BCM_CHANNELS = [17, 18, 27, 22, 23, 24, 4, 2, 3, 0, 1, 53, 12, 13]
BOARD_CHANNELS = [11, 12, 13, 15, 16, 18, 7, 3, 5, 1, 40, 26, 27, 32]
HOSTILE_CHANNELS = [
    "-1", "54", "99", "2**31", "-2**31 - 1", "2**40 + 17", "2**63", "2**70", "True", "False",
    "17.0", "'17'", "None", "b'1'", "nan", "[17, 18]", "(17, 18)", "[17, [18]]", "[]", "()",
    "[17, 'x']", "[1000, 'x']", "[27, [0], 1, 1]", "[17, 2**40]", "(2**70,)", "[None]",
]  # fmt: skip
SCALAR_HOSTILE = ["-1", "99", "1000", "'x'", "None", "17.0", "2**70", "2**40 + 17", "[0]", "True"]
SCALAR_VALUES = ["0", "1", "1", "0", "True", "2", "'x'", "None", "1.5", "2**70", "[1]"]
DIRECTIONS = ["GPIO.IN", "GPIO.OUT"]
HOSTILE_DIRECTIONS = ["5", "-1", "None", "'1'", "1.0", "2**40", "GPIO.BOTH"]
PULLS = ["GPIO.PUD_UP", "GPIO.PUD_DOWN", "GPIO.PUD_OFF", "99", "None", "'x'", "2**40"]
INITIALS = ["GPIO.HIGH", "GPIO.LOW", "-1", "2", "None", "'x'", "1.0"]
VALUES = [
    "0", "1", "True", "False", "2", "-1", "2**40", "2**70", "'1'", "None", "1.5", "[1, 0]",
    "(0,)", "[1, 'x']", "[]", "[0, 1, 1]", "(True, 2**40)",
]  # fmt: skip
NUMBERS = [
    "50", "100", "1", "0", "-1", "0.5", "99.9", "100.0", "100.000001", "100.01", "1e-50",
    "-1e-50", "1e39", "-0.0", "nan", "inf", "-inf", "10**400", "2**70", "True", "'50'", "None",
    "[50]", "1j", "2.5e3",
]  # fmt: skip
EDGES = ["GPIO.RISING", "GPIO.FALLING", "GPIO.BOTH", "GPIO.RISING", "30", "0", "'x'", "None"]
BOUNCETIMES = ["5", "200", "0", "-1", "'x'", "None", "2**40"]
TIMEOUTS = ["1", "3", "0", "-5", "'x'", "2**40", "1.5"]  # never -1 or missing: that waits forever


@dataclass
class Generator:
    rng: random.Random
    revision: str = "a02082"
    mode: str = "BCM"
    active: list = field(default_factory=list)
    pwm_names: list = field(default_factory=list)

    def pick(self, pool):
        return self.rng.choice(pool)

    def channel(self) -> str:
        roll = self.rng.random()
        if roll < 0.7:
            return str(self.pick(self.active))
        if roll < 0.8:
            return "[%s]" % ", ".join(str(c) for c in self.rng.sample(self.active, 2))
        if roll < 0.87:  # a list mixing good channels with one hostile element, anywhere
            items = [str(c) for c in self.rng.sample(self.active, self.rng.randint(1, 3))]
            items.insert(self.rng.randrange(len(items) + 1), self.pick(SCALAR_HOSTILE))
            opener, closer = ("[", "]") if self.rng.random() < 0.7 else ("(", ",)")
            return opener + ", ".join(items) + closer
        channel = self.pick(HOSTILE_CHANNELS)
        if channel == "54" and self.revision in BCM2711_BOARDS:
            return "58"  # 54-57 exist on a BCM2711 for RPIO (compat.md), not for RPi.GPIO
        return channel

    def maybe(self, pool, hostile, p=0.85):
        return self.pick(pool) if self.rng.random() < p else self.pick(hostile)

    def call(self, function: str, positional: list, keywords: list = (), names: tuple = ()):
        """A call with some arguments given by keyword (right or wrong names) or dropped/added."""
        args = list(positional)
        kwargs = list(keywords)
        roll = self.rng.random()
        if roll < 0.05 and args:
            args.pop()  # one too few
        elif roll < 0.08:
            args.append(self.pick(["1", "None", "'x'"]))  # one too many
        elif roll < 0.14 and names and args:
            index = self.rng.randrange(min(len(args), len(names)))
            kwargs.insert(0, f"{names[index]}={args[index]}")
            del args[index:]  # the rest would follow a keyword: pass them by keyword too
            kwargs.extend(f"{n}={a}" for n, a in zip(names[index + 1:], positional[index + 1:]))
        elif roll < 0.17:
            kwargs.append(self.pick(["foo=1", "channel=17", "enabled=False"]))
        return f"{function}({', '.join(args + kwargs)})"

    def statement(self) -> str:
        kinds = [
            ("setup", 20), ("output", 12), ("input", 8), ("cleanup", 4), ("gpio_function", 4),
            ("setwarnings", 2), ("setmode", 2), ("getmode", 1), ("pwm", 8), ("start", 6),
            ("duty", 5), ("freq", 5), ("stop", 4), ("del", 2), ("add_event_detect", 5),
            ("remove_event_detect", 3), ("event_detected", 3), ("add_event_callback", 3),
            ("wait_for_edge", 2),
        ]  # fmt: skip
        kind = self.rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        return getattr(self, "_" + kind)()

    def _setup(self):
        keywords = []
        direction = self.maybe(DIRECTIONS, HOSTILE_DIRECTIONS)
        if self.rng.random() < 0.4:
            keywords.append("pull_up_down=" + self.pick(PULLS))
        if self.rng.random() < 0.3:
            keywords.append("initial=" + self.pick(INITIALS))
        return self.call("GPIO.setup", [self.channel(), direction], keywords,
                         ("channel", "direction"))

    def _output(self):
        channel = self.channel()
        value = self.pick(VALUES)
        if channel.startswith(("[", "(")) and self.rng.random() < 0.6:
            count = channel.count(",") + 1 - channel.endswith(",)")
            count += self.rng.choice([0, 0, 0, 1, -1])
            value = "[%s]" % ", ".join(self.pick(SCALAR_VALUES) for _ in range(max(count, 0)))
        return self.call("GPIO.output", [channel, value], (), ("channel", "value"))

    def _input(self):
        return self.call("GPIO.input", [self.channel()], (), ("channel",))

    def _cleanup(self):
        if self.rng.random() < 0.15:
            return "GPIO.cleanup()"
        return self.call("GPIO.cleanup", [self.channel()], (), ("channel",))

    def _gpio_function(self):
        return self.call("GPIO.gpio_function", [self.channel()], (), ("channel",))

    def _setwarnings(self):
        return self.call("GPIO.setwarnings", [self.pick(["False", "True", "0", "'x'", "2**70"])])

    def _setmode(self):
        return self.call("GPIO.setmode", [self.pick(["GPIO.BCM", "GPIO.BOARD", "12", "None", "'x'"])],
                         (), ("mode",))

    def _getmode(self):
        return "GPIO.getmode()"

    def _pwm_name(self, new=False):
        if new or not self.pwm_names or self.rng.random() < 0.1:
            name = f"p{self.rng.randrange(3)}"
            if name not in self.pwm_names:
                self.pwm_names.append(name)
            return name
        return self.pick(self.pwm_names)

    def _pwm(self):
        name = self._pwm_name(new=True)
        call = self.call("GPIO.PWM", [self.channel(), self.pick(NUMBERS)], (),
                         ("channel", "frequency"))
        return f"{name} = {call}"

    def _start(self):
        return self.call(f"{self._pwm_name()}.start", [self.pick(NUMBERS)], (), ("dutycycle",))

    def _duty(self):
        return self.call(f"{self._pwm_name()}.ChangeDutyCycle", [self.pick(NUMBERS)], (),
                         ("dutycycle",))

    def _freq(self):
        return self.call(f"{self._pwm_name()}.ChangeFrequency", [self.pick(NUMBERS)], (),
                         ("frequency",))

    def _stop(self):
        return self.call(f"{self._pwm_name()}.stop", [])

    def _del(self):
        return f"del {self._pwm_name()}"

    def _add_event_detect(self):
        keywords = []
        if self.rng.random() < 0.4:
            keywords.append("callback=" + self.pick(["cb", "cb", "5", "None", "'x'"]))
        if self.rng.random() < 0.4:
            keywords.append("bouncetime=" + self.pick(BOUNCETIMES))
        return self.call("GPIO.add_event_detect", [self.channel(), self.pick(EDGES)], keywords,
                         ("channel", "edge"))

    def _remove_event_detect(self):
        return self.call("GPIO.remove_event_detect", [self.channel()], (), ("channel",))

    def _event_detected(self):
        return self.call("GPIO.event_detected", [self.channel()], (), ("channel",))

    def _add_event_callback(self):
        return self.call("GPIO.add_event_callback",
                         [self.channel(), self.pick(["cb", "cb", "cb", "5", "None"])], (),
                         ("channel", "callback"))

    def _wait_for_edge(self):
        keywords = ["timeout=" + self.pick(TIMEOUTS)]
        if self.rng.random() < 0.3:
            keywords.insert(0, "bouncetime=" + self.pick(BOUNCETIMES))
        call = self.call("GPIO.wait_for_edge", [self.channel(), self.pick(EDGES)], keywords,
                         ("channel", "edge"))
        return call if "timeout=" in call else None  # a dropped timeout would wait forever

    def program(self) -> list:
        self.mode = "BOARD" if self.rng.random() < 0.25 else "BCM"
        pool = BCM_CHANNELS if self.mode == "BCM" else BOARD_CHANNELS
        self.active = self.rng.sample(pool, 3)
        self.pwm_names = []
        statements = [f"GPIO.setmode(GPIO.{self.mode})"]
        for _ in range(self.rng.randint(5, 20)):
            statement = self.statement()
            if statement is not None:
                statements.append(statement)
        return statements


BCM2711_BOARDS = ("c03111", "b03111", "a03111", "c03112", "c03114", "d03114", "c03130")


def generate(seed: int, revision: str = "a02082") -> list:
    return Generator(random.Random(seed), revision).program()


_INPUT_CALL = re.compile(r"^GPIO\.input\(")


def comparable(program: list, outcomes):
    """The outcomes with input()'s levels reduced to "a level": RPi.GPIO runs over a plain file
    (no pulls, no level register that follows GPSET/GPCLR), so its levels mean nothing here. RPIO's
    levels are tested against its simulated chip elsewhere (tests/rpio, tests/core)."""
    if not isinstance(outcomes, list):
        return outcomes
    shown = []
    for statement, outcome in zip(program, outcomes):
        if _INPUT_CALL.match(statement) and outcome.get("value") in ("0", "1"):
            outcome = dict(outcome, value="<level>")
        shown.append(outcome)
    return shown


# ----------------------------------------------------------------------------- the verdict


def first_difference(expected, actual) -> Optional[int]:
    if not isinstance(expected, list) or not isinstance(actual, list):
        return -1 if expected != actual else None
    for index, (want, got) in enumerate(zip(expected, actual)):
        if want != got:
            return index
    return None if len(expected) == len(actual) else min(len(expected), len(actual))


def _failed(outcome, message: Optional[str] = None) -> bool:
    return "error" in outcome and (message is None or outcome["message"] == message)


def _list_call(statement: str) -> bool:
    return bool(re.match(r"^GPIO\.(setup|output|cleanup)\(\s*(channel=)?[\[(]", statement))


def _same_but_warnings(want, got) -> bool:
    return {k: v for k, v in want.items() if k != "warnings"} == {
        k: v for k, v in got.items() if k != "warnings"
    }


_MODE_UNSET = ("Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or "
               "GPIO.setmode(GPIO.BCM)")


@dataclass(frozen=True)
class Allowed:
    section: str  # the heading of docs/compat.md that writes the choice down
    why: str
    applies: Callable  # (program, index, expected, actual) -> bool


# Every difference RPIO keeps on purpose. Each names the docs/compat.md section that documents it;
# test_fuzz_rpigpio checks that the section exists.
ALLOWED = {
    "cleanup resets the mode to BCM": Allowed(
        "Chosen differently, on purpose",
        "after cleanup() RPi.GPIO has no numbering mode; RPIO goes back to its default, BCM",
        lambda program, i, expected, actual: "GPIO.cleanup()" in program[:i]
        and (_failed(expected[i], _MODE_UNSET) or program[i] == "GPIO.getmode()"),
    ),
    "a failing list call changes no pin": Allowed(
        "Chosen differently, on purpose",
        "RPi.GPIO changes (and warns about) the channels before the bad element; RPIO none",
        lambda program, i, expected, actual: any(
            _list_call(s) and _failed(e) for s, e in zip(program[:i], expected[:i])
        ) or (_list_call(program[i]) and _failed(expected[i]) and _same_but_warnings(expected[i], actual[i])),
    ),
    "cleanup of a list warns only if none was set up": Allowed(
        "Chosen differently, on purpose",
        "RPi.GPIO's warning depends on the last channel of the list only",
        lambda program, i, expected, actual: _list_call(program[i])
        and program[i].startswith("GPIO.cleanup")
        and _same_but_warnings(expected[i], actual[i]),
    ),
    "remove_event_detect before the registers are mapped": Allowed(
        "RPi.GPIO's event API",
        "RPi.GPIO says 'No access to /dev/mem' before its first setup()/gpio_function(); RPIO "
        "has nothing to remove and returns None",
        lambda program, i, expected, actual: program[i].startswith("GPIO.remove_event_detect")
        and _failed(expected[i], "No access to /dev/mem.  Try running as root!")
        and actual[i].get("value") == "None",
    ),
    "setwarnings() as RPIO 0.10 accepted it": Allowed(
        "RPIO 0.10's additions, in RPIO 2",
        "setwarnings() without an argument, or with enabled=, as RPIO 0.10 took it",
        lambda program, i, expected, actual: program[i].startswith("GPIO.setwarnings")
        and (re.search(r"setwarnings\(\)|enabled=", program[i]) is not None)
        and _failed(expected[i]) and actual[i].get("value") == "None",
    ),
    "a failed PWM() stops a running PWM": Allowed(
        "RPi.GPIO's PWM class",
        "RPi.GPIO's destructor of the half-built object stops the PWM of its gpio (gpio 0 if the "
        "arguments were wrong); RPIO's failed call changes nothing",
        lambda program, i, expected, actual: any(
            "GPIO.PWM(" in s and _failed(e) for s, e in zip(program[:i], expected[:i])
        ),
    ),
}


def explain(program, index, expected, actual) -> Optional[str]:
    if index < 0 or index >= min(len(expected), len(actual)):
        return None
    for name, allowed in ALLOWED.items():
        if allowed.applies(program, index, expected, actual):
            return name
    return None


def ddmin(program: list, still_fails: Callable[[list], bool]) -> list:
    """Zeller's delta debugging: a 1-minimal sub-list of statements that still fails."""
    granularity = 2
    while len(program) >= 2:
        size = max(1, len(program) // granularity)
        chunks = [program[i:i + size] for i in range(0, len(program), size)]
        reduced = False
        for index in range(len(chunks)):
            complement = [s for j, chunk in enumerate(chunks) if j != index for s in chunk]
            if complement and still_fails(complement):
                program, granularity, reduced = complement, max(granularity - 1, 2), True
                break
        if not reduced:
            if granularity >= len(program):
                break
            granularity = min(len(program), granularity * 2)
    return program


@dataclass
class Finding:
    program: list
    statement: str
    expected: object
    actual: object


@dataclass
class Report:
    programs: int = 0
    calls: int = 0
    agreed: int = 0
    explained: dict = field(default_factory=dict)  # allow-list entry -> count
    findings: list = field(default_factory=list)


def fuzz(harness: Harness, seeds, report: Report, minimise: bool = True) -> Report:
    for seed in seeds:
        program = generate(seed, harness.revision)
        expected, actual = harness.run(program)
        report.programs += 1
        report.calls += len(program)
        index = first_difference(expected, actual)
        if index is None:
            report.agreed += 1
            continue
        reason = explain(program, index, expected, actual)
        if reason is not None:
            report.explained[reason] = report.explained.get(reason, 0) + 1
            continue
        statement = program[index] if 0 <= index < len(program) else "<program>"

        def still_fails(rest, statement=statement, first=program[0]):
            candidate = [first] + rest  # setmode stays: without it RPIO's default mode answers
            want, got = harness.run(candidate)
            at = first_difference(want, got)
            return (at is not None and 0 <= at < len(candidate) and candidate[at] == statement
                    and explain(candidate, at, want, got) is None)

        small = program
        if minimise and index > 0:
            small = [program[0]] + ddmin(program[1:], still_fails)
        want, got = harness.run(small)
        at = first_difference(want, got)
        report.findings.append(Finding(small, statement, want[at] if at is not None and at >= 0
                                       and isinstance(want, list) else want,
                                       got[at] if at is not None and at >= 0
                                       and isinstance(got, list) else got))
    return report


def format_findings(findings: list) -> str:
    lines = []
    for finding in findings:
        lines.append("program: " + "; ".join(finding.program))
        lines.append(f"  at {finding.statement}")
        lines.append(f"  RPi.GPIO: {finding.expected}")
        lines.append(f"  RPIO:     {finding.actual}")
    return "\n".join(lines)


BOARDS = ("a02082", "c03111", "000e")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--boards", default=",".join(BOARDS))
    args = parser.parse_args(argv)
    if shutil.which("cc") is None:
        sys.exit("a C compiler is needed for the shim")
    report = Report()
    runs = 0
    with tempfile.TemporaryDirectory() as tmp:
        directory = pathlib.Path(tmp)
        library = build_shim(directory)
        boards = args.boards.split(",")
        per_board = -(-args.programs // len(boards))
        for number, revision in enumerate(boards):
            harness = Harness(revision, library, directory)
            try:
                start = args.seed * 1_000_000 + number * per_board
                fuzz(harness, range(start, start + per_board), report)
            finally:
                runs += harness.runs
                harness.close()
    print(json.dumps({"programs": report.programs, "calls": report.calls, "agreed": report.agreed,
                      "explained": report.explained, "findings": len(report.findings),
                      "program_runs_incl_minimising": runs}, indent=1))
    print(format_findings(report.findings))
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
