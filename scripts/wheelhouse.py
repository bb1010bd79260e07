"""Build each RPIO package's wheel once, reuse it everywhere, and optionally install from it.

    python scripts/wheelhouse.py [--install] [--out DIR] [package ...]

Packages default to all four (rpio-core, rpio-interrupts, rpio-pwm, rpio). A wheel is rebuilt only
when its package's sources change: the wheelhouse keeps, next to each wheel, the hash of the files
it was built from (`<name>.sources`), so tox's environments, nox sessions and the README's install
share one C++ build per run instead of compiling rpio-core and rpio-pwm in every environment.

Long builds show progress: the C++ compiler's `[n/N]` steps and the elapsed time, one line each;
the full build log is kept in DIR/logs/<package>.log and its tail is printed if the build fails.
Standard library only (it runs before anything is installed).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ["rpio-core", "rpio-interrupts", "rpio-pwm", "rpio"]
COMPILED = {"rpio-core", "rpio-pwm"}
# what a rebuild does not depend on (build trees, caches, editors' files)
IGNORED_PARTS = {"build", "__pycache__", ".pytest_cache", "dist"}
PHASE = re.compile(r"^\s*(Installing build dependencies|Getting requirements to build wheel|"
                   r"Preparing metadata \(pyproject\.toml\)|Building wheel for \S+)[^:]*: started")
PROGRESS = re.compile(r"^\s*\[(\d+)/(\d+)\]\s+(Building|Linking)\s+\S+\s+(?:object\s+)?(\S+)")


def default_out() -> pathlib.Path:
    tag = sysconfig.get_config_var("SOABI") or sys.implementation.cache_tag
    return ROOT / ".wheelhouse" / str(tag)


def sources_hash(package: str) -> str:
    """A hash of every file the package's build reads (VERSION's content through the symlink)."""
    base = ROOT / "packages" / package
    digest = hashlib.sha256()
    for path in sorted(base.rglob("*")):
        relative = path.relative_to(base)
        if IGNORED_PARTS.intersection(relative.parts) or not path.is_file():
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def dist_name(package: str) -> str:
    return package.replace("-", "_")


def cached_wheel(out: pathlib.Path, package: str, digest: str) -> pathlib.Path | None:
    stamp = out / f"{package}.sources"
    wheels = sorted(out.glob(f"{dist_name(package)}-*.whl"))
    if len(wheels) == 1 and stamp.is_file() and stamp.read_text().strip() == digest:
        return wheels[0]
    return None


def build(out: pathlib.Path, package: str, quiet: bool) -> pathlib.Path:
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{package}.log"
    start = time.monotonic()
    if not quiet:
        what = "C++ extension, about 1-3 minutes on 2 cores" if package in COMPILED else "pure Python, seconds"
        print(f"wheelhouse: building {package} ({what}); log: {log_path}", flush=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp, open(log_path, "w") as log:
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--verbose",
                   "--disable-pip-version-check", "-w", tmp, str(ROOT / "packages" / package)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env={**os.environ, "NINJA_STATUS": "[%f/%t] "})
        assert process.stdout is not None
        last = 0.0
        for line in process.stdout:
            log.write(line)
            match = PROGRESS.match(line)
            now = time.monotonic()
            phase = PHASE.match(line)
            if phase and not quiet:
                print(f"  {package}: {phase.group(1)[0].lower() + phase.group(1)[1:]}  ({now - start:.0f} s)", flush=True)
            if match and not quiet and (now - last >= 5 or match.group(1) == match.group(2)):
                last = now
                print(f"  {package}: [{match.group(1)}/{match.group(2)}] {match.group(3).lower()} "
                      f"{pathlib.Path(match.group(4)).name}  ({now - start:.0f} s)", flush=True)
        if process.wait() != 0:
            log.flush()
            tail = log_path.read_text().splitlines()[-60:]
            sys.exit(f"wheelhouse: building {package} failed; the end of {log_path}:\n" + "\n".join(tail))
        built = list(pathlib.Path(tmp).glob("*.whl"))
        if len(built) != 1:
            sys.exit(f"wheelhouse: building {package} produced {built}, expected one wheel")
        for old in out.glob(f"{dist_name(package)}-*.whl"):
            old.unlink()
        target = out / built[0].name
        shutil.move(str(built[0]), target)
    if not quiet:
        print(f"wheelhouse: {target.name} in {time.monotonic() - start:.0f} s", flush=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("packages", nargs="*", metavar="package", help="default: " + " ".join(PACKAGES))
    parser.add_argument("--out", type=pathlib.Path, default=None, help="the wheelhouse (default .wheelhouse/<SOABI>)")
    parser.add_argument("--install", action="store_true", help="then install these wheels into this Python")
    parser.add_argument("--quiet", action="store_true", help="no progress lines (errors still print)")
    args = parser.parse_args(argv)
    out = (args.out or default_out()).resolve()
    out.mkdir(parents=True, exist_ok=True)
    packages = args.packages or PACKAGES
    unknown = sorted(set(packages) - set(PACKAGES))
    if unknown:
        parser.error(f"unknown package(s) {', '.join(unknown)}; choose from {', '.join(PACKAGES)}")
    wheels = []
    for package in packages:
        digest = sources_hash(package)
        wheel = cached_wheel(out, package, digest)
        if wheel is None:
            (out / f"{package}.sources").unlink(missing_ok=True)
            wheel = build(out, package, args.quiet)
            (out / f"{package}.sources").write_text(digest + "\n")
        elif not args.quiet:
            print(f"wheelhouse: {wheel.name} is up to date (sources unchanged)", flush=True)
        wheels.append(wheel)
    if args.install:
        # the same version may be installed from older sources: replace it, dependencies untouched
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--force-reinstall", *map(str, wheels)], check=True)
        if not args.quiet:
            print("wheelhouse: installed " + ", ".join(packages), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
