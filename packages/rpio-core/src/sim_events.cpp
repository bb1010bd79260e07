#include "rpio/sim_events.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <utility>

#include "rpio/error.hpp"
#include "rpio/pin_world.hpp"

namespace rpio {

SimEventLine::SimEventLine(std::shared_ptr<PinWorld> world, unsigned gpio, bool rising,
                           bool falling)
    : world_(std::move(world)), gpio_(gpio), rising_(rising), falling_(falling) {
    if (!rising && !falling) throw std::invalid_argument("request_events needs rising or falling");
    if (gpio >= world_->num_gpios())
        throw std::out_of_range("gpio " + std::to_string(gpio) + " out of range");
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw SystemError(errno, "pipe", "pipe2");
    // Only the writer is non-blocking: the model must never wait, a reader may.
    if (::fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0) {
        const int e = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        throw SystemError(e, "pipe", "fcntl(O_NONBLOCK)");
    }
    try {
        id_ = world_->subscribe(gpio, rising, falling, fds[0], fds[1]);
    } catch (...) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw;
    }
    read_fd_ = fds[0];
    write_fd_ = fds[1];
}

SimEventLine::~SimEventLine() {
    try {
        close();
    } catch (...) {
    }
}

void SimEventLine::close() {
    if (read_fd_ < 0) return;
    try {
        const auto counts = world_->subscriber_counts(id_);
        seqno_ = counts.first;
        dropped_ = counts.second;
    } catch (const NotFound&) {
    }
    // Out of the table first: nobody writes to a pipe that is about to close.
    world_->unsubscribe(id_);
    ::close(read_fd_);
    ::close(write_fd_);
    read_fd_ = write_fd_ = -1;
}

uint32_t SimEventLine::seqno() const {
    if (read_fd_ >= 0) {
        try {
            seqno_ = world_->subscriber_counts(id_).first;
        } catch (const NotFound&) {
        }
    }
    return seqno_;
}

uint64_t SimEventLine::dropped() const {
    if (read_fd_ >= 0) {
        try {
            dropped_ = world_->subscriber_counts(id_).second;
        } catch (const NotFound&) {
        }
    }
    return dropped_;
}

int SimEventLine::get_value() const { return world_->level(gpio_); }

}  // namespace rpio
