// The kernel's GPIO character device (uAPI v2) on the hot path: one line request per gpio, each
// an fd the umbrella obtained (and owns); output/input are one GPIO_V2_LINE_SET_VALUES /
// GET_VALUES ioctl on that fd. The control plane (requesting, reconfiguring, releasing, line
// info) stays in Python (rpio_interrupts.uapi); this class only borrows the fds.
#pragma once

#include <atomic>
#include <cstdint>

namespace rpio {

// struct gpio_v2_line_values of include/uapi/linux/gpio.h: bit i is the request's i-th line.
struct ChardevLineValues {
    uint64_t bits;
    uint64_t mask;
};
static_assert(sizeof(ChardevLineValues) == 16, "struct gpio_v2_line_values is 16 bytes");

// _IOWR(0xB4, 0x0E / 0x0F, struct gpio_v2_line_values), the generic _IOC encoding.
constexpr unsigned long kGpioV2LineGetValuesIoctl = 0xC010B40EUL;
constexpr unsigned long kGpioV2LineSetValuesIoctl = 0xC010B40FUL;

// The system call, replaceable so tests can run the logic against a fake kernel.
using IoctlFn = int (*)(int fd, unsigned long request, void* arg);

class ChardevLines {
public:
    static constexpr unsigned kMaxLines = 64;  // the fast path's gpio range

    // num_lines: how many lines the chip has (lines past kMaxLines are never on the fast path).
    explicit ChardevLines(unsigned num_lines, IoctlFn ioctl_fn = nullptr);
    ChardevLines(const ChardevLines&) = delete;
    ChardevLines& operator=(const ChardevLines&) = delete;

    unsigned num_lines() const { return num_lines_; }

    // The request fd that holds `line` alone (its index 0), or -1: not requested. Borrowed: the
    // owner sets -1 here before it closes the fd. std::out_of_range past kMaxLines / num_lines.
    void set_fd(unsigned line, int fd);
    int fd(unsigned line) const;

    // Drive a requested output line: 0, or the errno of the ioctl (EBADF when not requested,
    // EPERM when the line is not an output, ENODEV when the chip went away).
    int write(unsigned line, bool high) noexcept {
        const int f = line < kMaxLines ? fds_[line].load(std::memory_order_relaxed) : -1;
        if (f < 0) return kNotRequested;
        ChardevLineValues v{high ? 1u : 0u, 1u};
        return call(f, kGpioV2LineSetValuesIoctl, &v);
    }

    // The level of a requested line: 0 or 1, or -errno.
    int read(unsigned line) noexcept {
        const int f = line < kMaxLines ? fds_[line].load(std::memory_order_relaxed) : -1;
        if (f < 0) return -kNotRequested;
        ChardevLineValues v{0, 1u};
        const int e = call(f, kGpioV2LineGetValuesIoctl, &v);
        return e ? -e : static_cast<int>(v.bits & 1u);
    }

    static constexpr int kNotRequested = 9;  // EBADF

private:
    int call(int f, unsigned long request, ChardevLineValues* v) noexcept;

    unsigned num_lines_;
    IoctlFn ioctl_;
    std::atomic<int> fds_[kMaxLines];
};

}  // namespace rpio
