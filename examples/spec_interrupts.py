# The "GPIO & TCP Interrupts" example of the RPIO.py documentation, verbatim.
import RPIO

def gpio_callback(gpio_id, val):
    print("gpio %s: %s" % (gpio_id, val))

def socket_callback(socket, val):
    print("socket %s: '%s'" % (socket.fileno(), val))
    socket.send("echo: %s\n" % val)

# GPIO interrupt callbacks
RPIO.add_interrupt_callback(7, gpio_callback)
RPIO.add_interrupt_callback(9, gpio_callback, pull_up_down=RPIO.PUD_UP)

# TCP socket server callback on port 8080
RPIO.add_tcp_callback(8080, socket_callback)

# Blocking main epoll loop
RPIO.wait_for_interrupts()
