"""Tests of doorbell.py on a simulated Raspberry Pi: no Pi, no wiring, no waiting on a person.

    pip install pytest             # next to RPIO 2 (README.md), which brings the sim_board fixture
    pytest                         # in this directory

Each test gets a fresh private simulated board (``sim_board``); parts stand in for the hardware:
a Button on GPIO 17 wired to ground, an LED as the bell on GPIO 27.
"""

import types

import pytest

import doorbell

RING = 0.1  # the tests ring for 0.1 s (the program's default is 0.3 s)


@pytest.fixture
def bell(sim_board):
    """The doorbell running on this test's board, with its button and its bell attached."""
    rings = []
    app = doorbell.Doorbell(ring_seconds=RING, on_ring=rings.append)
    parts = types.SimpleNamespace(
        app=app,
        rings=rings,
        button=sim_board.Button("doorbell", doorbell.BUTTON),  # pressed: GPIO 17 to ground
        lamp=sim_board.LED("bell", doorbell.BELL),
    )
    app.start()
    yield parts
    app.stop()


def test_a_press_rings_the_bell_once(sim_board, bell):
    bell.button.click()
    trace = sim_board.wait_for_edges(doorbell.BELL, 2, timeout=2)  # on, then off
    assert trace.levels == [1, 0]
    assert trace.pulses() == pytest.approx([RING], abs=0.05)
    assert bell.rings == [1]


def test_a_bouncing_contact_rings_once(sim_board, bell):
    bell.button.press(bounce=(4, 5))  # the contact chatters 4 times over 5 ms
    sim_board.wait_for(doorbell.BELL, 1)
    bell.button.release()
    sim_board.wait_for_edges(doorbell.BELL, 2, timeout=2)
    assert bell.rings == [1]
    # the button pin saw the chatter (its pull-up lifted it first); the program filtered it out
    assert sim_board.trace(doorbell.BUTTON).levels == [1] + [0, 1] * 4 + [0, 1]


def test_presses_while_it_rings_are_ignored(sim_board, bell):
    bell.button.click()
    bell.button.click()  # at once: the bell still rings
    sim_board.wait_for_edges(doorbell.BELL, 2, timeout=2)
    assert bell.rings == [1]
    bell.button.click()  # after the ring: a new one
    trace = sim_board.wait_for_edges(doorbell.BELL, 4, timeout=2)
    assert trace.levels == [1, 0, 1, 0]
    assert bell.rings == [1, 2]


def test_the_bell_part_saw_one_ring(sim_board, bell):
    bell.button.click()
    sim_board.wait_for_edges(doorbell.BELL, 2, timeout=2)
    assert [on for _t, on in bell.lamp.history()] == [False, True, False]
    assert not bell.lamp.is_on


def test_stopped_it_stays_quiet(sim_board, bell):
    bell.app.stop()
    bell.button.click()
    assert sim_board.trace(doorbell.BELL).levels == []
    assert bell.rings == []


@pytest.mark.sim_board("pi5")
def test_the_same_program_on_a_pi_5(sim_board, bell):
    assert sim_board.info.chip == "rp1"  # another GPIO block (RP1), the same program
    bell.button.click()
    assert sim_board.wait_for_edges(doorbell.BELL, 2, timeout=2).levels == [1, 0]
