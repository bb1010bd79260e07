#!/usr/bin/env python3
"""output() and input() per call through the kernel's GPIO character device, on a gpio-sim chip
in the kernel tier's VM, against baselines measured in the same run. JSON out.

    python tests/kernel/run_tier.py --bench-chardev [--lgpio-path DIR] [-o FILE]

Subjects (ns per call, best of --repeat runs of --calls calls each, in each of --rounds rounds
that take the subjects in turn; the best round counts, so a noisy moment of the host (QEMU's
software emulation shares it) hurts no subject more than another):

- ``bare_ioctl``: a C program (compiled here with cc -O2) that requests the line and loops on
  GPIO_V2_LINE_SET_VALUES / GET_VALUES ioctls: the floor of any character-device library.
- ``rpio``: RPIO.output()/RPIO.input() with RPIO_BACKEND=chardev (the C++ fast path: one ioctl
  on the line request's fd), and ``python_call_floor_ns``: a METH_FASTCALL no-op taking two ints
  timed the same way (what calling any C function from Python costs; under emulation the
  interpreter is slowed far more than the kernel, so this floor weighs more than on a Pi).
- ``rpi_lgpio``: rpi-lgpio (RPi.GPIO's API on lgpio, from PyPI), the incumbent on the character
  device; found on --lgpio-path (a ``pip install --target`` directory) or the interpreter's path.

Outputs alternate 1, 0 (every call changes the line); inputs read an input line. Ratios:
rpio / bare_ioctl (target <= 1.3), the same less the Python call floor, and rpi_lgpio / rpio
(target >= 10). Under QEMU's software
emulation absolute numbers mean little; the ratios are what this reports on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "kernel"))  # the gpio-sim facade

import gpiosim  # noqa: E402

OUT_LINE, IN_LINE = 17, 18

BARE_C = r"""
#include <fcntl.h>
#include <linux/gpio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int request(int chip, unsigned offset, unsigned long long flags) {
    struct gpio_v2_line_request req;
    memset(&req, 0, sizeof req);
    req.offsets[0] = offset;
    req.num_lines = 1;
    strcpy(req.consumer, "bare-ioctl");
    req.config.flags = flags;
    if (ioctl(chip, GPIO_V2_GET_LINE_IOCTL, &req) < 0) { perror("GPIO_V2_GET_LINE_IOCTL"); exit(1); }
    return req.fd;
}

