"""GPIO and TCP interrupts, and RPi.GPIO's event API, wired to the board RPIO drives.

rpio-interrupts does the work (one epoll loop, uAPI v2 records on file descriptors). This module
tells it two things: which channel is which gpio (the current numbering mode), and where edges
come from: the kernel's GPIO character device on a Raspberry Pi, the simulated chip elsewhere.
Both hand the loop the same 48-byte records, so nothing downstream knows the difference.
"""

from __future__ import annotations

import threading

import rpio_core
import rpio_interrupts
from rpio_interrupts.uapi import ChardevLineProvider, LineBusyError

from rpio_interrupts._cargs import c_int
from ._constants import IN, PUD_DOWN, PUD_OFF, PUD_UP
from ._gpio import _state

_BIAS_TO_PULL = {"pull-up": rpio_core.PULL_UP, "pull-down": rpio_core.PULL_DOWN,
                 "disabled": rpio_core.PULL_OFF}
_BIAS_TO_PUD = {"pull-up": PUD_UP, "pull-down": PUD_DOWN, "disabled": PUD_OFF}


class _SimLine:
    """A line of the simulated chip, held like a kernel line request (one holder per pin)."""

    def __init__(self, provider: SimLineProvider, gpio: int, line):
        self._provider, self.gpio, self._line = provider, gpio, line

    def fileno(self) -> int:
        return self._line.fileno()

    def get_value(self) -> int:
        return self._line.get_value()

    def close(self) -> None:
        self._line.close()
        self._provider._release(self.gpio, self)


class SimLineProvider:
    """Edges from the simulated chip: the model writes gpio_v2_line_event records into a pipe.

    Like the kernel it makes the pin an input, applies the bias, and refuses a second holder of
    a line with EBUSY, naming the consumer that holds it.
    """

    def __init__(self, chip, driver):
        self._chip, self._driver = chip, driver
        self._lock = threading.Lock()
        self._holders: dict[int, tuple[str, _SimLine]] = {}

    def request(self, gpio: int, *, edge: str, bias: str = "as-is", consumer: str = "rpio",
                debounce_us: int = 0) -> _SimLine:
        rising, falling = edge in ("rising", "both"), edge in ("falling", "both")
        if not (rising or falling):
            raise ValueError(f"edge={edge!r} is not one of 'rising', 'falling', 'both'")
        with self._lock:
            if gpio in self._holders:
                holder = self._holders[gpio][0]
                raise LineBusyError(f"GPIO {gpio} is busy: held by '{holder}' in this process",
                                    offsets=(gpio,), consumer=holder)
            if bias in _BIAS_TO_PULL:
                self._driver.set_pull(gpio, _BIAS_TO_PULL[bias])
            self._driver.set_function(gpio, rpio_core.INPUT)
            line = _SimLine(self, gpio, self._chip.request_events(gpio, rising, falling))
            self._holders[gpio] = (consumer, line)
            return line

    def _release(self, gpio: int, line: _SimLine) -> None:
        with self._lock:
            if self._holders.get(gpio, (None, None))[1] is line:
                del self._holders[gpio]


class BoardLineProvider:
    """The provider of whatever board RPIO drives, found on first request (not at import).

    A granted line is an input of this process from then on (RPIO 0.10 called setup(IN)), so
    ``RPIO.input()`` works on it; its bias is remembered as the pin's pull.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._inner = None
        self._board = None

    def _provider(self):
        with self._lock:
            board = _state.board
            if self._inner is None or self._board is not board:
                driver = _state.driver
                if board.simulated:
                    self._inner = SimLineProvider(board.chip, driver)
                elif board.backend == "chardev":  # edges on the request setup() holds
                    self._inner = driver.events
                else:
                    self._inner = ChardevLineProvider()
                self._board = board
            return self._inner

    def request(self, gpio: int, *, edge: str, bias: str = "as-is", consumer: str = "RPIO",
                **options):
        line = self._provider().request(gpio, edge=edge, bias=bias, consumer=consumer, **options)
        with _state._lock:
            if _state.directions.get(gpio) != IN:
                _state.set_direction(gpio, IN)
            if bias in _BIAS_TO_PUD:
                _state.pulls[gpio] = _BIAS_TO_PUD[bias]
        return line


def _channel_to_gpio(channel) -> int:
    return _state.gpio_number(c_int(channel))


def _is_input(gpio: int) -> bool:
    return _state.directions.get(gpio) == IN


provider = BoardLineProvider()

# RPIO's interrupt loop: an Interruptor of its own on this board (rpio_interrupts' module-level
# default stays free for programs that use that package directly).
interruptor = rpio_interrupts.Interruptor(provider, _channel_to_gpio, consumer="RPIO")

# RPi.GPIO's event API: its own Interruptor and thread, on the same provider.
edge_detector_instance = rpio_interrupts.EdgeDetector(_channel_to_gpio, _is_input, provider)


def _on_cleanup(gpio):
    """RPIO.cleanup(): event detection goes with the channel; everything goes with no argument
    (RPIO 0.10's cleanup() also ended the interrupt callbacks and TCP servers)."""
    if gpio is None:
        edge_detector_instance.remove_all()
        interruptor.cleanup_interrupts()
    else:
        edge_detector_instance.remove_gpio(gpio)


_state.cleanup_hooks.append(_on_cleanup)

def default_interruptor():
    """The Interruptor behind RPIO's interrupt functions (rpio_interrupts.Interruptor).

    Its ``lost_events()`` is ``{gpio: edges lost}``: edges the kernel (or the simulated chip)
    dropped because its queue for the line was full while the callbacks fell behind, seen as gaps
    in the events' sequence numbers; the first loss of a pin is also logged once (logger
    ``RPIO.interrupts``). Cleared by ``cleanup_interrupts()``."""
    return interruptor


def edge_detector():
    """The EdgeDetector behind RPIO's RPi.GPIO-style event functions."""
    return edge_detector_instance


add_interrupt_callback = interruptor.add_interrupt_callback
del_interrupt_callback = interruptor.del_interrupt_callback
add_tcp_callback = interruptor.add_tcp_callback
remove_tcp_callback = interruptor.remove_tcp_callback
close_tcp_client = interruptor.close_tcp_client
wait_for_interrupts = interruptor.wait_for_interrupts
stop_waiting_for_interrupts = interruptor.stop_waiting_for_interrupts
cleanup_interrupts = interruptor.cleanup_interrupts

add_event_detect = edge_detector_instance.add_event_detect
add_event_callback = edge_detector_instance.add_event_callback
remove_event_detect = edge_detector_instance.remove_event_detect
event_detected = edge_detector_instance.event_detected
wait_for_edge = edge_detector_instance.wait_for_edge
