// Pulse schedules: what each gpio should do during one subcycle of a DMA channel, and the
// bookkeeping of RPIO.PWM's state (increment, pacing, channels, which channel owns which gpio).
// Every check of the RPIO.PWM API lives here, so every backend raises the same errors, and every
// mutating call validates everything before it changes anything.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rpio_pwm/soc.hpp"

namespace rpio_pwm {

struct Pulse {
    uint32_t start;  // in increments from the start of the subcycle
    uint32_t width;  // in increments
    bool operator==(const Pulse& o) const { return start == o.start && width == o.width; }
};

constexpr uint32_t kSubcycleMinUs = 3000;          // RPIO 0.10's minimum (its docs said 2 ms)
constexpr uint32_t kSubcycleDefaultUs = 20000;
constexpr uint32_t kIncrementDefaultUs = 10;
constexpr uint32_t kMaxSamples = 200000;          // ~20 MiB of control blocks per channel
constexpr int kMaskGpios = 32;                     // one 32-bit GPSET0/GPCLR0 bank

// One channel's subcycle: per gpio, a list of pulses; the pin is high in the union of them.
class ChannelSchedule {
public:
    ChannelSchedule(uint32_t subcycle_us, uint32_t incr_us);
    uint32_t subcycle_us() const { return subcycle_us_; }
    uint32_t num_samples() const { return num_samples_; }
    const std::map<int, std::vector<Pulse>>& gpios() const { return gpios_; }
    bool owns(int gpio) const { return gpios_.count(gpio) != 0; }
    // Level of `gpio` in every sample (0/1); all zero for a gpio the channel does not own.
    std::vector<uint8_t> levels(int gpio) const;
    // Merged high runs [start, end) in increments, in order (what the levels encode).
    std::vector<Pulse> runs(int gpio) const;

    void add_pulse(int gpio, Pulse p);                     // caller has validated
    void set_pulses(int gpio, std::vector<Pulse> pulses);  // replaces; caller has validated
    void release(int gpio);

private:
    uint32_t subcycle_us_;
    uint32_t num_samples_;
    std::map<int, std::vector<Pulse>> gpios_;
};

// RPIO.PWM's state machine, hardware-free.
class PwmState {
public:
    explicit PwmState(const SocInfo& soc) : soc_(&soc) {}

    bool is_setup() const { return setup_; }
    uint32_t incr_us() const { return incr_us_; }
    Pacing pacing() const { return pacing_; }
    const SocInfo& soc() const { return *soc_; }

    void check_setup(int64_t incr_us, int pacing) const;
    void setup(uint32_t incr_us, Pacing pacing);
    void reset();  // back to "not set up", nothing initialized

    void check_channel_number(int64_t ch) const;
    void check_init_channel(int64_t ch, int64_t subcycle_us, bool enforce_minimum = true) const;
    void init_channel(int ch, uint32_t subcycle_us);
    void release_channel(int ch);
    bool is_channel_initialized(int64_t ch) const;
    int num_initialized() const;
    std::vector<int> initialized_channels() const;
    const ChannelSchedule& channel(int64_t ch) const;  // throws if not initialized

    void check_gpio(int64_t gpio) const;
    void check_add_pulse(int64_t ch, int64_t gpio, int64_t start, int64_t width) const;
    void add_pulse(int ch, int gpio, uint32_t start, uint32_t width);
    void check_set_pulses(int64_t ch, int64_t gpio, const std::vector<std::pair<int64_t, int64_t>>& pulses) const;
    void set_pulses(int ch, int gpio, const std::vector<Pulse>& pulses);
    void check_clear_channel_gpio(int64_t ch, int64_t gpio) const;
    void clear_channel_gpio(int ch, int gpio);  // releases the gpio from the channel
    std::vector<int> clear_channel(int64_t ch);  // releases every gpio; returns them

    // The channel currently driving `gpio`, or -1.
    int owner(int gpio) const { return gpio >= 0 && gpio < kMaskGpios ? owner_[gpio] : -1; }
    // GPIOs this process has made outputs (made low on first use, RPIO 0.10's behaviour).
    uint32_t gpios_used() const { return gpios_used_; }
    void mark_gpio_used(int gpio) { gpios_used_ |= 1u << gpio; }
    void set_legacy_check(bool on) { legacy_check_ = on; }

private:
    const SocInfo* soc_;
    bool setup_ = false;
    bool legacy_check_ = true;  // refuse channels that do not run legacy control blocks on this SoC
    uint32_t incr_us_ = 0;
    Pacing pacing_ = Pacing::PWM;
    std::array<std::optional<ChannelSchedule>, kDmaChannels> channels_{};
    std::array<int, kMaskGpios> owner_ = make_owner();
    uint32_t gpios_used_ = 0;
    static std::array<int, kMaskGpios> make_owner() {
        std::array<int, kMaskGpios> a{};
        a.fill(-1);
        return a;
    }
};

}  // namespace rpio_pwm
