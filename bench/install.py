"""What a Pi user waits for: installing RPIO from wheels vs compiling it from source.

    python bench/install.py [--no-here] [--no-arm64] [--no-armhf]
                            (nox -s bench_install; root for the emulated halves)

Measures, in one run, `pip install` of the four packages into a fresh venv
- here (x86-64): from the wheelhouse (scripts/wheelhouse.py) vs from the sources (sdists' build);
- in the arm64 Debian root under qemu-user (.ci/debian-root, cached): from the aarch64 wheels
  (dist/, `nox -s pi_wheels`) vs from the sources, compiled by the emulated Pi's own g++.
- in the armhf (32-bit Raspberry Pi OS) root: from the sources only, as piwheels builds our sdists.
Each figure: wall seconds, the peak resident memory of the largest process of the install
(getrusage RUSAGE_CHILDREN ru_maxrss: the compiler, for a source build) and the peak of the
install's whole process tree, sampled every 0.25 s (ninja runs cpus+1 compilers at once on 1-2
cores, cpus+2 above). Under emulation every figure includes qemu-user's own memory, so it is an
upper bound of what a Pi uses. Prints one JSON object with the ratios source/wheel per machine.
The emulated source builds take tens of minutes on 2 cores: --no-arm64 / --no-armhf skip them.
"""

from __future__ import annotations

import argparse
import functools
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
import json, os, resource, subprocess, sys, threading, time, venv
target, args = sys.argv[1], sys.argv[2:]
venv.create(target, with_pip=True, clear=True)


def tree_rss_kib(top):
    # the resident memory of `top` and every process under it, summed (parallel compilers add up)
    parent, rss = {}, {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/" + name + "/status") as status:
                    fields = dict(line.split(":", 1) for line in status if ":" in line)
                parent[int(name)] = int(fields["PPid"])
                rss[int(name)] = int(fields.get("VmRSS", "0 kB").split()[0])
            except (OSError, KeyError, ValueError):
                pass
    total = 0
    for pid, kib in rss.items():
        p, seen = pid, 0
        while p > 1 and p != top and seen < 64:
            p, seen = parent.get(p, 0), seen + 1
        total += kib if p == top else 0
    return total


start = time.monotonic()
proc = subprocess.Popen([target + "/bin/python", "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
                        stdout=sys.stderr)
peak_tree = 0
while proc.poll() is None:
    peak_tree = max(peak_tree, tree_rss_kib(proc.pid))
    time.sleep(0.25)
wall = time.monotonic() - start
if proc.returncode:
    sys.exit("pip install failed: exit %d" % proc.returncode)
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall_s": round(wall, 1), "peak_rss_mib": round(peak_kib / 1024, 1),
                  "peak_total_rss_mib": round(peak_tree / 1024, 1), "cpus": os.cpu_count()}))
"""


def measure(python: list[str], target: str, args: list[str], env: dict[str, str] | None = None) -> dict:
    # pip's errors go to stderr as they come (a failed build is seen, not swallowed)
    out = subprocess.run([*python, "-c", MEASURE, target, *args], check=True, stdout=subprocess.PIPE,
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


BUILD_TOOLS = ("g++", "cmake", "ninja-build", "python3-dev", "python3-venv")


@functools.cache
def sdists(out: pathlib.Path) -> list[pathlib.Path]:
    """The four packages' sdists (what PyPI and piwheels get), built here into `out` once a run."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    builder = pathlib.Path(sys.executable)
    try:
        import build  # noqa: F401
    except ImportError:  # a throwaway venv with pypa/build
        subprocess.run([sys.executable, "-m", "venv", str(out / "venv")], check=True)
        builder = out / "venv" / "bin" / "python"
        subprocess.run([str(builder), "-m", "pip", "install", "-q", "build"], check=True)
    for name in PACKAGES:
        subprocess.run([str(builder), "-m", "build", "--sdist", "--outdir", str(out), str(ROOT / "packages" / name)],
                       check=True, stdout=subprocess.DEVNULL)
    return sorted(out.glob("*.tar.gz"))


