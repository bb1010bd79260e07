"""``rpio selftest``: a Raspberry Pi checks itself through one jumper wire, and says what it found.

::

    from RPIO import selftest
    report = selftest.run(jumper=(22, 27), quick=True)
    print(report.text())              # or report.to_json() (selftest.SCHEMA describes it)

With a wire between the two GPIOs, the output pin drives the input pin: levels both ways, pulls,
function readback, edges with their kernel timestamps (latency, lost edges), debounce, RPi.GPIO's
event API, every PWM engine this board has (period and width measured on the wire), the TCP loop
and the idle cost of a waiting loop. Off a Pi it runs on the simulated board with a wire between
the two pins, so the same command runs in CI. docs/check-your-pi.md shows a report.

Safety: it refuses pins that are outputs, in an ALT function or held by another program; it leaves
both pins inputs without pull, also on Ctrl-C and SIGTERM.
"""

from __future__ import annotations

from typing import Callable, Optional, Tuple

from .checks import Context, PinsNotFree
from .report import FORMAT, FORMAT_VERSION, SCHEMA, Report, Step

__all__ = ["DEFAULT_JUMPER", "FORMAT", "FORMAT_VERSION", "SCHEMA", "PinsNotFree", "Report",
           "Step", "run"]

DEFAULT_JUMPER = (22, 27)  # as tests/hardware: header pins 15 and 13, free on every 40-pin Pi


def run(jumper: Tuple[int, int] = DEFAULT_JUMPER, *, quick: bool = False, sim_wire: bool = True,
        on_step: Optional[Callable[[Step], None]] = None,
        progress: Optional[Callable[[str], None]] = None) -> Report:
    """Run every check on this board; returns the report (also when interrupted: then
    ``report.interrupted`` is True, and the pins are restored before KeyboardInterrupt goes on).

    ``sim_wire`` (simulated board only): place the jumper wire between the two pins (False
    simulates a board whose wire is missing). Raises PinsNotFree before touching anything if a
    pin is in use.
    """
    import RPIO

    from . import checks

    out_gpio, in_gpio = jumper
    ctx = Context(RPIO, out_gpio, in_gpio, quick=quick, progress=progress)
    board = checks.board_facts(RPIO)
    report = Report(rpio_version=RPIO.version()[0], board=board,
                    access=checks.access_facts(board),
                    jumper={"out": out_gpio, "in": in_gpio,
                            "out_pin": checks.header_pin(out_gpio) if 0 <= out_gpio < 64 else None,
                            "in_pin": checks.header_pin(in_gpio) if 0 <= in_gpio < 64 else None})
    checks.check_pins_free(ctx)
    wire = _place_sim_wire(ctx) if ctx.simulated and sim_wire else None

    def add(step: Step) -> None:
        report.steps.append(step)
        if on_step is not None:
            on_step(step)

    try:
        add(_board_step(report))
        add(_access_step(report))
        for check in (checks.step_wire_registers, checks.step_wire_chardev, checks.step_pulls,
                      checks.step_function_readback, checks.step_edges, checks.step_debounce,
                      checks.step_event_api):
            ctx.progress(check.__name__[5:].replace("_", " "))
            add(check(ctx))
        # the loop's own costs before any PWM engine has run (a simulated DMA model keeps a
        # pump thread going once started, which would count as the idle loop's CPU)
        ctx.progress("tcp")
        add(checks.step_tcp(ctx))
        ctx.progress("idle cpu")
        add(checks.step_idle_cpu(ctx))
        for engine_id, description, factory in checks.pwm_engines(ctx):
            for setting in checks.PWM_SETTINGS:
                add(checks.step_pwm(ctx, engine_id, description, factory, setting))
    except KeyboardInterrupt:
        report.interrupted = True
        raise
    finally:
        checks.restore(ctx)
        if wire is not None:
            wire.remove()
    return report


def _place_sim_wire(ctx: Context):
    """On the simulated board, the jumper: a wire between the two pins, unless one is there."""
    from .. import sim

    for existing in sim.wires():
        if {ctx.out, ctx.inp} <= set(existing.gpios):
            return None
    return sim.wire(ctx.out, ctx.inp)


def _board_step(report: Report) -> Step:
    board = report.board
    where = "simulated board" if board["simulated"] else f"backend {board['backend']}"
    return Step("board", "board", "PASS",
                f"Raspberry Pi {board['model']} (revision {board['revision']}, {board['chip']}), "
                f"kernel {board['kernel']}, {where}: {board['backend_reason']}", dict(board))


def _access_step(report: Report) -> Step:
    access = report.access
    if report.board["simulated"]:
        return Step("access", "access", "SKIP", "the simulated board needs no device node")
    missing = access["missing"]
    if not missing:
        return Step("access", "access", "PASS",
                    f"{len(access['devices'])} device nodes, all usable", {"devices": len(access["devices"])})
    fixes = sorted({entry["fix"] for entry in missing})
    return Step("access", "access", "WARN",
                "cannot use " + ", ".join(entry["path"] for entry in missing),
                {"missing": [entry["path"] for entry in missing]}, "; ".join(fixes))