int main(int argc, char** argv) {
    if (argc != 6) { fprintf(stderr, "usage: chip out_line in_line calls repeat\n"); return 2; }
    int chip = open(argv[1], O_RDWR | O_CLOEXEC);
    if (chip < 0) { perror(argv[1]); return 1; }
    long calls = atol(argv[4]), repeat = atol(argv[5]);
    int out = request(chip, atoi(argv[2]), GPIO_V2_LINE_FLAG_OUTPUT);
    int in = request(chip, atoi(argv[3]), GPIO_V2_LINE_FLAG_INPUT);
    double best_out = 1e300, best_in = 1e300;
    for (long r = 0; r < repeat; ++r) {
        struct gpio_v2_line_values v = {0, 1};
        double t = now_ns();
        for (long i = 0; i < calls; ++i) {
            v.bits = i & 1 ? 0 : 1;
            if (ioctl(out, GPIO_V2_LINE_SET_VALUES_IOCTL, &v) < 0) { perror("SET_VALUES"); return 1; }
        }
        double per = (now_ns() - t) / calls;
        if (per < best_out) best_out = per;
        t = now_ns();
        for (long i = 0; i < calls; ++i) {
            v.mask = 1;
            if (ioctl(in, GPIO_V2_LINE_GET_VALUES_IOCTL, &v) < 0) { perror("GET_VALUES"); return 1; }
        }
        per = (now_ns() - t) / calls;
        if (per < best_in) best_in = per;
    }
    printf("{\"output_ns\": %.1f, \"input_ns\": %.1f}\n", best_out, best_in);
    return 0;
}
"""

TIMER = textwrap.dedent(
    """
    import json, sys, timeit
    calls, repeat = int(sys.argv[1]), int(sys.argv[2])
    def best(stmt, env, number):
        return min(timeit.repeat(stmt, globals=env, number=number, repeat=repeat)) / number * 1e9
    """
)

RPIO_SCRIPT = TIMER + textwrap.dedent(
    f"""
    import RPIO
    RPIO.setup({OUT_LINE}, RPIO.OUT)
    RPIO.setup({IN_LINE}, RPIO.IN)
    import rpio_core
    env = {{"o": RPIO.output, "i": RPIO.input, "n": rpio_core._bench_fastcall_noop2}}
    out = best("o({OUT_LINE}, 1); o({OUT_LINE}, 0)", env, calls // 2) / 2
    inp = best("i({IN_LINE}); i({IN_LINE})", env, calls // 2) / 2
    floor = best("n({OUT_LINE}, 1); n({OUT_LINE}, 0)", env, calls // 2) / 2
    RPIO.cleanup()
    print(json.dumps({{"output_ns": out, "input_ns": inp, "python_call_floor_ns": floor}}))
    """
)

LGPIO_SCRIPT = TIMER + textwrap.dedent(
    f"""
    import RPi.GPIO as GPIO
    import lgpio  # rpi-lgpio's RPi.GPIO, not RPi.GPIO 0.7.1: it needs lgpio
    GPIO.setwarnings(False)
    GPIO.setmode(GPIO.BCM)
    GPIO.setup({OUT_LINE}, GPIO.OUT)
    GPIO.setup({IN_LINE}, GPIO.IN)
    env = {{"o": GPIO.output, "i": GPIO.input}}
    out = best("o({OUT_LINE}, 1); o({OUT_LINE}, 0)", env, calls // 2) / 2
    inp = best("i({IN_LINE}); i({IN_LINE})", env, calls // 2) / 2
    GPIO.cleanup()
    print(json.dumps({{"output_ns": out, "input_ns": inp, "module": GPIO.__file__}}))
    """
)


def run_json(cmd, env=None, cwd=None):
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({result.returncode}): {result.stderr.strip()[-800:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def bare_ioctl(chip, calls, repeat, workdir):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return {"skipped": "no C compiler"}
    source = os.path.join(workdir, "bare_ioctl.c")
    binary = os.path.join(workdir, "bare_ioctl")
    with open(source, "w") as f:
        f.write(BARE_C)
    subprocess.run([cc, "-O2", "-o", binary, source], check=True)
    return run_json([binary, chip.dev_path, str(OUT_LINE), str(IN_LINE), str(calls), str(repeat)])


def rpio(chip, calls, repeat):
    env = dict(os.environ, RPIO_BACKEND="chardev", RPIO_CHIP=chip.dev_path)
    return run_json([sys.executable, "-c", RPIO_SCRIPT, str(calls), str(repeat)], env=env)


def rpi_lgpio(chip, calls, repeat, path):
    env = dict(os.environ, RPI_LGPIO_REVISION="c03111",
               RPI_LGPIO_CHIP=chip.name[len("gpiochip"):])
    if path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (path, env.get("PYTHONPATH")) if p)
    # lgpio makes its notification FIFO in LG_WD (else the working directory) and does not check
    # mkfifo: on the VM's 9p mounts that fails and lgpio reports only the chmod after it. A tmpfs
    # directory of its own, then.
    fifo_dir = tempfile.mkdtemp(prefix="rpio-bench-lgpio-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    env["LG_WD"] = fifo_dir
    try:
        return run_json([sys.executable, "-c", LGPIO_SCRIPT, str(calls), str(repeat)], env=env, cwd=fifo_dir)
    except RuntimeError as error:
        return {"skipped": f"rpi-lgpio did not run: {error}"}
    finally:
        shutil.rmtree(fifo_dir, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=4000)
    ap.add_argument("--repeat", type=int, default=25)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--lgpio-path", default=os.environ.get("RPIO_BENCH_LGPIO_PATH"),
                    help="a directory holding rpi-lgpio and lgpio (pip install --target DIR rpi-lgpio)")
    ap.add_argument("-o", "--output", help="also write the JSON to this file")
    args = ap.parse_args(argv)
    ok, why = gpiosim.available()
    if not ok:
        sys.exit(f"bench/chardev.py needs gpio-sim ({why}): python tests/kernel/run_tier.py --bench-chardev")
    with gpiosim.Chip(num_lines=58, label="pinctrl-bcm2711") as chip, \
            tempfile.TemporaryDirectory() as workdir:
        results: dict = {}
        lgpio_calls = max(100, args.calls // 20)  # it is slow: fewer calls, the same per-call figure
        for _ in range(args.rounds):
            for name, measure in (
                ("bare_ioctl", lambda: bare_ioctl(chip, args.calls, args.repeat, workdir)),
                ("rpio", lambda: rpio(chip, args.calls, args.repeat)),
                ("rpi_lgpio", lambda: rpi_lgpio(chip, lgpio_calls, args.repeat, args.lgpio_path)),
            ):
                got = measure()
                best = results.setdefault(name, got)
                for op in ("output_ns", "input_ns", "python_call_floor_ns"):
                    if op in got and op in best:
                        best[op] = round(min(best[op], got[op]), 1)
    ratios = {}
    for op in ("output_ns", "input_ns"):
        name = op[:-3]
        ours = results["rpio"][op]
        if op in results["bare_ioctl"]:
            bare = results["bare_ioctl"][op]
            ratios[f"rpio_over_bare_ioctl_{name}"] = round(ours / bare, 3)
            # what RPIO adds beyond the interpreter's own cost of calling any C function
            floor = results["rpio"]["python_call_floor_ns"]
            ratios[f"rpio_less_python_call_over_bare_ioctl_{name}"] = round((ours - floor) / bare, 3)
        if op in results["rpi_lgpio"]:
            ratios[f"rpi_lgpio_over_rpio_{name}"] = round(results["rpi_lgpio"][op] / ours, 2)
    out = {
        "bench": "chardev",
        "machine": f"{platform.machine()} {platform.release()} (gpio-sim in QEMU, accel "
                   f"{os.environ.get('RPIO_VM_ACCEL', '?')}: ratios only)",
        "calls": args.calls,
        "repeat": args.repeat,
        "rounds": args.rounds,
        "ns_per_call": results,
        "ratios": ratios,
        "targets": {"rpio_over_bare_ioctl": "<= 1.3", "rpi_lgpio_over_rpio": ">= 10"},
    }
    text = json.dumps(out, indent=2)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
