"""The simulated board as a workbench: the cost of a wire on output(), and the latency of an edge
caused by another process up to this process's RPIO callback. JSON out, ratios from one run.

    python bench/workbench.py [--calls N] [--repeat R] [--edges E]

Measured:
- output(): ns per call on the simulated Pi 4, best of R runs of N calls, for a pin with no wire
  and for a pin wired to an input (the model resolves the net and updates both pins), each both
  toggling (1, 0, 1, ...: every call changes the level, is recorded in the history) and writing
  the level the pin already has (the common case of io.py). Target: wired / unwired <= 1.2.
- edge latency: this process waits in RPIO's interrupt loop (add_interrupt_callback) on a shared
  board; another process drives the pin (RPIO.sim.drive), one edge at a time (it waits for this
  process's acknowledgement before the next). Latency = the callback's CLOCK_MONOTONIC time minus
  the edge's timestamp in the model (the same clock in both processes). p50/p99/max in us.
  Target: p99 < 2000 us.
- replay lateness: a VCD stimulus of --replay-changes changes 2 ms apart replayed onto a pin at
  scale 1.0, 0.5 and 2.0 (RPIO.workbench.vcd.Replay); lateness = the model's timestamp of each
  edge minus its time in the file (scaled) after the start, p50/p99/max in us. Never negative
  (the tests check that); how large is the machine's (the tests no longer bound it). Baseline in
  the same run: time.sleep(0.002)'s own oversleep, p50/p99. Target: p99 < 2000 us.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import textwrap

OUTPUT_SCRIPT = textwrap.dedent(
    """
    import json, sys, timeit
    import RPIO, RPIO.sim
    calls, repeat = int(sys.argv[1]), int(sys.argv[2])
    RPIO.setwarnings(False)
    RPIO.setup(17, RPIO.OUT)
    RPIO.setup(22, RPIO.OUT)
    RPIO.setup(27, RPIO.IN)
    RPIO.sim.wire(22, 27)
    o = RPIO.output
    def best(stmt):
        env = {"o": o}
        return min(timeit.repeat(stmt, globals=env, number=calls, repeat=repeat)) / calls * 1e9
    out = {
        # Two calls per statement: 1 then 0 (each one changes the level).
        "toggle_no_wire": best("o(17, 1); o(17, 0)") / 2,
        "toggle_wired": best("o(22, 1); o(22, 0)") / 2,
        "same_level_no_wire": best("o(17, 1)"),
        "same_level_wired": best("o(22, 1)"),
    }
    assert RPIO.input(27) == 1  # the wire did carry the level
    print(json.dumps(out))
    """
)

RECEIVER_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, threading, time
    import RPIO, RPIO.sim
    edges = int(sys.argv[1])
    latencies, done = [], threading.Event()
    ack = os.fdopen(int(sys.argv[2]), "w", buffering=1)

    def callback(gpio, value, event):
        latencies.append(time.monotonic_ns() - event.timestamp_ns)
        ack.write("ok\\n")
        if len(latencies) == edges:
            done.set()

    RPIO.add_interrupt_callback(22, callback, pull_up_down=RPIO.PUD_DOWN, with_event=True)
    RPIO.wait_for_interrupts(threaded=True)
    print("ready", flush=True)
    ok = done.wait(120)
    RPIO.stop_waiting_for_interrupts()
    print(json.dumps({"latencies": latencies, "complete": ok}), flush=True)
    """
)

DRIVER_SCRIPT = textwrap.dedent(
    """
    import os, sys
    import RPIO.sim
    edges, acks = int(sys.argv[1]), os.fdopen(int(sys.argv[2]))
    RPIO.sim.chip()
    for i in range(edges):
        RPIO.sim.drive(22, 1 if i % 2 == 0 else 0)
        if acks.readline() != "ok\\n":
            sys.exit("no acknowledgement")
    """
)


def run_output(calls: int, repeat: int) -> dict:
    env = dict(os.environ, RPIO_BACKEND="sim", RPIO_SIM_BOARD="c03111")
    env.pop("RPIO_SIM_SHARED", None)
    env.pop("RPIO_SIM_CONFIG", None)
    result = subprocess.run([sys.executable, "-c", OUTPUT_SCRIPT, str(calls), str(repeat)],
                            capture_output=True, text=True, env=env, check=False)
    if result.returncode:
        raise RuntimeError(result.stderr.strip())
    return json.loads(result.stdout)


