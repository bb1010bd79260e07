"""A doorbell: a push button on GPIO 17 rings a bell on GPIO 27 for RING_SECONDS.

Wiring on a Raspberry Pi: the button between GPIO 17 (pin 11) and ground (the program turns on
the internal pull-up); the bell (a buzzer, or an LED with a 330 ohm resistor) between GPIO 27
(pin 13) and ground. A press rings once: contact bounce is filtered (DEBOUNCE_MS) and presses
while the bell rings are ignored.

    python doorbell.py                 # on a Pi; anywhere else on a simulated board

To try it without a Pi, share the simulated board with the board page and press the button there:

    RPIO_SIM_CONFIG=board.toml rpio sim serve --run doorbell.py

Its tests (test_doorbell.py) run with pytest and RPIO's sim_board fixture.
"""

import threading

import RPIO

BUTTON = 17
BELL = 27
RING_SECONDS = 0.3
DEBOUNCE_MS = 20


class Doorbell:
    """The doorbell's logic: press -> the bell rings for ``ring_seconds``, once."""

    def __init__(self, button=BUTTON, bell=BELL, ring_seconds=RING_SECONDS, on_ring=None):
        self.button, self.bell, self.ring_seconds = button, bell, ring_seconds
        self.on_ring = on_ring  # called with the ring count, from the interrupt thread
        self.rings = 0
        self._lock = threading.Lock()
        self._ringing = False
        self._timer = None
        self._listening = False

    def start(self):
        """Set up the pins and listen for presses (in a background thread)."""
        RPIO.setup(self.bell, RPIO.OUT, initial=RPIO.LOW)
        RPIO.add_interrupt_callback(self.button, self._pressed, edge="falling",
                                    pull_up_down=RPIO.PUD_UP, debounce_timeout_ms=DEBOUNCE_MS)
        RPIO.wait_for_interrupts(threaded=True)
        self._listening = True

    def _pressed(self, gpio, value):
        with self._lock:
            if self._ringing:
                return
            self._ringing = True
            self.rings += 1
            count = self.rings
        RPIO.output(self.bell, RPIO.HIGH)
        self._timer = threading.Timer(self.ring_seconds, self._quiet)
        self._timer.daemon = True
        self._timer.start()
        if self.on_ring is not None:
            self.on_ring(count)

    def _quiet(self):
        RPIO.output(self.bell, RPIO.LOW)
        with self._lock:
            self._ringing = False

    def stop(self):
        """Stop listening; the bell goes quiet. Stopping twice is harmless."""
        if self._listening:
            self._listening = False
            RPIO.del_interrupt_callback(self.button)
            RPIO.stop_waiting_for_interrupts()
        timer = self._timer
        if timer is not None:
            timer.cancel()
            timer.join()
        RPIO.output(self.bell, RPIO.LOW)
        with self._lock:
            self._ringing = False


def main():
    bell = Doorbell(on_ring=lambda count: print(f"ding dong #{count}", flush=True))
    bell.start()
    where = "a simulated" if RPIO.sim.is_simulated() else "this"
    print(f"doorbell on {where} {RPIO.RPI_INFO['TYPE']}: button GPIO {BUTTON}, bell GPIO {BELL}"
          " (Ctrl-C ends)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        bell.stop()
        RPIO.cleanup()


if __name__ == "__main__":
    main()
