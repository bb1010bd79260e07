"""What a Pi user waits for: installing RPIO from wheels vs compiling it from source.

    python bench/install.py [--no-arm64]        (nox -s bench_install; root for the arm64 half)

Measures, in one run, `pip install` of the four packages into a fresh venv
- here (x86-64): from the wheelhouse (scripts/wheelhouse.py) vs from the sources (sdists' build);
- in the arm64 Debian root under qemu-user (.ci/debian-root, cached): from the aarch64 wheels
  (dist/, `nox -s pi_wheels`) vs from the sources, compiled by the emulated Pi's own g++.
Each figure: wall seconds and the peak resident memory of the largest process of the install
(getrusage RUSAGE_CHILDREN ru_maxrss: the compiler, for a source build; under emulation it
includes qemu's own memory). Prints one JSON object with the ratios source/wheel per machine.
The emulated source build takes tens of minutes on 2 cores: --no-arm64 skips that half.
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

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ["rpio-core", "rpio-interrupts", "rpio-pwm", "rpio"]
sys.path.insert(0, str(ROOT / "scripts"))

# run inside the target Python: time one pip install in a fresh venv, report wall and peak RSS
MEASURE = r"""
import json, resource, subprocess, sys, time, venv
target, args = sys.argv[1], sys.argv[2:]
venv.create(target, with_pip=True, clear=True)
start = time.monotonic()
subprocess.run([target + "/bin/python", "-m", "pip", "install", "-q", "--disable-pip-version-check", *args], check=True)
wall = time.monotonic() - start
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall_s": round(wall, 1), "peak_rss_mib": round(peak_kib / 1024, 1)}))
"""


def measure(python: list[str], target: str, args: list[str], env: dict[str, str] | None = None) -> dict:
    out = subprocess.run([*python, "-c", MEASURE, target, *args], check=True, capture_output=True,
                         text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def here() -> dict:
    import wheelhouse  # scripts/wheelhouse.py

    house = ROOT / ".wheelhouse" / "bench-install"
    wheelhouse.main(["--quiet", "--out", str(house)])
    with tempfile.TemporaryDirectory() as tmp:
        wheels = measure([sys.executable], f"{tmp}/venv-wheel", ["--no-index", "--find-links", str(house), "rpio"])
        # from source: the packages' directories, each built by its backend (isolated, as a user's pip)
        source = measure([sys.executable], f"{tmp}/venv-source",
                         ["--no-cache-dir", *[str(ROOT / "packages" / name) for name in PACKAGES]])
    return {"machine": platform.machine(), "wheels": wheels, "source": source,
            "source_over_wheels_wall": round(source["wall_s"] / max(wheels["wall_s"], 0.01), 1)}


def arm64() -> dict:
    import pi_wheels  # scripts/pi_wheels.py

    wheels_dir = ROOT / "dist"
    tag = "cp311"
    pi = sorted(wheels_dir.glob(f"*-{tag}-{tag}-manylinux*_aarch64.whl"))
    if len(pi) != 2:
        return {"skipped": f"no {tag} aarch64 wheels in dist/ (nox -s pi_wheels)"}
    if os.geteuid() != 0:
        return {"skipped": "the emulated half needs root (chroot)"}
    root = pi_wheels.arm64_root("3.11")
    stage = root / "opt" / "rpio-bench"
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "wheels").mkdir(parents=True)
    pure = ROOT / ".wheelhouse" / "pure"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "wheelhouse.py"), "--quiet", "--out", str(pure),
                    "rpio-interrupts", "rpio"], check=True)
    for wheel in [*pi, *pure.glob("*.whl")]:
        shutil.copy2(wheel, stage / "wheels")
    subprocess.run(["tar", "-C", str(ROOT), "--exclude=build", "-cf", str(stage / "src.tar"), "packages", "VERSION"], check=True)
    subprocess.run(["tar", "-C", str(stage), "-xf", str(stage / "src.tar")], check=True)
    shutil.copy2("/etc/ssl/certs/ca-certificates.crt", root / "etc" / "ssl" / "certs" / "ca-certificates.crt")
    env = {"PATH": "/usr/bin:/bin", "HOME": "/root", "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
           "LANG": "C.UTF-8"}
    chroot = ["chroot", str(root), "python3"]
    mounted = not os.path.ismount(root / "proc")
    if mounted:
        subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    try:
        wheels = measure(chroot, "/opt/rpio-bench/venv-wheel",
                         ["--no-index", "--find-links", "/opt/rpio-bench/wheels", "rpio"], env)
        source = measure(chroot, "/opt/rpio-bench/venv-source",
                         ["--no-cache-dir", *[f"/opt/rpio-bench/packages/{name}" for name in PACKAGES]], env)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(root / "proc")], check=False)
    return {"machine": "aarch64 (qemu-user on " + platform.machine() + ")", "wheels": wheels, "source": source,
            "source_over_wheels_wall": round(source["wall_s"] / max(wheels["wall_s"], 0.01), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-arm64", action="store_true")
    args = parser.parse_args()
    result = {"benchmark": "install", "cpus": os.cpu_count(), "here": here()}
    result["arm64_emulated"] = {"skipped": "--no-arm64"} if args.no_arm64 else arm64()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
