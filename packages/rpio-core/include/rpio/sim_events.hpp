// Edge events of a simulated pin, delivered as the kernel delivers them: 48-byte
// struct gpio_v2_line_event records readable from a file descriptor.
#pragma once

#include <cstdint>
#include <memory>

namespace rpio {

class PinWorld;

// Same layout as struct gpio_v2_line_event in <linux/gpio.h>.
struct LineEvent {
    uint64_t timestamp_ns;
    uint32_t id;  // 1 rising, 2 falling
    uint32_t offset;
    uint32_t seqno;
    uint32_t line_seqno;
    uint32_t padding[6];
};
static_assert(sizeof(LineEvent) == 48, "gpio_v2_line_event is 48 bytes");

constexpr uint32_t kEventRising = 1;
constexpr uint32_t kEventFalling = 2;

// One line request on one pin. fileno() is the read end of a pipe (blocking, O_CLOEXEC). The line
// is registered in the board's subscriber table; whichever process changes the pin's level writes
// the record: this process through its own non-blocking write end, another process through
// /proc/PID/fd/N opened non-blocking (the same pipe, checked by inode). A full pipe drops the
// event (dropped() counts it; seqno still advances, so readers see the gap as with the kernel).
// Each request holds one line, so seqno and line_seqno are equal, as the kernel reports them.
class SimEventLine {
public:
    // Throws SystemError if pipe2 fails, std::invalid_argument if neither edge is asked for.
    SimEventLine(std::shared_ptr<PinWorld> world, unsigned gpio, bool rising, bool falling);
    ~SimEventLine();
    SimEventLine(const SimEventLine&) = delete;
    SimEventLine& operator=(const SimEventLine&) = delete;

    int fileno() const { return read_fd_; }  // -1 once closed
    unsigned gpio() const { return gpio_; }
    bool rising() const { return rising_; }
    bool falling() const { return falling_; }
    bool closed() const { return read_fd_ < 0; }
    uint64_t dropped() const;
    uint32_t seqno() const;
    int get_value() const;

    // Unregisters from the pin and closes both ends. Idempotent.
    void close();

private:
    std::shared_ptr<PinWorld> world_;  // keeps the pin world alive as long as the line
    unsigned gpio_;
    bool rising_;
    bool falling_;
    int read_fd_ = -1;
    int write_fd_ = -1;
    uint32_t id_ = 0;  // in the board's subscriber table
    mutable uint32_t seqno_ = 0;  // the last counts read (kept once closed)
    mutable uint64_t dropped_ = 0;
};

}  // namespace rpio