def percentile(values: list, fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def run_latency(edges: int) -> dict:
    board = f"bench-{os.getpid()}"
    env = dict(os.environ, RPIO_BACKEND="sim", RPIO_SIM_SHARED=board, RPIO_SIM_BOARD="c03111")
    env.pop("RPIO_SIM_CONFIG", None)
    read_ack, write_ack = os.pipe()
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER_SCRIPT, str(edges), str(write_ack)],
                                stdout=subprocess.PIPE, text=True, env=env, pass_fds=(write_ack,))
    os.close(write_ack)
    try:
        if receiver.stdout.readline().strip() != "ready":
            raise RuntimeError("the receiver did not start")
        driver = subprocess.run([sys.executable, "-c", DRIVER_SCRIPT, str(edges), str(read_ack)],
                                env=env, pass_fds=(read_ack,), capture_output=True, text=True,
                                timeout=300, check=False)
        if driver.returncode:
            raise RuntimeError(driver.stderr.strip())
        report = json.loads(receiver.stdout.readline())
        receiver.wait(60)
    finally:
        os.close(read_ack)
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
        subprocess.run([sys.executable, "-c", f"import rpio_core; rpio_core.reset_board({board!r})"],
                       check=False)
    us = [value / 1000 for value in report["latencies"]]
    return {"edges": len(us), "complete": report["complete"], "p50_us": percentile(us, 0.5),
            "p99_us": percentile(us, 0.99), "max_us": max(us), "mean_us": sum(us) / len(us)}


REPLAY_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import RPIO, RPIO.sim
    from RPIO.workbench import vcd
    changes = int(sys.argv[1])
    RPIO.setwarnings(False)
    RPIO.setup(22, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    lines = ["$timescale 1us $end", "$var wire 1 ! GPIO22 $end", "$enddefinitions $end",
             "#0", "1!"]
    for i in range(1, changes + 1):
        lines += [f"#{i * 2000}", f"{i % 2 ^ 1}!"]
    text = "\\n".join(lines) + "\\n"
    out = {}
    for scale in (1.0, 0.5, 2.0):
        RPIO.sim.clear_history()
        replay = vcd.replay_vcd(text, scale=scale)
        late = []
        for (offset, _gpio, _level), (applied, _g, _l) in zip(replay.plan, replay.applied):
            late.append((applied - (replay.started_ns + offset)) / 1000)
        out[str(scale)] = late
    oversleep = []
    for _ in range(changes):
        t = time.monotonic_ns()
        time.sleep(0.002)
        oversleep.append((time.monotonic_ns() - t - 2_000_000) / 1000)
    out["sleep"] = oversleep
    print(json.dumps(out))
    """
)


def run_replay(changes: int) -> dict:
    env = dict(os.environ, RPIO_BACKEND="sim", RPIO_SIM_BOARD="c03111")
    env.pop("RPIO_SIM_SHARED", None)
    env.pop("RPIO_SIM_CONFIG", None)
    result = subprocess.run([sys.executable, "-c", REPLAY_SCRIPT, str(changes)],
                            capture_output=True, text=True, env=env, check=False, timeout=300)
    if result.returncode:
        raise RuntimeError(result.stderr.strip())
    raw = json.loads(result.stdout)
    report = {}
    for key, values in raw.items():
        report[key] = {"p50_us": percentile(values, 0.5), "p99_us": percentile(values, 0.99),
                       "max_us": max(values), "min_us": min(values)}
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--edges", type=int, default=2000)
    parser.add_argument("--replay-changes", type=int, default=500)
    args = parser.parse_args(argv)
    output = run_output(args.calls, args.repeat)
    latency = run_latency(args.edges)
    replay = run_replay(args.replay_changes)
    report = {
        "benchmark": "workbench",
        "machine": {"python": platform.python_version(),
                    "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
        "calls": args.calls, "repeat": args.repeat,
        "output_ns_per_call": output,
        "edge_latency_other_process_to_callback": latency,
        "replay_lateness_by_scale": {k: v for k, v in replay.items() if k != "sleep"},
        "baseline_sleep_2ms_oversleep": replay["sleep"],
        "ratios": {
            "toggle_wired_vs_no_wire": output["toggle_wired"] / output["toggle_no_wire"],
            "same_level_wired_vs_no_wire": output["same_level_wired"] / output["same_level_no_wire"],
            "replay_p50_lateness_vs_sleep_oversleep": (
                replay["1.0"]["p50_us"] / replay["sleep"]["p50_us"]
                if replay["sleep"]["p50_us"] > 0 else None),
        },
        "targets": {"wired_vs_no_wire": 1.2, "edge_latency_p99_us": 2000,
                    "replay_lateness_p99_us": 2000},
    }
    report["met"] = {
        "wired_vs_no_wire": max(report["ratios"]["toggle_wired_vs_no_wire"],
                                report["ratios"]["same_level_wired_vs_no_wire"]) <= 1.2,
        "edge_latency_p99": latency["p99_us"] < 2000,
        "replay_lateness_p99": max(v["p99_us"] for k, v in replay.items() if k != "sleep") < 2000,
        "replay_never_early": min(v["min_us"] for k, v in replay.items() if k != "sleep") >= 0,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
