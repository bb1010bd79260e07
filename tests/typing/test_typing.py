"""RPIO's typed API: its stubs agree with the runtime, and user programs type-check strictly.

The stubs (packages/rpio/src/RPIO/__init__.pyi, aio.pyi, PWM.pyi) are checked against the imported
package by mypy.stubtest; the sample programs in samples/ (the spec's examples, an RPi.GPIO-style
program, RPIO's additions, an RPIO.aio program, a pytest test using the sim_board fixture) pass
`mypy --strict` and `pyright` in strict mode. Run by `tox -e typing` (mypy and pyright installed);
skipped with a reason where they are not.
"""

from __future__ import annotations

import ast
import inspect
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STUB = ROOT / "packages" / "rpio" / "src" / "RPIO" / "__init__.pyi"
SAMPLES = HERE / "samples"
ENV = {**os.environ, "RPIO_BACKEND": "sim"}


def _need(module: str) -> None:
    pytest.importorskip(module, reason=f"{module} is not installed (tox -e typing installs it)")


def _run(args: list[str], cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600)


def test_the_stubs_agree_with_the_runtime() -> None:
    _need("mypy")
    result = _run([sys.executable, "-m", "mypy.stubtest", "RPIO",
                   "--mypy-config-file", str(HERE / "stubtest.ini"),
                   "--allowlist", str(HERE / "stubtest-allowlist.txt")], cwd=HERE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_sample_programs_pass_mypy_strict() -> None:
    _need("mypy")
    result = _run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                   "--python-version", "3.11", "."], cwd=SAMPLES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"in {len(list(SAMPLES.glob('*.py')))} source files" in result.stdout


def test_the_sample_programs_pass_pyright_strict() -> None:
    _need("pyright")
    pyright = shutil.which("pyright", path=os.path.dirname(sys.executable)) or "pyright"
    result = _run([pyright, "--pythonpath", sys.executable], cwd=HERE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout


def test_a_wrong_call_is_a_type_error(tmp_path: pathlib.Path) -> None:
    """The checks can fail: the stubs reject what RPi.GPIO rejects."""
    _need("mypy")
    bad = tmp_path / "bad.py"
    bad.write_text("import RPIO\nRPIO.setup('17', RPIO.OUT)\nRPIO.output(17)\n"
                   "p = RPIO.PWM(18)\nRPIO.add_event_detect(17, RPIO.RISING, callback=lambda: None)\n")
    result = _run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(bad)], cwd=tmp_path)
    assert result.returncode == 1
    for line in (2, 3, 4, 5):
        assert f"bad.py:{line}: error" in result.stdout, result.stdout


def _stub_functions() -> dict[str, ast.FunctionDef]:
    tree = ast.parse(STUB.read_text())
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_keyword_names_in_the_stubs_are_the_runtime_ones() -> None:
    """RPi.GPIO-style functions take (*args, **kwargs) at runtime, which stubtest cannot compare:
    their docstrings' first lines carry the call, and the stub must name the same parameters."""
    import RPIO

    checked = 0
    for name, node in _stub_functions().items():
        runtime = getattr(RPIO, name)
        try:
            parameters = inspect.signature(runtime).parameters.values()
        except ValueError:  # a C++ builtin (output, input): positional only in the stub
            assert node.args.posonlyargs and not node.args.args, name
            continue
        if not any(p.kind is p.VAR_POSITIONAL for p in parameters):
            continue
        first = (runtime.__doc__ or "").strip().splitlines()[0]
        match = re.match(rf"{name}\(([^)]*)\)", first)
        if match is None:  # documented in prose: only the no-argument getmode()
            assert name == "getmode", (name, first)
            continue
        documented = [part.split("=")[0].strip() for part in match.group(1).split(",") if part.strip()]
        stubbed = [a.arg for a in node.args.posonlyargs + node.args.args]
        assert stubbed == documented, (name, stubbed, documented)
        checked += 1
    assert checked >= 8


def test_every_public_name_is_in_the_stub() -> None:
    import RPIO

    stub = STUB.read_text()
    missing = [name for name in RPIO.__all__ if not re.search(rf"^(def |class |){name}\b|\b{name} as {name}\b", stub, re.M)]
    assert not missing
