"""rpio-pwm benchmarks (issue 4, section 4). Prints one JSON document.

1. pulse_accuracy: a sweep of random schedules (increment, subcycle, channels, pacing) executed by
   the DMA model; every pulse's start and width compared with the schedule, in increments
   (target: 0 every time). Baseline, same run: the same schedules through RPIO 0.10's encoding
   (one mask word + one SET-or-CLR block per sample, every channel a full slot) -- its errors.
2. set_servo_rate: Servo.set_servo calls per second on the model; baseline: RPIO 0.10's way of
   changing a width (clear_channel_gpio + add_channel_pulse) in the same run.
3. cpu_while_running: process CPU time and Python function calls while a schedule runs. DMA on the
   model: one C++ call advances the model, no Python per pulse. Baseline: the software-timed engine
   (a Python thread calling write() for every edge) playing the same schedule.
4. ring_cost: bytes and compile time of a ring per schedule.

Usage: python bench/pwm.py [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import threading
import time

os.environ["RPIO_PWM_BACKEND"] = "model"
os.environ["RPIO_PWM_MODEL_CLOCK"] = "manual"

import rpio_pwm  # noqa: E402
from rpio_pwm import _pwm, _session, model  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _py_soft_pwm import SoftwareEngine  # noqa: E402  RPIO's former Python engine: the baseline

T = _pwm.TICKS_PER_US


# ---------------------------------------------------------------- 1. accuracy
def random_schedule(rng, n, gpios):
    sched = {}
    for g in gpios:
        ps = []
        for _ in range(rng.randint(1, 3)):
            s = rng.randrange(n)
            ps.append((s, rng.randint(1, max(1, min(n - s, n // 3)))))
        sched[g] = ps
    return sched


def levels(ps, n):
    lv = [0] * n
    for s, w in ps:
        for i in range(s, s + w):
            lv[i] = 1
    return lv


def runs(lv):
    out, i, n = [], 0, len(lv)
    while i < n:
        if lv[i]:
            b = i
            while i < n and lv[i]:
                i += 1
            out.append((b, i - b))
        else:
            i += 1
    return out


def rpio010_levels(sched, n, k):
    """What RPIO 0.10's encoding produces for one channel: per sample a mask word and one block whose
    destination (GPSET0 or GPCLR0) is shared by every pin in that sample; a pulse writes its bit at
    `start` (block -> SET), clears its bit in start+1..start+W-2, and writes it at start+W (block
    -> CLR). With k channels on the FIFO every sample lasts k increments."""
    mask = [0] * (n + 1)
    dst = ["clr"] * (n + 1)
    for g, ps in sched.items():
        for s, w in ps:
            if s + w > n - 1:
                continue  # refused by 0.10 (width_max = n-1)
            mask[s] |= 1 << g
            dst[s] = "set"
            for i in range(1, w - 1):
                mask[s + i] &= ~(1 << g)
            mask[s + w] |= 1 << g
            dst[s + w] = "clr"
    out = {}
    for g in sched:
        lv, cur = [], 0
        for i in range(n):
            if mask[i] & (1 << g):
                cur = 1 if dst[i] == "set" else 0
            lv.extend([cur] * k)
        out[g] = lv
    return out


def compare(expected_runs, got_runs):
    """max |start error|, max |width error| (increments) and how many pulses were missing/extra."""
    ds = dw = 0
    missing = abs(len(expected_runs) - len(got_runs))
    for (es, ew), (gs, gw) in zip(expected_runs, got_runs):
        ds, dw = max(ds, abs(gs - es)), max(dw, abs(gw - ew))
    return ds, dw, missing


def accuracy(cases, seed=7):
    rng = random.Random(seed)
    ours = {"schedules": 0, "pulses": 0, "max_start_error_incr": 0, "max_width_error_incr": 0, "missing_or_extra": 0}
    base = {"pulses": 0, "max_start_error_incr": 0, "max_width_error_incr": 0, "missing_or_extra": 0,
            "schedules_with_any_error": 0}
    for _ in range(cases):
        incr = rng.choice([1, 2, 5, 10, 20])
        k = rng.choice([1, 2, 3])
        pacing = rng.choice([0, 1])
        if pacing == 1 and incr * 10 // k < 1:
            pacing = 0
        subs = [rng.choice([3000, 4000, 6000]) for _ in range(k)]
        sim = _pwm.SimSoc(rng.choice(["BCM2835", "BCM2837", "BCM2711"]))
        ctrl = _pwm.Controller(sim)
        try:
            ctrl.setup(incr, pacing)
        except _pwm.PWMError:
            continue
        chans = [10, 9, 8][:k]
        scheds = {}
        try:
            for i, ch in enumerate(chans):
                ctrl.init_channel(ch, subs[i])
                sim.watch_cb(ch, ctrl.ring_info(ch)["first_cb_bus"])
        except _pwm.PWMError:  # no exact pacing for this (increment, channels): refused, not run
            ctrl.cleanup()
            continue
        for i, ch in enumerate(chans):
            n = subs[i] // incr
            gpios = list(range(4 + 8 * i, 4 + 8 * i + rng.randint(1, 6)))
            scheds[ch] = random_schedule(rng, n, gpios)
            for g, ps in scheds[ch].items():
                ctrl.set_pulses(ch, g, ps)
        sim.advance(max(subs) * 3 * T)
        ours["schedules"] += 1
        any_base_error = False
        for i, ch in enumerate(chans):
            n = subs[i] // incr
            starts = sim.ring_starts(ch)
            t0, t1 = starts[1], starts[2]  # a whole subcycle after the first
            for g, ps in scheds[ch].items():
                lv = levels(ps, n)
                want = runs(lv)
                trs = [(t, lvl) for (t, gg, lvl) in sim.transitions() if gg == g and t0 <= t < t1]
                # rebuild the level per increment from the transitions
                got_lv, cur, j = [], lv[-1], 0
                for s in range(n):
                    ts = t0 + s * incr * T
                    while j < len(trs) and trs[j][0] <= ts:
                        cur = trs[j][1]
                        j += 1
                    got_lv.append(cur)
                ds, dw, miss = compare(want, runs(got_lv))
                ours["pulses"] += len(want)
                ours["max_start_error_incr"] = max(ours["max_start_error_incr"], ds)
                ours["max_width_error_incr"] = max(ours["max_width_error_incr"], dw)
                ours["missing_or_extra"] += miss
                # off-grid transitions would also be errors
                if any((t - t0) % (incr * T) for t, _ in trs):
                    ours["max_start_error_incr"] = max(ours["max_start_error_incr"], 1)
            old = rpio010_levels(scheds[ch], n, k)
            for g, ps in scheds[ch].items():
                want = runs(levels(ps, n))   # increments
                got = runs(old[g])           # increments of real time (a sample lasts k of them)
                ds, dw, miss = compare(want, got)
                base["pulses"] += len(want)
                base["max_start_error_incr"] = max(base["max_start_error_incr"], ds)
                base["max_width_error_incr"] = max(base["max_width_error_incr"], dw)
                base["missing_or_extra"] += miss
                any_base_error |= bool(ds or dw or miss)
        base["schedules_with_any_error"] += any_base_error
        ctrl.cleanup()
    return ours, base


# ---------------------------------------------------------------- 2. set_servo rate
def set_servo_rate(calls):
    _session.reset()
    servo = rpio_pwm.Servo(dma_channel=6)
    servo.set_servo(17, 1500)
    widths = [1000 + 10 * (i % 100) for i in range(calls)]
    t = time.perf_counter()
    for w in widths:
        servo.set_servo(17, w)
    ours = calls / (time.perf_counter() - t)
    # baseline: RPIO 0.10's edit (clear then add), through the same API
    t = time.perf_counter()
    for w in widths:
        rpio_pwm.clear_channel_gpio(6, 17)
        rpio_pwm.add_channel_pulse(6, 17, 0, w // 10)
    base = calls / (time.perf_counter() - t)
    _session.reset()
    return ours, base


# ---------------------------------------------------------------- 3. CPU while running
SERVO_PINS = [4, 5, 6, 12, 13, 16, 17, 18]


def count_python_calls(fn):
    n = [0]

    def prof(frame, event, arg):
        if event == "call":
            n[0] += 1

    sys.setprofile(prof)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return n[0]


def cpu_while_running(seconds):
    _session.reset()
    servo = rpio_pwm.Servo(dma_channel=6)
    for i, g in enumerate(SERVO_PINS):
        servo.set_servo(g, 1000 + 100 * i)
    b = model.board()
    before_tr = b.sim.transitions_total
    c0 = time.process_time()
    calls = count_python_calls(lambda: b.advance_us(int(seconds * 1e6)))
    dma_cpu = time.process_time() - c0
    edges = b.sim.transitions_total - before_tr
    _session.reset()

    # baseline: the same eight 50 Hz servo pins played by the software engine for `seconds` of wall time
    edges_sw = [0]
    done = threading.Event()

    def write(g, lv):
        edges_sw[0] += 1

    eng = SoftwareEngine(write)
    c0 = time.process_time()
    w0 = time.perf_counter()
    for i, g in enumerate(SERVO_PINS):
        eng.set_pin(g, 20_000_000, [(0, (1000 + 100 * i) * 1000)])
    done.wait(seconds)
    for g in SERVO_PINS:
        eng.remove_pin(g)
    eng.stop()
    sw_cpu = time.process_time() - c0
    wall = time.perf_counter() - w0
    return {
        "simulated_seconds": seconds, "edges": edges,
        "dma_model_cpu_s": dma_cpu, "dma_model_python_calls": calls,
        "dma_model_python_calls_per_edge": calls / max(1, edges),
        "software_engine_wall_s": wall, "software_engine_cpu_s": sw_cpu, "software_engine_edges": edges_sw[0],
        "software_engine_python_writes_per_edge": 1.0,
        "cpu_ratio_dma_model_vs_software": dma_cpu / sw_cpu if sw_cpu else None,
        "note": "the DMA model's CPU is the simulation itself (on a Pi the DMA engine does this work); "
                "the Python work per pulse is the count that matters: 0",
    }


# ---------------------------------------------------------------- 4. ring cost
def ring_cost():
    out = {}
    for sub, incr in ((20000, 10), (20000, 1), (3000, 10), (1000000, 10)):
        sim = _pwm.SimSoc("BCM2837")
        c = _pwm.Controller(sim)
        c.setup(incr, 0)
        t = time.perf_counter()
        c.init_channel(3, sub)
        dt = time.perf_counter() - t
        out[f"{sub}us@{incr}us"] = {"samples": sub // incr, "bytes": _pwm.ring_bytes(sub // incr),
                                    "rpio010_bytes": (sub // incr) * 68, "compile_and_start_ms": dt * 1e3}
        c.cleanup()
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    cases = 40 if a.quick else 200
    t0 = time.perf_counter()
    ours, base = accuracy(cases)
    rate, rate_base = set_servo_rate(2000 if a.quick else 20000)
    cpu = cpu_while_running(1.0 if a.quick else 2.0)
    result = {
        "benchmark": "rpio-pwm", "version": rpio_pwm.__version__, "python": platform.python_version(),
        "machine": platform.machine(),
        "pulse_accuracy": {"rpio_pwm": ours, "baseline_rpio010_encoding": base,
                           "target": "0 increments of start and width error, every pulse"},
        "set_servo_rate": {"calls_per_s": rate, "baseline_clear_then_add_calls_per_s": rate_base,
                           "ratio": rate / rate_base},
        "cpu_while_running": cpu,
        "ring_cost": ring_cost(),
        "elapsed_s": time.perf_counter() - t0,
    }
    text = json.dumps(result, indent=2)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
