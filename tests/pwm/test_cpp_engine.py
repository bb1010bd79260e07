"""Builds the Python-free engine into its plain C++ test binary and runs it with ctest, once plain and
once under AddressSanitizer + UndefinedBehaviorSanitizer.

The sanitizer build never falls back to a plain one: a toolchain that cannot build it fails this test
loudly (install the compiler's sanitizer runtimes: Debian's g++ ships them as libasan/libubsan).
"""

import os
import pathlib
import shutil
import subprocess

import pytest

PKG = pathlib.Path(__file__).resolve().parents[2] / "packages" / "rpio-pwm"
SANITIZE = "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"


def _tool(name):
    found = shutil.which(name)
    if found:
        return found
    try:  # the cmake / ninja wheels from PyPI
        mod = __import__(name)
        path = pathlib.Path(getattr(mod, f"{name.upper()}_BIN_DIR", getattr(mod, "BIN_DIR", ""))) / name
        return str(path) if path.exists() else None
    except ImportError:
        return None


def _run(cmd, what, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{what} failed ({' '.join(map(str, cmd))}):\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    return r


@pytest.mark.timeout(900)
@pytest.mark.parametrize("sanitize", [False, True], ids=["plain", "asan-ubsan"])
def test_ctest_binary(sanitize):
    cmake = _tool("cmake")
    if cmake is None or not (shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")):
        pytest.skip("cmake and a C++ compiler are needed to build the C++ tests (pip install cmake ninja)")
    ctest = str(pathlib.Path(cmake).with_name("ctest"))
    ninja = _tool("ninja")
    if not ninja and not shutil.which("make"):
        pytest.skip("neither ninja nor make is available")
    build = PKG / "build" / ("ctest-asan" if sanitize else "ctest")
    gen = ["-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}"] if ninja else []
    flags = []
    if sanitize:
        flags = [f"-DCMAKE_CXX_FLAGS=-O1 {SANITIZE}", f"-DCMAKE_EXE_LINKER_FLAGS={SANITIZE}"]
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    _run([cmake, "-S", str(PKG), "-B", str(build), "-DRPIO_PWM_TESTS=ON", "-DCMAKE_BUILD_TYPE=Debug", *gen, *flags],
         "configuring" + (" the sanitizer build" if sanitize else ""), env=env, timeout=300)
    _run([cmake, "--build", str(build)], "building" + (" with -fsanitize=address,undefined" if sanitize else ""),
         env=env, timeout=800)
    r = _run([ctest, "--test-dir", str(build), "--output-on-failure"], "ctest", env=env, timeout=300)
    assert "100% tests passed" in r.stdout
