"""rpio-interrupts: one epoll loop for GPIO edges and TCP sockets."""
