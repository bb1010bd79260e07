"""Which board RPIO drives: a Pi's registers (here a fake /proc and a file-backed /dev/gpiomem),
the simulated board elsewhere, and clear errors instead of silent fallbacks on a Pi."""

import os
import pathlib
import struct
import subprocess
import sys

import pytest

from RPIO import Exceptions, _backend


def fake_pi(root: pathlib.Path, revision: int, *, gpiomem: bool = True, mode=0o600):
    (root / "proc/device-tree/system").mkdir(parents=True)
    (root / "proc/device-tree/system/linux,revision").write_bytes(revision.to_bytes(4, "big"))
    (root / "dev").mkdir()
    name = "gpiomem0" if (revision >> 12) & 0xF == 4 else "gpiomem"
    if gpiomem:
        size = 0x30000 if name == "gpiomem0" else 4096
        (root / "dev" / name).write_bytes(bytes(size))
        os.chmod(root / "dev" / name, mode)
    return root / "dev" / name


def test_a_pi_gets_its_register_driver_over_dev_gpiomem(tmp_path):
    page = fake_pi(tmp_path, 0xC03111)
    board = _backend.identify({"RPIO_ROOT": str(tmp_path)})
    assert not board.simulated and board.info.chip == "bcm2711"
    driver = board.open()
    driver.set_function(17, 1)  # OUTPUT
    driver.write(17, 1)
    words = struct.unpack("<1024I", page.read_bytes())
    assert (words[1] >> 21) & 7 == 1  # GPFSEL1, GPIO 17 = output
    assert words[0x1C // 4] == 1 << 17  # GPSET0 written


def test_a_pi_5_maps_dev_gpiomem0(tmp_path):
    page = fake_pi(tmp_path, 0xD04170)
    board = _backend.identify({"RPIO_ROOT": str(tmp_path)})
    assert board.info.chip == "rp1"
    board.open().write(17, 1)
    words = struct.unpack(f"<{0x30000 // 4}I", page.read_bytes())
    assert words[(0x10000 + 0x2000) // 4] == 1 << 17  # SYS_RIO0 OUT through its SET alias


def test_a_whole_script_runs_over_a_file_backed_register_page(tmp_path):
    page = fake_pi(tmp_path, 0xA02082)  # a Pi 3
    script = "import RPIO; RPIO.setup(4, RPIO.OUT); RPIO.output(4, 1); print(RPIO.RPI_INFO['TYPE'])"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=dict(os.environ, RPIO_BACKEND="hardware", RPIO_ROOT=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Pi 3 Model B"
    assert struct.unpack_from("<I", page.read_bytes(), 0x1C)[0] == 1 << 4


def test_no_permission_says_what_to_do(tmp_path, monkeypatch):
    fake_pi(tmp_path, 0xC03111, mode=0o000)
    if os.geteuid() == 0:  # root opens anything: let the bus report EACCES as the kernel would
        def refuse(path, offset, length):
            raise PermissionError(13, "Permission denied", path)
        monkeypatch.setattr(_backend.rpio_core, "MmapBus", refuse)
    board = _backend.identify({"RPIO_ROOT": str(tmp_path)})
    with pytest.raises(RuntimeError, match="No access to .*/dev/gpiomem. Add your user to the "
                                           "'gpio' group") as caught:
        board.open()
    assert isinstance(caught.value, Exceptions.BoardAccessError)


def test_a_missing_device_is_an_error_never_a_silent_simulator(tmp_path):
    fake_pi(tmp_path, 0xC03111, gpiomem=False)
    board = _backend.identify({"RPIO_ROOT": str(tmp_path)})
    assert not board.simulated
    with pytest.raises(Exceptions.BoardAccessError, match="does not exist"):
        board.open()


def test_an_unknown_soc_is_refused(tmp_path):
    fake_pi(tmp_path, 0xC05111)  # new-style code with processor 5: nobody knows it
    with pytest.raises(Exceptions.UnknownBoardError, match="never writes to the registers"):
        _backend.identify({"RPIO_ROOT": str(tmp_path)})


def test_not_a_pi(tmp_path):
    (tmp_path / "proc").mkdir()
    assert _backend.identify({"RPIO_ROOT": str(tmp_path)}).simulated
    with pytest.raises(RuntimeError, match="This module can only be run on a Raspberry Pi!"):
        _backend.identify({"RPIO_ROOT": str(tmp_path), "RPIO_BACKEND": "hardware"})
    with pytest.raises(ValueError, match="RPIO_BACKEND='gpio'"):
        _backend.identify({"RPIO_BACKEND": "gpio"})


@pytest.mark.parametrize("name, chip, gpios", [
    ("pi1", "bcm2835", 54), ("0002", "bcm2835", 54), ("pi3", "bcm2835", 54),
    ("c03111", "bcm2711", 58), ("pi5", "rp1", 54),
])  # fmt: skip
def test_simulated_models(name, chip, gpios):
    board = _backend.simulated_board(name)
    assert board.simulated and board.info.chip == chip and board.gpio_count == gpios
    assert board.open().num_gpios() == gpios


def test_an_unknown_simulated_model_is_refused():
    with pytest.raises(ValueError):
        _backend.simulated_board("pi42")
