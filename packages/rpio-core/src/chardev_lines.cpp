#include "rpio/chardev_lines.hpp"

#include <sys/ioctl.h>

#include <cerrno>
#include <stdexcept>
#include <string>

namespace rpio {

namespace {
int system_ioctl(int fd, unsigned long request, void* arg) { return ::ioctl(fd, request, arg); }
}  // namespace

static_assert(ChardevLines::kNotRequested == EBADF, "kNotRequested is EBADF");

ChardevLines::ChardevLines(unsigned num_lines, IoctlFn ioctl_fn)
    : num_lines_(num_lines), ioctl_(ioctl_fn ? ioctl_fn : &system_ioctl) {
    for (auto& f : fds_) f.store(-1, std::memory_order_relaxed);
}

void ChardevLines::set_fd(unsigned line, int fd) {
    if (line >= kMaxLines || line >= num_lines_)
        throw std::out_of_range("line " + std::to_string(line) + " is outside the fast path's " +
                                std::to_string(num_lines_ < kMaxLines ? num_lines_ : kMaxLines) +
                                " lines");
    fds_[line].store(fd < 0 ? -1 : fd, std::memory_order_relaxed);
}

int ChardevLines::fd(unsigned line) const {
    return line < kMaxLines ? fds_[line].load(std::memory_order_relaxed) : -1;
}

int ChardevLines::call(int f, unsigned long request, ChardevLineValues* v) noexcept {
    for (;;) {
        if (ioctl_(f, request, v) == 0) return 0;
        if (errno != EINTR) return errno ? errno : EIO;
    }
}

}  // namespace rpio
