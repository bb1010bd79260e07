"""output() and input() cost per call, against baselines measured in the same run. JSON out.

    python bench/io.py [--calls N] [--repeat R]

Measured (best of R runs of N calls, ns per call):
- baselines: a bare pybind11 function taking two ints (what RPi.GPIO-speed argument handling
  costs), and a bare METH_FASTCALL function taking two ints (the floor of any C call);
- RPIO on the simulated board (Pi 4 model): output(17, 1), input(18);
- RPIO over a file-backed register page through the hardware path (a fake /proc and
  /dev/gpiomem under a temporary RPIO_ROOT), as on a Pi but with ordinary memory;
- RPi.GPIO 0.7.1 over a file-backed register page (its own C code, run off a Pi through
  bench/_rpigpio_shim.c), when RPi.GPIO and a C compiler are installed.
Ratios: each RPIO figure over the bare pybind11 call (target <= 1.1) and over RPi.GPIO's
(brief's target <= 0.5).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap

HERE = pathlib.Path(__file__).resolve().parent

TIMER = textwrap.dedent(
    """
    import json, sys, timeit
    def best(stmt, env, calls, repeat):
        return min(timeit.repeat(stmt, globals=env, number=calls, repeat=repeat)) / calls * 1e9
    """
)

RPIO_SCRIPT = TIMER + textwrap.dedent(
    """
    import rpio_core, RPIO
    RPIO.setwarnings(False)
    RPIO.setup(17, RPIO.OUT)
    RPIO.setup(18, RPIO.IN)
    calls, repeat = int(sys.argv[1]), int(sys.argv[2])
    env = {"o": RPIO.output, "i": RPIO.input, "n": rpio_core._bench_noop2,
           "f": rpio_core._bench_fastcall_noop2}
    print(json.dumps({
        "pybind11_noop2": best("n(17, 1)", env, calls, repeat),
        "fastcall_noop2": best("f(17, 1)", env, calls, repeat),
        "output": best("o(17, 1)", env, calls, repeat),
        "input": best("i(18)", env, calls, repeat),
    }))
    """
)

RPIGPIO_SCRIPT = TIMER + textwrap.dedent(
    """
    import RPi.GPIO as GPIO
    GPIO.setmode(GPIO.BCM)
    GPIO.setwarnings(False)
    GPIO.setup(17, GPIO.OUT)
    GPIO.setup(18, GPIO.IN)
    calls, repeat = int(sys.argv[1]), int(sys.argv[2])
    env = {"o": GPIO.output, "i": GPIO.input}
    print(json.dumps({"output": best("o(17, 1)", env, calls, repeat),
                      "input": best("i(18)", env, calls, repeat)}))
    """
)

PI4_REVISION = bytes.fromhex("00c03111")


def run(script: str, calls: int, repeat: int, **env) -> dict:
    environment = dict(os.environ, **env)
    result = subprocess.run(
        [sys.executable, "-c", script, str(calls), str(repeat)],
        capture_output=True, text=True, env=environment, check=False,
    )
    if result.returncode:
        raise RuntimeError(result.stderr.strip().splitlines()[-1])
    return json.loads(result.stdout)


def fake_pi_root(directory: pathlib.Path) -> pathlib.Path:
    """A /proc that says Pi 4 and a /dev/gpiomem that is a 4 KiB file."""
    (directory / "proc/device-tree/system").mkdir(parents=True)
    (directory / "proc/device-tree/system/linux,revision").write_bytes(PI4_REVISION)
    (directory / "dev").mkdir()
    (directory / "dev/gpiomem").write_bytes(bytes(4096))
    return directory


def rpigpio(calls: int, repeat: int, directory: pathlib.Path):
    check = subprocess.run([sys.executable, "-c", "import importlib.util as u; "
                            "print(u.find_spec('RPi.GPIO') is not None)"],
                           capture_output=True, text=True)
    if check.stdout.strip() != "True":
        return None, "RPi.GPIO is not installed (pip install RPi.GPIO==0.7.1)"
    if shutil.which("cc") is None:
        return None, "no C compiler for the shim"
    library = directory / "shim.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(library),
                    str(HERE / "_rpigpio_shim.c"), "-ldl"], check=True)
    page, revision = directory / "page", directory / "revision"
    page.write_bytes(bytes(4096))
    revision.write_bytes(PI4_REVISION)
    return run(RPIGPIO_SCRIPT, calls, repeat, LD_PRELOAD=str(library),
               SHIM_GPIOMEM=str(page), SHIM_REVISION=str(revision)), None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        temp = pathlib.Path(temp)
        sim = run(RPIO_SCRIPT, args.calls, args.repeat, RPIO_BACKEND="sim",
                  RPIO_SIM_BOARD="c03111")
        page = run(RPIO_SCRIPT, args.calls, args.repeat, RPIO_BACKEND="hardware",
                   RPIO_ROOT=str(fake_pi_root(temp / "root")))
        baseline, why_not = rpigpio(args.calls, args.repeat, temp)
    bare = sim["pybind11_noop2"]
    report = {
        "benchmark": "io",
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or
                    platform.machine()},
        "calls": args.calls, "repeat": args.repeat, "unit": "ns per call (best of repeat)",
        "baselines": {"pybind11_noop2": bare, "fastcall_noop2": sim["fastcall_noop2"]},
        "rpio_sim": {"output": sim["output"], "input": sim["input"]},
        "rpio_register_page": {"output": page["output"], "input": page["input"]},
        "ratios": {
            "sim_output_vs_pybind11_noop2": sim["output"] / bare,
            "sim_input_vs_pybind11_noop2": sim["input"] / bare,
            "page_output_vs_pybind11_noop2": page["output"] / bare,
            "page_input_vs_pybind11_noop2": page["input"] / bare,
        },
        "targets": {"vs_pybind11_noop2": 1.1, "vs_rpigpio": 0.5},
    }
    if baseline:
        report["rpigpio_0_7_1_register_page"] = baseline
        report["ratios"]["page_output_vs_rpigpio"] = page["output"] / baseline["output"]
        report["ratios"]["page_input_vs_rpigpio"] = page["input"] / baseline["input"]
    else:
        report["rpigpio_0_7_1_register_page"] = {"skipped": why_not}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
