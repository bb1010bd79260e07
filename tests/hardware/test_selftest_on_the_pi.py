"""The selftest's own checks on a real Pi through the jumper (`tox -e hardware`): what
`rpio selftest` reports is exactly what these assert, so the two agree."""

import pytest

from RPIO import selftest

# Steps that must pass on any Pi with the jumper; the PWM steps must at least not FAIL (their
# timing verdict is WARN on a busy Pi), and access may WARN without root (no DMA PWM then).
MUST_PASS = ("board", "wire-registers", "pulls", "function-readback", "edges", "debounce",
             "event-api", "tcp", "idle-cpu")


@pytest.fixture
def report(jumper):
    return selftest.run(jumper, quick=True)


def test_selftest_checks_pass_through_the_jumper(report):
    statuses = {step.id: step.status for step in report.steps}
    for step_id in MUST_PASS:
        assert statuses[step_id] == "PASS", report.text()
    assert "FAIL" not in statuses.values(), report.text()


def test_selftest_measures_every_pwm_engine_it_can_start(report):
    measured = [step for step in report.steps if step.id.startswith("pwm-") and step.status != "SKIP"]
    assert measured, report.text()
    for step in measured:
        assert step.figures["periods"] >= 2, step
