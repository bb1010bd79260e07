"""The spec's "GPIO & TCP Interrupts" example (examples/spec_interrupts.py) with its two
callbacks annotated, as a user of mypy --strict writes it; otherwise verbatim."""
import socket

import RPIO


def gpio_callback(gpio_id: int, val: int) -> None:
    print("gpio %s: %s" % (gpio_id, val))


def socket_callback(socket: socket.socket, val: str) -> None:
    print("socket %s: '%s'" % (socket.fileno(), val))
    socket.send(("echo: %s\n" % val).encode())


# GPIO interrupt callbacks
RPIO.add_interrupt_callback(7, gpio_callback)
RPIO.add_interrupt_callback(9, gpio_callback, pull_up_down=RPIO.PUD_UP)

# TCP socket server callback on port 8080
RPIO.add_tcp_callback(8080, socket_callback)

# Blocking main epoll loop
RPIO.wait_for_interrupts()
