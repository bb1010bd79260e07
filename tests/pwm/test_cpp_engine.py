"""Builds the Python-free engine into its plain C++ test binary and runs it with ctest."""

import os
import pathlib
import shutil
import subprocess

import pytest

PKG = pathlib.Path(__file__).resolve().parents[2] / "packages" / "rpio-pwm"


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


def test_ctest_binary():
    cmake, ctest = _tool("cmake"), None
    if cmake is None or not (shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")):
        pytest.skip("cmake and a C++ compiler are needed to build the C++ tests (pip install cmake ninja)")
    ctest = str(pathlib.Path(cmake).with_name("ctest"))
    ninja = _tool("ninja")
    build = PKG / "build" / "ctest"
    gen = ["-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}"] if ninja else []
    if not ninja and not shutil.which("make"):
        pytest.skip("neither ninja nor make is available")
    env = dict(os.environ)
    subprocess.run([cmake, "-S", str(PKG), "-B", str(build), "-DRPIO_PWM_TESTS=ON", "-DCMAKE_BUILD_TYPE=Debug", *gen],
                   check=True, capture_output=True, env=env, timeout=120)
    subprocess.run([cmake, "--build", str(build)], check=True, capture_output=True, env=env, timeout=300)
    r = subprocess.run([ctest, "--test-dir", str(build), "--output-on-failure"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "100% tests passed" in r.stdout
