"""What PyPI and a user see of the four packages: the license, the metadata, the READMEs.

The metadata checks read the pyproject files (fast, in the default tier). The distribution checks
build the four sdists and take the four wheels from the wheelhouse (scripts/wheelhouse.py, built
once per source state), then run `twine check --strict` and open every archive: they run where
`build` and `twine` are installed (`tox -e packaging`) and are skipped with a reason elsewhere.
"""

from __future__ import annotations

import email.parser
import pathlib
import re
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ["rpio-core", "rpio-interrupts", "rpio-pwm", "rpio"]
LICENSE = (ROOT / "LICENSE").read_text()
FLOOR = ">=3.11"  # Debian 12's Python; the code uses tomllib, asyncio.TaskGroup, typing.Self


def pyproject(name: str) -> dict:
    return tomllib.loads((ROOT / "packages" / name / "pyproject.toml").read_text())["project"]


def test_the_license_is_mit_everywhere() -> None:
    assert LICENSE.startswith("MIT License\n")
    for name in PACKAGES:
        assert (ROOT / "packages" / name / "LICENSE").read_text() == LICENSE, name
        project = pyproject(name)
        assert project["license"] == "MIT", name  # PEP 639: an SPDX expression
        assert project["license-files"] == ["LICENSE"], name
        assert not [c for c in project["classifiers"] if c.startswith("License ::")], name


def test_one_python_floor_for_every_package() -> None:
    assert {name: pyproject(name)["requires-python"] for name in PACKAGES} == dict.fromkeys(PACKAGES, FLOOR)
    for name in PACKAGES:
        classifiers = pyproject(name)["classifiers"]
        assert "Programming Language :: Python :: 3.11" in classifiers
        assert "Programming Language :: Python :: 3.13" in classifiers
        assert "Programming Language :: Python :: 3.10" not in classifiers


def test_the_pypi_face() -> None:
    urls = {name: pyproject(name)["urls"] for name in PACKAGES}
    assert all(u == urls["rpio"] for u in urls.values()), "one set of project URLs"
    assert {"Homepage", "Source", "Changelog", "Issues"} <= set(urls["rpio"])
    for name in PACKAGES:
        project = pyproject(name)
        classifiers = set(project["classifiers"])
        assert {"Typing :: Typed", "Operating System :: POSIX :: Linux", "Topic :: System :: Hardware"} <= classifiers
        assert "raspberry pi" in project["keywords"]
        assert (ROOT / "packages" / name / "src" / ("RPIO" if name == "rpio" else name.replace("-", "_")) / "py.typed").is_file()
        readme = (ROOT / "packages" / name / "README.md").read_text()
        assert "## Install" in readme and "```python" in readme, f"{name}: the README is its PyPI page"
    assert "Framework :: Pytest" in pyproject("rpio")["classifiers"]
    assert "Framework :: AsyncIO" in pyproject("rpio")["classifiers"]
    try:
        import trove_classifiers
    except ImportError:
        return
    for name in PACKAGES:
        unknown = set(pyproject(name)["classifiers"]) - trove_classifiers.classifiers
        assert not unknown, (name, unknown)


# `pip install rpio` (any case, no --pre, any extras) installs PyPI's RPIO 0.10.0 from 2013
OLD_INSTALL = re.compile(r"pip3? install (?!--pre)(?:-\S+ )*(?:RPIO|rpio)(?:\[[^\]]*\])?(?=[\s`'\"]|$)")


def test_no_document_installs_the_old_rpio() -> None:
    documents = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md",
                 *ROOT.glob("docs/**/*.md"), *ROOT.glob("packages/*/README.md"),
                 *ROOT.glob("examples/**/*.py"), *ROOT.glob("examples/**/*.md")]
    offenders = []
    for path in documents:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if OLD_INSTALL.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
    assert OLD_INSTALL.search("pip install rpio pytest") and OLD_INSTALL.search("pip install RPIO")
    assert not OLD_INSTALL.search("pip install --pre rpio") and not OLD_INSTALL.search("pip install rpio-pwm")


def test_the_changelog_names_this_version() -> None:
    version = (ROOT / "VERSION").read_text().split()[0]
    assert f"## {version}" in (ROOT / "CHANGELOG.md").read_text()


# -- the built distributions ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> list[pathlib.Path]:
    pytest.importorskip("build", reason="needs `build` (tox -e packaging)")
    pytest.importorskip("twine", reason="needs `twine` (tox -e packaging)")
    out = tmp_path_factory.mktemp("dist")
    for name in PACKAGES:
        subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir", str(out),
                        str(ROOT / "packages" / name)], check=True, capture_output=True)
    # the wheels every tox environment installs (built once per source state, reused here)
    wheelhouse = ROOT / ".wheelhouse" / str(sysconfig.get_config_var("SOABI"))
    subprocess.run([sys.executable, str(ROOT / "scripts" / "wheelhouse.py"), "--quiet"], check=True)
    found = sorted(out.glob("*.tar.gz")) + sorted(wheelhouse.glob("*.whl"))
    assert len(found) == 8, found
    return found


def test_twine_check_strict(dists: list[pathlib.Path]) -> None:
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, dists)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _metadata(dist: pathlib.Path) -> tuple[email.message.Message, dict[str, bytes]]:
    if dist.suffix == ".whl":
        with zipfile.ZipFile(dist) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
        meta = next(v for k, v in files.items() if k.endswith(".dist-info/METADATA"))
    else:
        with tarfile.open(dist) as archive:
            files = {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}
        meta = next(v for k, v in files.items() if k.count("/") == 1 and k.endswith("/PKG-INFO"))
    return email.parser.BytesParser().parsebytes(meta), files


def test_every_distribution_carries_the_license_and_its_metadata(dists: list[pathlib.Path]) -> None:
    for dist in dists:
        meta, files = _metadata(dist)
        assert meta["License-Expression"] == "MIT", dist.name
        assert meta["License-File"] == "LICENSE", dist.name
        assert meta["Requires-Python"] == FLOOR, dist.name
        licenses = [v for k, v in files.items() if k.endswith("/LICENSE")]
        assert licenses and all(v.decode() == LICENSE for v in licenses), dist.name
        assert "## Install" in meta.get_payload(), dist.name  # the README is the long description


def test_the_rpio_wheel_ships_its_types(dists: list[pathlib.Path]) -> None:
    wheel = next(d for d in dists if d.name.startswith("rpio-") and d.suffix == ".whl")
    _meta, files = _metadata(wheel)
    for name in ("RPIO/py.typed", "RPIO/__init__.pyi", "RPIO/aio.pyi", "RPIO/PWM.pyi"):
        assert name in files, name


def test_the_cibuildwheel_configuration_builds_the_pi_wheels() -> None:
    """CI elsewhere: cibuildwheel reads [tool.cibuildwheel] of each C++ package (no Docker needed to list)."""
    pytest.importorskip("cibuildwheel", reason="needs cibuildwheel (tox -e packaging)")
    for name in ("rpio-core", "rpio-pwm"):
        result = subprocess.run([sys.executable, "-m", "cibuildwheel", "--print-build-identifiers", "--platform", "linux",
                                 str(ROOT / "packages" / name)], capture_output=True, text=True, check=True)
        assert set(result.stdout.split()) == {"cp311-manylinux_x86_64", "cp313-manylinux_x86_64",
                                              "cp311-manylinux_aarch64", "cp313-manylinux_aarch64"}, result.stdout
