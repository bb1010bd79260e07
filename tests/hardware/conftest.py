import os

import pytest


def _why_not_a_pi():
    try:
        from rpio_core import boards
    except ImportError as error:  # pragma: no cover - rpio-core not installed
        return f"rpio-core is not installed ({error})"
    board = boards.detect_board("/")
    if board is None:
        return "this machine is not a Raspberry Pi"
    if board.chip is None:
        return f"this Pi's SoC ({board.processor}) is unknown to RPIO"
    return None


def pytest_collection_modifyitems(config, items):
    reason = None
    if not config.getoption("--run-hardware"):
        reason = "hardware tests run with --run-hardware (tox -e hardware)"
    else:
        reason = _why_not_a_pi()
    if reason:
        for item in items:
            if "tests/hardware" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def jumper():
    """(output gpio, input gpio) joined by a wire; both cleaned up afterwards."""
    import RPIO

    out_pin = int(os.environ.get("RPIO_TEST_PIN_OUT", "22"))
    in_pin = int(os.environ.get("RPIO_TEST_PIN_IN", "27"))
    RPIO.setwarnings(False)
    yield out_pin, in_pin
    RPIO.cleanup_interrupts()
    RPIO.cleanup([out_pin, in_pin])
