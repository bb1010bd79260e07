#!/usr/bin/env python3
"""Run the kernel tier: boot ONE gpio-sim VM and run pytest on tests/kernel/ inside it.

    python tests/kernel/run_tier.py [pytest args...]        # the tier (what `tox -e kernel` runs)
    python tests/kernel/run_tier.py --bench [bench args...] # bench/interrupts_vm.py in the VM
    python tests/kernel/run_tier.py --bench-chardev [args]  # bench/chardev.py in the VM
    python tests/kernel/run_tier.py --setup                 # only build the VM (tests/kernel/vm/setup.sh)

The VM (Debian's 6.12 kernel with gpio-sim, see tests/kernel/vm/) is built on first use into
$RPIO_GPIOSIM_VM_DIR (default ~/.cache/rpio-gpiosim-vm); that needs root and Debian's apt. Inside,
the host's filesystem is visible read-only, so the very interpreter running this script (with its
virtualenv and installed packages) runs the tests; if rpio_interrupts is not installed in it, the
source tree's packages/rpio-interrupts/src is put on PYTHONPATH. The exit status is pytest's (or
the bench's); 125 means the VM itself failed.

Environment passed into the VM: PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 (set here), PYTHONPATH,
RPIO_KERNEL_EVENT_TIMEOUT (seconds to wait for an expected edge, default 5).
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VM = os.path.join(HERE, "vm")
SRC = os.path.join(ROOT, "packages", "rpio-interrupts", "src")


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.environ.get("RPIO_GPIOSIM_VM_DIR") or os.path.join(base, "rpio-gpiosim-vm")


def interpreter() -> str:
    """The interpreter to run in the VM: this one. In a virtualenv sys.executable must stay as
    it is (resolving the symlink would lose the venv); otherwise the resolved real binary (a
    pyenv shim or wrapper script would cost seconds under emulation)."""
    if sys.prefix != sys.base_prefix:
        return sys.executable
    return os.path.realpath(sys.executable)


def ensure_vm() -> None:
    if os.path.isfile(os.path.join(cache_dir(), "KVER")):
        return
    if os.geteuid() != 0:
        sys.exit(
            f"run_tier.py: the gpio-sim VM is not built in {cache_dir()}; build it once as root:\n"
            f"    sudo RPIO_GPIOSIM_VM_DIR={shlex.quote(cache_dir())} {os.path.join(VM, 'setup.sh')}"
        )
    print(f"run_tier.py: building the gpio-sim VM in {cache_dir()} (once) ...", flush=True)
    t = time.monotonic()
    subprocess.run([os.path.join(VM, "setup.sh")], check=True)
    print(f"run_tier.py: VM built in {time.monotonic() - t:.0f} s", flush=True)


def _rw_dir_for(args: list[str], options: tuple[str, ...]) -> list[str]:
    """Directories of output files named in args (--opt=PATH or --opt PATH) to share read-write."""
    dirs = []
    for i, a in enumerate(args):
        for opt in options:
            path = None
            if a.startswith(opt + "="):
                path = a.split("=", 1)[1]
            elif a == opt and i + 1 < len(args):
                path = args[i + 1]
            if path:
                d = os.path.dirname(os.path.abspath(path))
                os.makedirs(d, exist_ok=True)
                dirs.append(d)
    return dirs


def main(argv: list[str]) -> int:
    if argv[:1] == ["--setup"]:
        ensure_vm()
        return 0
    bench = argv[:1] == ["--bench"]
    bench_script = "chardev.py" if argv[:1] == ["--bench-chardev"] else "interrupts_vm.py"
    bench = bench or argv[:1] == ["--bench-chardev"]
    args = argv[1:] if bench else argv
    py = interpreter()
    env_names = ["PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTHONPATH", "PYTHONUNBUFFERED", "RPIO_KERNEL_EVENT_TIMEOUT",
                 "RPIO_BENCH_LGPIO_PATH"]
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    os.environ["PYTHONUNBUFFERED"] = "1"
    if importlib.util.find_spec("rpio_interrupts") is None:
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)
    if bench:
        # One vCPU: under TCG, wake-ups across vCPUs take milliseconds and make the emulated
        # interrupt path merge edges; on one CPU only the consumers' own costs differ.
        os.environ.setdefault("RPIO_VM_SMP", "1")
        cmd = [py, os.path.join(ROOT, "bench", bench_script), *args]
        rw = _rw_dir_for(args, ("--output", "-o"))
    else:
        if importlib.util.find_spec("pytest") is None:
            sys.exit(f"run_tier.py: pytest is not installed for {py}: {py} -m pip install pytest")
        paths_given = any(os.path.exists(a.split("::")[0]) for a in args if not a.startswith("-"))
        cmd = [
            py, "-m", "pytest",
            "-c", os.path.join(HERE, "tier.ini"), "--rootdir", HERE, "--confcutdir", HERE,
            "-p", "no:cacheprovider",
            *([] if paths_given else [HERE]),
            *args,
        ]  # fmt: skip
        rw = _rw_dir_for(args, ("--junitxml", "--junit-xml"))
    ensure_vm()
    run = [os.path.join(VM, "run.sh")]
    for d in rw:
        run += ["-w", d]
    for name in env_names:
        if name in os.environ:
            run += ["-e", name]
    run += ["--", *cmd]
    print(f"run_tier.py: booting the gpio-sim VM: {shlex.join(cmd)}", flush=True)
    t = time.monotonic()
    rc = subprocess.run(run, cwd=ROOT, check=False).returncode
    print(f"run_tier.py: VM boot + run took {time.monotonic() - t:.1f} s, exit status {rc}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
