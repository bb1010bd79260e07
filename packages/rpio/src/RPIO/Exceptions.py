"""RPIO 0.10's exception names, as subclasses of the built-in types RPi.GPIO 0.7.1 raises.

``except RuntimeError`` (RPi.GPIO style) and ``except RPIO.Exceptions.WrongDirectionException``
(RPIO style) both catch the same error; the messages are RPi.GPIO's.
"""


class RPIOError(Exception):
    """Base of every error RPIO defines."""


class ModeNotSetException(RPIOError, RuntimeError):
    """No numbering mode is set (only after cleanup(); RPIO starts in BCM)."""


class InvalidModeException(RPIOError, ValueError):
    """setmode() got something other than BOARD or BCM, or a second, different mode."""


class InvalidChannelException(RPIOError, ValueError):
    """The channel is not a GPIO in the current numbering mode."""


class InvalidDirectionException(RPIOError, ValueError):
    """setup() got a direction other than IN or OUT."""


class InvalidPullException(RPIOError, ValueError):
    """A pull value other than PUD_OFF, PUD_UP or PUD_DOWN, or a pull on an output."""


class WrongDirectionException(RPIOError, RuntimeError):
    """The channel is not set up (or not as an output) in this process."""


class BoardAccessError(RPIOError, RuntimeError):
    """The GPIO registers of this board cannot be opened; the message says what to do."""


class UnknownBoardError(RPIOError, RuntimeError):
    """A Raspberry Pi whose SoC RPIO does not know: it never writes to an unknown chip."""


# The interrupt loop's errors (rpio-interrupts), under RPIO's roof: each is also the builtin
# RPIO 0.10 raised (AttributeError/ValueError, KeyError, RuntimeError) or an OSError.
from rpio_interrupts import (  # noqa: E402
    ConflictError,
    InterruptError,
    InvalidArgumentError,
    InvalidCallbackError,
    InvalidEdgeError,
    InvalidPullError,
    LoopRunningError,
    NotRegisteredError,
    TcpSendLimitError,
)
from rpio_interrupts.aio_ownership import PinOwnedError  # noqa: E402
from rpio_interrupts.uapi import ChipNotFoundError, LineBusyError, LineConfigError  # noqa: E402

__all__ = [
    "InterruptError", "InvalidArgumentError", "InvalidEdgeError", "InvalidPullError",
    "InvalidCallbackError", "ConflictError", "NotRegisteredError", "LoopRunningError",
    "TcpSendLimitError", "PinOwnedError", "LineBusyError", "ChipNotFoundError", "LineConfigError",
    "RPIOError",
    "ModeNotSetException",
    "InvalidModeException",
    "InvalidChannelException",
    "InvalidDirectionException",
    "InvalidPullException",
    "WrongDirectionException",
    "BoardAccessError",
    "UnknownBoardError",
]
