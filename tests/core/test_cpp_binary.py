"""Builds the plain C++ test binary of rpio-core (no Python) with CMake and runs it under ctest.

Runs whenever cmake and a C++ compiler are on PATH, unoptimised and always under AddressSanitizer
and UBSan (about 10 s on 2 cores): a toolchain without the sanitizer runtimes fails the test,
loudly, rather than building plain. Skipped without cmake or a compiler, with the reason; set
RPIO_SKIP_CPP_TESTS=1 to skip it on purpose.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "packages" / "rpio-core"
SANITIZE = "-fsanitize=address,undefined -fno-sanitize-recover=all"


def _compiler() -> str | None:
    return os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)


def _build(build: pathlib.Path, sanitize: bool) -> subprocess.CompletedProcess:
    flags = "-O0 " + (SANITIZE if sanitize else "")
    configure = ["cmake", "-S", str(PACKAGE), "-B", str(build), "-DRPIO_CORE_BUILD_TESTS=ON",
                 "-DCMAKE_BUILD_TYPE=Debug", f"-DCMAKE_CXX_FLAGS_DEBUG={flags}",
                 f"-DCMAKE_EXE_LINKER_FLAGS={SANITIZE if sanitize else ''}"]
    if shutil.which("ninja"):
        configure += ["-G", "Ninja"]
    result = _run(configure)
    if result.returncode == 0:
        result = _run(["cmake", "--build", str(build), "--parallel", str(os.cpu_count() or 2)])
    return result


@pytest.mark.skipif(os.environ.get("RPIO_SKIP_CPP_TESTS") == "1", reason="RPIO_SKIP_CPP_TESTS=1")
@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")
@pytest.mark.skipif(_compiler() is None, reason="no C++ compiler found")
def test_cpp_binary_under_ctest(tmp_path):
    build = tmp_path / "build"
    result = _build(build, sanitize=True)
    # No plain-build fallback: without the sanitizers these tests would pass over memory errors.
    assert result.returncode == 0, (
        "the C++ tests must build under AddressSanitizer and UBSan; install the runtimes "
        "(Debian: libasan8 libubsan1, with g++) or set RPIO_SKIP_CPP_TESTS=1 to skip them on "
        "purpose\n" + result.stdout + result.stderr)
    binary = (build / "rpio_core_tests").read_bytes()
    assert b"__asan_init" in binary and b"__ubsan_handle_" in binary, \
        "rpio_core_tests was built without AddressSanitizer/UBSan instrumentation"
    result = _run(["ctest", "--test-dir", str(build), "--output-on-failure"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "100% tests passed" in result.stdout
    # The binary's own summary: every C++ case ran and passed.
    run = _run([str(build / "rpio_core_tests")])
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.rstrip().endswith(" 0 failed, 0 skipped")  # natively nothing may be skipped
    assert int(run.stdout.rstrip().splitlines()[-1].split()[0]) >= 28
