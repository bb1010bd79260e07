"""rpio-interrupts: GPIO edges and TCP sockets in one epoll loop (RPIO's interrupt API).

The module-level functions act on one default :class:`Interruptor`, created empty at import
(no file descriptor, thread or line exists until the first call that needs one)::

    import rpio_interrupts as intr

    def gpio_callback(gpio_id, value):
        print("gpio %s: %s" % (gpio_id, value))

    intr.add_interrupt_callback(17, gpio_callback, edge="rising", pull_up_down=intr.PUD_UP)
    intr.wait_for_interrupts()
"""

from __future__ import annotations

from .aio_ownership import PinOwnedError
from .event import EVENT_SIZE, LineEvent, decode_events, encode_event
from .exceptions import (
    ConflictError,
    InterruptError,
    InvalidArgumentError,
    InvalidCallbackError,
    InvalidChannelError,
    InvalidEdgeError,
    InvalidPullError,
    LoopRunningError,
    NotRegisteredError,
    TcpSendLimitError,
)
from .gpio_events import EdgeDetector
from .loop import BOTH, FALLING, PUD_DOWN, PUD_OFF, PUD_UP, RISING, Interruptor
from .provider import LineHandle, LineProvider
from .tcp import TcpClient

__all__ = [  # noqa: RUF022 - grouped by topic, not sorted
    # the loop
    "Interruptor", "default_interruptor",
    "add_interrupt_callback", "del_interrupt_callback", "add_tcp_callback", "remove_tcp_callback",
    "close_tcp_client", "wait_for_interrupts", "stop_waiting_for_interrupts", "cleanup_interrupts",
    "set_line_provider", "set_channel_mapper",
    "PUD_OFF", "PUD_DOWN", "PUD_UP", "RISING", "FALLING", "BOTH",
    # RPi.GPIO's event API
    "EdgeDetector",
    # events, providers, sockets
    "LineEvent", "EVENT_SIZE", "decode_events", "encode_event", "LineProvider", "LineHandle",
    "TcpClient",
    # errors
    "InterruptError", "InvalidArgumentError", "InvalidChannelError", "InvalidEdgeError",
    "InvalidPullError", "InvalidCallbackError", "ConflictError", "NotRegisteredError",
    "LoopRunningError", "TcpSendLimitError", "PinOwnedError",
    # asyncio (imported on first use: `from rpio_interrupts import aio`)
    "aio",
]

try:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _version

    __version__ = _version("rpio-interrupts")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

_default = Interruptor()


def default_interruptor() -> Interruptor:
    """The Interruptor the module-level functions act on."""
    return _default


add_interrupt_callback = _default.add_interrupt_callback
del_interrupt_callback = _default.del_interrupt_callback
add_tcp_callback = _default.add_tcp_callback
remove_tcp_callback = _default.remove_tcp_callback
close_tcp_client = _default.close_tcp_client
wait_for_interrupts = _default.wait_for_interrupts
stop_waiting_for_interrupts = _default.stop_waiting_for_interrupts
cleanup_interrupts = _default.cleanup_interrupts
set_line_provider = _default.set_line_provider
set_channel_mapper = _default.set_channel_mapper


def __getattr__(name: str):
    """``rpio_interrupts.aio`` without importing asyncio for programs that never use it."""
    if name == "aio":
        import importlib
        return importlib.import_module(".aio", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