def emulated(arch: str) -> dict:
    """The emulated half for one Pi architecture: arm64 (64-bit Raspberry Pi OS) from our aarch64
    wheels vs from source; armhf (32-bit, what piwheels builds from our sdists) from source only."""
    import pi_wheels  # scripts/pi_wheels.py

    if os.geteuid() != 0:
        return {"skipped": "the emulated half needs root (chroot)"}
    tag = "cp311"
    pi = sorted((ROOT / "dist").glob(f"*-{tag}-{tag}-manylinux*_aarch64.whl")) if arch == "arm64" else []
    if arch == "arm64" and len(pi) != 2:
        return {"skipped": f"no {tag} aarch64 wheels in dist/ (nox -s pi_wheels)"}
    root = pi_wheels.debian_root(arch, "bookworm", list(BUILD_TOOLS))
    stage = root / "opt" / "rpio-bench"
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "wheels").mkdir(parents=True)
    if pi:  # the pure-Python wheels beside the Pi wheels (armhf measures the sdists only)
        pure = ROOT / ".wheelhouse" / "pure"
        subprocess.run([sys.executable, str(ROOT / "scripts" / "wheelhouse.py"), "--quiet", "--out", str(pure),
                        "rpio-interrupts", "rpio"], check=True)
        for wheel in [*pi, *pure.glob("*.whl")]:
            shutil.copy2(wheel, stage / "wheels")
    (stage / "sdists").mkdir()
    for sdist in sdists(ROOT / ".wheelhouse" / "sdists"):
        shutil.copy2(sdist, stage / "sdists")
    shutil.copytree(ROOT / "examples", stage / "examples")
    shutil.copy2("/etc/ssl/certs/ca-certificates.crt", root / "etc" / "ssl" / "certs" / "ca-certificates.crt")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
           "LANG": "C.UTF-8", "RPIO_BACKEND": "sim"}
    chroot = ["chroot", str(root), "python3"]
    mounted = not os.path.ismount(root / "proc")
    if mounted:
        subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    try:
        result: dict = {"machine": f"{arch} Debian bookworm (qemu-user on {platform.machine()})"}
        if pi:
            result["wheels"] = measure(chroot, "/opt/rpio-bench/venv-wheel",
                                       ["--no-index", "--find-links", "/opt/rpio-bench/wheels", "rpio"], env)
        # from the sdists as pip (and piwheels) builds them (isolated builds; Debian's cmake and
        # ninja are used as they are new enough; scikit-build-core and pybind11 come from PyPI)
        names = sorted(path.name for path in (stage / "sdists").iterdir())
        result["source"] = measure(chroot, "/opt/rpio-bench/venv-source",
                                   ["--no-cache-dir", *[f"/opt/rpio-bench/sdists/{name}" for name in names]], env)
        # the build works: the spec's I/O example on the simulated board, in the emulated Pi
        subprocess.run(["chroot", str(root), "/bin/sh", "-c",
                        "cd /opt/rpio-bench && venv-source/bin/python examples/spec_gpio_io.py > /dev/null"],
                       env=env, check=True)
        result["source_build_runs_spec_example"] = True
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(root / "proc")], check=False)
    if pi:
        result["source_over_wheels_wall"] = round(result["source"]["wall_s"] / max(result["wheels"]["wall_s"], 0.01), 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-arm64", action="store_true")
    parser.add_argument("--no-armhf", action="store_true")
    parser.add_argument("--no-here", action="store_true")
    args = parser.parse_args()
    # stdout carries the JSON alone: what the steps print (debootstrap, apt, pip) goes to stderr
    sys.stdout.flush()
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    result: dict = {"benchmark": "install", "cpus": os.cpu_count()}
    result["here"] = {"skipped": "--no-here"} if args.no_here else here()
    result["arm64_emulated"] = {"skipped": "--no-arm64"} if args.no_arm64 else emulated("arm64")
    result["armhf_emulated"] = {"skipped": "--no-armhf"} if args.no_armhf else emulated("armhf")
    print(json.dumps(result, indent=1), file=json_out, flush=True)


if __name__ == "__main__":
    main()
