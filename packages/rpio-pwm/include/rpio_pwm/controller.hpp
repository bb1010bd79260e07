// RPIO.PWM's engine: PwmState (the rules) + one compiled Ring per channel + the pacer, driven through
// a Platform. The same code runs on a Pi (HardwarePlatform) and on the model (SimSoc).
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rpio_pwm/pacer.hpp"
#include "rpio_pwm/platform.hpp"
#include "rpio_pwm/ring.hpp"
#include "rpio_pwm/schedule.hpp"

namespace rpio_pwm {

class Controller {
public:
    explicit Controller(Platform& platform);
    ~Controller();
    Controller(const Controller&) = delete;
    Controller& operator=(const Controller&) = delete;

    void setup(int64_t incr_us, int pacing);
    void cleanup();  // idempotent; afterwards setup() may be called again
    bool is_setup() const { return state_.is_setup(); }

    void init_channel(int64_t ch, int64_t subcycle_us, bool enforce_minimum = true);
    void release_channel(int64_t ch);  // stop the channel's DMA, drive its pins low, free its memory
    void add_pulse(int64_t ch, int64_t gpio, int64_t start, int64_t width);
    void set_pulses(int64_t ch, int64_t gpio, const std::vector<std::pair<int64_t, int64_t>>& pulses);
    void clear_channel(int64_t ch);
    void clear_channel_gpio(int64_t ch, int64_t gpio);

    // Whether a channel is in use by anyone (this controller included): CS.ACTIVE or CONBLK_AD != 0.
    bool channel_busy(int ch);
    const PwmState& state() const { return state_; }
    PwmState& mutable_state() { return state_; }
    const Ring& ring(int64_t ch) const;
    std::optional<PacerConfig> pacer() const { return pacer_; }
    std::string describe_channel(int64_t ch) const;
    Platform& platform() { return *platform_; }

private:
    void ensure_output(int gpio);
    void drive_low(uint32_t mask);
    void start_pacer(const PacerConfig& cfg);
    void retune_pacer(const PacerConfig& cfg);
    void stop_pacer();
    void stop_clock(uint32_t ctl_off);
    void start_clock(uint32_t ctl_off, uint32_t div_off, const PacerConfig& cfg);
    void write_range(const PacerConfig& cfg);
    // Refuses (DmaChannelBusy) a channel someone else runs: CS.ACTIVE set or a non-zero CONBLK_AD.
    void check_channel_free(int ch);
    void start_dma(int ch, uint32_t first_cb);
    void stop_dma(int ch);
    void release_gpios(int ch, const std::vector<int>& gpios);
    BusAddr dma_reg(int ch, uint32_t off) const { return BusAddr{kBusDma + kDmaChannelStride * ch + off}; }

    Platform* platform_;
    PwmState state_;
    std::array<std::unique_ptr<Ring>, kDmaChannels> rings_{};
    std::optional<PacerConfig> pacer_;
};

}  // namespace rpio_pwm
