// ChardevLines against a fake kernel: which fd, which ioctl, which bits; errno passed back.
#include <cerrno>
#include <map>
#include <stdexcept>

#include "check.hpp"
#include "rpio/chardev_lines.hpp"

namespace {

struct FakeKernel {
    std::map<int, int> level;  // request fd -> the level of its one line
    std::map<int, bool> output;
    int calls = 0;
    int fail_errno = 0;  // the next call fails with this
    int eintr_left = 0;  // the next calls are interrupted this many times
    unsigned long last_request = 0;
};
FakeKernel g_kernel;

int fake_ioctl(int fd, unsigned long request, void* arg) {
    ++g_kernel.calls;
    g_kernel.last_request = request;
    if (g_kernel.eintr_left > 0) {
        --g_kernel.eintr_left;
        errno = EINTR;
        return -1;
    }
    if (g_kernel.fail_errno) {
        errno = g_kernel.fail_errno;
        g_kernel.fail_errno = 0;
        return -1;
    }
    auto it = g_kernel.level.find(fd);
    if (it == g_kernel.level.end()) {
        errno = EBADF;
        return -1;
    }
    auto* v = static_cast<rpio::ChardevLineValues*>(arg);
    if (v->mask != 1u) {
        errno = EINVAL;
        return -1;
    }
    if (request == rpio::kGpioV2LineSetValuesIoctl) {
        if (!g_kernel.output[fd]) {
            errno = EPERM;  // the kernel's answer to SET_VALUES on an input
            return -1;
        }
        it->second = static_cast<int>(v->bits & 1u);
        return 0;
    }
    if (request == rpio::kGpioV2LineGetValuesIoctl) {
        v->bits = static_cast<uint64_t>(it->second);
        return 0;
    }
    errno = ENOTTY;
    return -1;
}

void reset_kernel() { g_kernel = FakeKernel{}; }

}  // namespace

TEST(chardev_write_and_read_go_to_the_line_s_request_fd) {
    reset_kernel();
    rpio::ChardevLines lines(54, &fake_ioctl);
    g_kernel.level[40] = 0;
    g_kernel.output[40] = true;
    g_kernel.level[41] = 1;
    lines.set_fd(17, 40);
    lines.set_fd(4, 41);
    CHECK_EQ(lines.write(17, true), 0);
    CHECK_EQ(g_kernel.last_request, rpio::kGpioV2LineSetValuesIoctl);
    CHECK_EQ(g_kernel.level[40], 1);
    CHECK_EQ(lines.read(17), 1);
    CHECK_EQ(g_kernel.last_request, rpio::kGpioV2LineGetValuesIoctl);
    CHECK_EQ(lines.write(17, false), 0);
    CHECK_EQ(lines.read(17), 0);
    CHECK_EQ(lines.read(4), 1);
    CHECK_EQ(lines.write(4, true), EPERM);  // an input: the kernel refuses, the errno comes back
    CHECK_EQ(g_kernel.level[41], 1);
}

TEST(chardev_unrequested_line_never_reaches_the_kernel) {
    reset_kernel();
    rpio::ChardevLines lines(54, &fake_ioctl);
    CHECK_EQ(lines.fd(5), -1);
    CHECK_EQ(lines.write(5, true), EBADF);
    CHECK_EQ(lines.read(5), -EBADF);
    CHECK_EQ(lines.write(200, true), EBADF);  // past the table: no access out of bounds
    CHECK_EQ(lines.read(200), -EBADF);
    CHECK_EQ(g_kernel.calls, 0);
    g_kernel.level[40] = 1;
    lines.set_fd(5, 40);
    lines.set_fd(5, -1);  // released
    CHECK_EQ(lines.read(5), -EBADF);
    CHECK_EQ(g_kernel.calls, 0);
}

TEST(chardev_errors_and_interrupted_calls) {
    reset_kernel();
    rpio::ChardevLines lines(8, &fake_ioctl);
    g_kernel.level[40] = 1;
    g_kernel.output[40] = true;
    lines.set_fd(3, 40);
    g_kernel.eintr_left = 2;  // EINTR is retried
    CHECK_EQ(lines.read(3), 1);
    CHECK_EQ(g_kernel.calls, 3);
    g_kernel.fail_errno = ENODEV;  // the chip went away
    CHECK_EQ(lines.write(3, false), ENODEV);
    CHECK_EQ(g_kernel.level[40], 1);
    g_kernel.fail_errno = ENODEV;
    CHECK_EQ(lines.read(3), -ENODEV);
    CHECK_THROWS(lines.set_fd(8, 40), std::out_of_range);  // the chip has 8 lines
    CHECK_THROWS(lines.set_fd(64, 40), std::out_of_range);
}
