"""A user's pytest test on the simulated board (the sim_board fixture RPIO's plugin provides)."""
import RPIO
from RPIO.workbench.pytest_plugin import SimBoard


def blink(times: int) -> None:
    RPIO.setup(27, RPIO.OUT)
    for _ in range(times):
        RPIO.output(27, RPIO.HIGH)
        RPIO.output(27, RPIO.LOW)


def test_blink_makes_two_pulses(sim_board: SimBoard) -> None:
    blink(2)
    trace = sim_board.trace(27)
    assert trace.levels[-4:] == [1, 0, 1, 0]
    assert len(trace.pulses(1)) == 2
