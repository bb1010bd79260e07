#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "rpio_pwm/hardware.hpp"

namespace rpio_pwm {

VcioTransport::VcioTransport(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0)
        throw PwmError("cannot open the VideoCore mailbox " + path + ": " + std::strerror(errno) +
                       " (DMA PWM needs root, or membership of the video group)");
}

VcioTransport::~VcioTransport() {
    if (fd_ >= 0) ::close(fd_);
}

unsigned long VcioTransport::ioctl_request() { return _IOWR(100, 0, char*); }

void VcioTransport::property(uint32_t* msg) {
    if (::ioctl(fd_, ioctl_request(), msg) < 0)
        throw PwmError(std::string("VideoCore mailbox call failed: ") + std::strerror(errno));
}

std::vector<uint32_t> Mailbox::message(uint32_t tag, const std::vector<uint32_t>& values, uint32_t value_words) {
    const uint32_t words = std::max<uint32_t>(value_words, static_cast<uint32_t>(values.size()));
    std::vector<uint32_t> m;
    m.reserve(6 + words);
    m.push_back(0);  // total size, filled below
    m.push_back(0);  // process request
    m.push_back(tag);
    m.push_back(words * 4);                                   // value buffer size
    m.push_back(static_cast<uint32_t>(values.size()) * 4);    // request length
    for (uint32_t i = 0; i < words; ++i) m.push_back(i < values.size() ? values[i] : 0);
    m.push_back(0);  // end tag
    m[0] = static_cast<uint32_t>(m.size()) * 4;
    return m;
}

std::vector<uint32_t> Mailbox::call(uint32_t tag, const std::vector<uint32_t>& values, uint32_t value_words) {
    std::vector<uint32_t> m = message(tag, values, value_words);
    t_->property(m.data());
    if (m[1] != 0x80000000u)
        throw PwmError("VideoCore mailbox: request for tag " + hex32(tag) + " failed (code " + hex32(m[1]) + ")");
    if (!(m[4] & 0x80000000u))
        throw PwmError("VideoCore mailbox: tag " + hex32(tag) + " was not answered");
    return std::vector<uint32_t>(m.begin() + 5, m.begin() + 5 + (m[3] / 4));
}

uint32_t Mailbox::mem_alloc(uint32_t size, uint32_t align, uint32_t flags) {
    uint32_t h = call(TAG_MEM_ALLOC, {size, align, flags}, 3).at(0);
    if (h == 0) throw PwmError("VideoCore mailbox: could not allocate " + std::to_string(size) + " bytes of GPU memory");
    return h;
}
uint32_t Mailbox::mem_lock(uint32_t handle) {
    uint32_t bus = call(TAG_MEM_LOCK, {handle}, 1).at(0);
    if (bus == 0) throw PwmError("VideoCore mailbox: could not lock GPU memory");
    return bus;
}
void Mailbox::mem_unlock(uint32_t handle) { call(TAG_MEM_UNLOCK, {handle}, 1); }
void Mailbox::mem_release(uint32_t handle) { call(TAG_MEM_RELEASE, {handle}, 1); }
uint32_t Mailbox::get_dma_channels() { return call(TAG_GET_DMA_CHANNELS, {}, 1).at(0); }

}  // namespace rpio_pwm
