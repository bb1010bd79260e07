"""Run GPIO call sequences against one implementation and print what happened, as JSON.

    python probe.py MODULE < cases.json     ->  {"case name": [outcome, ...], ...}
    python probe.py MODULE --serve          ->  one JSON program per stdin line, one JSON list of
                                                outcomes per stdout line (the fuzzer's server)

MODULE is imported once ("RPi.GPIO" or "RPIO"); every case runs in a forked child, so each
starts from the freshly imported module. A statement is an expression, ``name = expression`` or
``del name``; names live for the rest of the program. An outcome is the value's repr (a PWM object
is "<PWM>"), or the exception's builtin base type and message, plus the RuntimeWarnings raised,
with their text. A child that hangs is killed after CHILD_TIMEOUT seconds.
"""

import importlib
import json
import math
import os
import re
import select
import signal
import sys
import warnings

BUILTIN_ERRORS = (TypeError, ValueError, RuntimeError, OverflowError, AttributeError, NameError)
ASSIGNMENT = re.compile(r"^([a-z]\w*) = (.+)$")
DELETION = re.compile(r"^del ([a-z]\w*)$")
CHILD_TIMEOUT = 20.0


def builtin_name(error):
    for kind in BUILTIN_ERRORS:  # RPIO raises subclasses carrying RPIO 0.10's names
        if isinstance(error, kind):
            return kind.__name__
    return type(error).__name__


def callback(channel):
    """The callable programs hand to the event API."""


def shown(value):
    if type(value).__name__ == "PWM":
        return "<PWM>"
    return repr(value)


def run_case(GPIO, statements):
    namespace = {"GPIO": GPIO, "cb": callback, "nan": math.nan, "inf": math.inf}
    outcomes = []
    for statement in statements:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                assignment = ASSIGNMENT.match(statement)
                deletion = DELETION.match(statement)
                if deletion:
                    exec(statement, namespace)
                    value = None
                elif assignment:
                    value = eval(assignment.group(2), namespace)
                    namespace[assignment.group(1)] = value
                else:
                    value = eval(statement, namespace)
                outcome = {"value": shown(value)}
                del value
            except Exception as error:  # noqa: BLE001 - the error is the observation
                outcome = {"error": builtin_name(error), "message": str(error)}
        outcome["warnings"] = [
            f"{w.category.__name__}: {w.message}" for w in caught
            if issubclass(w.category, RuntimeWarning)
        ]
        outcomes.append(outcome)
    return outcomes


def reset_chip():
    page = os.environ.get("SHIM_GPIOMEM")  # RPi.GPIO's file-backed register page, if any
    if page:  # every case starts from a chip in its reset state, as RPIO's fork does
        with open(page, "r+b") as registers:
            registers.write(bytes(4096))


def run_forked(GPIO, statements):
    reset_chip()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            payload = json.dumps(run_case(GPIO, statements)).encode()
        except BaseException as error:  # noqa: BLE001 - reported, never raised in the child
            payload = json.dumps(f"child failed: {error!r}").encode()
        with os.fdopen(write, "wb") as pipe:
            pipe.write(payload)
        os._exit(0)
    os.close(write)
    chunks = []
    with os.fdopen(read, "rb") as pipe:
        while True:
            ready, _, _ = select.select([pipe], [], [], CHILD_TIMEOUT)
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return "child timed out"
            chunk = os.read(pipe.fileno(), 65536)
            if not chunk:
                break
            chunks.append(chunk)
    os.waitpid(pid, 0)
    data = b"".join(chunks)
    return json.loads(data) if data else "child died"


def main():
    GPIO = importlib.import_module(sys.argv[1])
    if sys.argv[2:] == ["--serve"]:
        for line in sys.stdin:
            result = run_forked(GPIO, json.loads(line))
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()
        return
    cases = json.load(sys.stdin)
    results = {name: run_forked(GPIO, statements) for name, statements in cases.items()}
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
