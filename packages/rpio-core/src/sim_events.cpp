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
    read_fd_ = fds[0];
    write_fd_ = fds[1];
    world_->add_watcher(this);
}

SimEventLine::~SimEventLine() { close(); }

void SimEventLine::close() {
    if (read_fd_ < 0) return;
    world_->remove_watcher(this);
    ::close(read_fd_);
    ::close(write_fd_);
    read_fd_ = write_fd_ = -1;
}

int SimEventLine::get_value() const { return world_->level(gpio_); }

void SimEventLine::on_level_change(int64_t t_ns, int level) {
    if (level ? !rising_ : !falling_) return;
    ++seqno_;
    LineEvent ev{};
    ev.timestamp_ns = static_cast<uint64_t>(t_ns);
    ev.id = level ? kEventRising : kEventFalling;
    ev.offset = gpio_;
    ev.seqno = seqno_;
    ev.line_seqno = seqno_;
    // A pipe write of <= PIPE_BUF bytes is all or nothing.
    if (::write(write_fd_, &ev, sizeof ev) != static_cast<ssize_t>(sizeof ev)) ++dropped_;
}

}  // namespace rpio
