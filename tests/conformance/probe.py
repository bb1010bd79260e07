"""Run GPIO call sequences against one implementation and print what happened, as JSON.

    python probe.py MODULE < cases.json  ->  {"case name": [outcome, ...], ...}

MODULE is imported once ("RPi.GPIO" or "RPIO"); every case runs in a forked child, so each
starts from the freshly imported module. An outcome is the value's repr, or the exception's
builtin base type and message, plus the RuntimeWarnings raised, with their text.
"""

import importlib
import json
import os
import sys
import warnings

BUILTIN_ERRORS = (TypeError, ValueError, RuntimeError, OverflowError, AttributeError)


def builtin_name(error):
    for kind in BUILTIN_ERRORS:  # RPIO raises subclasses carrying RPIO 0.10's names
        if isinstance(error, kind):
            return kind.__name__
    return type(error).__name__


def run_case(GPIO, statements):
    outcomes = []
    for statement in statements:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = eval(statement, {"GPIO": GPIO})
                outcome = {"value": repr(value)}
            except Exception as error:  # noqa: BLE001 - the error is the observation
                outcome = {"error": builtin_name(error), "message": str(error)}
        outcome["warnings"] = [
            f"{w.category.__name__}: {w.message}" for w in caught
            if issubclass(w.category, RuntimeWarning)
        ]
        outcomes.append(outcome)
    return outcomes


def main():
    GPIO = importlib.import_module(sys.argv[1])
    cases = json.load(sys.stdin)
    results = {}
    page = os.environ.get("SHIM_GPIOMEM")  # RPi.GPIO's file-backed register page, if any
    for name, statements in cases.items():
        if page:  # every case starts from a chip in its reset state, as RPIO's fork does
            with open(page, "r+b") as registers:
                registers.write(bytes(4096))
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            payload = json.dumps(run_case(GPIO, statements)).encode()
            with os.fdopen(write, "wb") as pipe:
                pipe.write(payload)
            os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            data = pipe.read()
        os.waitpid(pid, 0)
        results[name] = json.loads(data) if data else "child died"
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
