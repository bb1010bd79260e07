import pathlib

import rpio_pwm


def test_version_matches_the_version_file():
    version = (pathlib.Path(__file__).resolve().parents[2] / "VERSION").read_text().strip()
    assert rpio_pwm.__version__ == version == rpio_pwm.VERSION
