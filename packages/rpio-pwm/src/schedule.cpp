#include "rpio_pwm/schedule.hpp"

#include <algorithm>
#include <string>

namespace rpio_pwm {

namespace {
std::string S(int64_t v) { return std::to_string(v); }
}  // namespace

// ---------------------------------------------------------------- ChannelSchedule
ChannelSchedule::ChannelSchedule(uint32_t subcycle_us, uint32_t incr_us)
    : subcycle_us_(subcycle_us), num_samples_(subcycle_us / incr_us) {}

std::vector<uint8_t> ChannelSchedule::levels(int gpio) const {
    std::vector<uint8_t> out(num_samples_, 0);
    auto it = gpios_.find(gpio);
    if (it == gpios_.end()) return out;
    std::vector<int32_t> diff(num_samples_ + 1, 0);
    for (const Pulse& p : it->second) {
        if (p.width == 0) continue;
        diff[p.start] += 1;
        diff[p.start + p.width] -= 1;
    }
    int32_t run = 0;
    for (uint32_t s = 0; s < num_samples_; ++s) {
        run += diff[s];
        out[s] = run > 0 ? 1 : 0;
    }
    return out;
}

std::vector<Pulse> ChannelSchedule::runs(int gpio) const {
    std::vector<Pulse> out;
    auto lv = levels(gpio);
    uint32_t s = 0;
    while (s < num_samples_) {
        if (!lv[s]) {
            ++s;
            continue;
        }
        uint32_t b = s;
        while (s < num_samples_ && lv[s]) ++s;
        out.push_back({b, s - b});
    }
    return out;
}

void ChannelSchedule::add_pulse(int gpio, Pulse p) { gpios_[gpio].push_back(p); }

void ChannelSchedule::set_pulses(int gpio, std::vector<Pulse> pulses) { gpios_[gpio] = std::move(pulses); }

void ChannelSchedule::release(int gpio) { gpios_.erase(gpio); }

// ---------------------------------------------------------------- PwmState
void PwmState::check_setup(int64_t incr_us, int pacing) const {
    if (pacing != 0 && pacing != 1)
        throw PwmArgumentError("Error: delay_hw must be DELAY_VIA_PWM (0) or DELAY_VIA_PCM (1), not " + S(pacing));
    if (incr_us < 1 || incr_us > 100000)
        throw PwmArgumentError("Error: pulse_incr_us must be between 1 and 100000 (got " + S(incr_us) + ")");
    if (setup_ && (static_cast<int64_t>(incr_us_) != incr_us || static_cast<int>(pacing_) != pacing))
        throw PwmError("Error: setup(..) was already called with pulse_incr_us=" + S(incr_us_) +
                       " and delay_hw=" + S(static_cast<int>(pacing_)) + "; call cleanup() before changing them");
}

void PwmState::setup(uint32_t incr_us, Pacing pacing) {
    setup_ = true;
    incr_us_ = incr_us;
    pacing_ = pacing;
}

void PwmState::reset() {
    setup_ = false;
    incr_us_ = 0;
    for (auto& c : channels_) c.reset();
    owner_ = make_owner();
    gpios_used_ = 0;
}

void PwmState::check_channel_number(int64_t ch) const {
    if (ch < 0 || ch >= kDmaChannels)
        throw PwmArgumentError("Error: maximum channel is " + S(kDmaChannels - 1) + " (requested channel " + S(ch) + ")");
    if (legacy_check_ && !(soc_->legacy_dma_mask & (1u << ch))) {
        if (soc_->soc == Soc::BCM2711)
            throw PwmArgumentError("Error: DMA channel " + S(ch) +
                                   " of the BCM2711 is a DMA4 (40-bit) engine that does not run legacy "
                                   "control blocks; use a channel from 0 to 10");
        throw PwmArgumentError(std::string("Error: the ") + soc_->name + " has no legacy DMA channel " + S(ch));
    }
}

bool PwmState::is_channel_initialized(int64_t ch) const {
    return ch >= 0 && ch < kDmaChannels && channels_[ch].has_value();
}

int PwmState::num_initialized() const {
    int n = 0;
    for (const auto& c : channels_) n += c.has_value();
    return n;
}

std::vector<int> PwmState::initialized_channels() const {
    std::vector<int> v;
    for (int i = 0; i < kDmaChannels; ++i)
        if (channels_[i]) v.push_back(i);
    return v;
}

const ChannelSchedule& PwmState::channel(int64_t ch) const {
    check_channel_number(ch);
    if (!channels_[ch])
        throw PwmError("Error: channel " + S(ch) + " has not been initialized with 'init_channel(..)'");
    return *channels_[ch];
}

void PwmState::check_init_channel(int64_t ch, int64_t subcycle_us, bool enforce_minimum) const {
    if (!setup_) throw PwmError("Error: you need to call `setup(..)` before initializing channels");
    check_channel_number(ch);
    if (channels_[ch]) throw PwmError("Error: channel " + S(ch) + " already initialized.");
    int64_t minimum = enforce_minimum ? kSubcycleMinUs : 2 * static_cast<int64_t>(incr_us_);
    if (subcycle_us < minimum)
        throw PwmArgumentError("Error: subcycle time " + S(subcycle_us) + "us is too small (min=" + S(minimum) + "us)");
    if (subcycle_us % incr_us_ != 0)
        throw PwmArgumentError("Error: subcycle time " + S(subcycle_us) + "us is not a multiple of the pulse width increment " +
                               S(incr_us_) + "us");
    if (subcycle_us / incr_us_ > kMaxSamples)
        throw PwmArgumentError("Error: subcycle time " + S(subcycle_us) + "us at " + S(incr_us_) + "us increments needs " +
                               S(subcycle_us / incr_us_) + " samples (max " + S(kMaxSamples) + ")");
}

void PwmState::init_channel(int ch, uint32_t subcycle_us) { channels_[ch].emplace(subcycle_us, incr_us_); }

void PwmState::release_channel(int ch) {
    if (!channels_[ch]) return;
    for (const auto& kv : channels_[ch]->gpios()) owner_[kv.first] = -1;
    channels_[ch].reset();
}

void PwmState::check_gpio(int64_t gpio) const {
    int64_t max_gpio = std::min<int64_t>(kMaskGpios, soc_->num_gpios) - 1;
    if (gpio < 0 || gpio > max_gpio)
        throw PwmArgumentError("Error: gpio " + S(gpio) + " cannot be driven by DMA PWM (GPIO 0.." + S(max_gpio) + " only)");
}

void PwmState::check_add_pulse(int64_t ch, int64_t gpio, int64_t start, int64_t width) const {
    const ChannelSchedule& c = channel(ch);
    check_gpio(gpio);
    if (start < 0 || width < 0 || start + width > static_cast<int64_t>(c.num_samples()))
        throw PwmArgumentError("Error: cannot add pulse to channel " + S(ch) + ": start=" + S(start) + " width=" + S(width) +
                               " must be >= 0 with start+width <= " + S(c.num_samples()) + " (the subcycle's increments)");
    if (owner_[gpio] >= 0 && owner_[gpio] != ch)
        throw PwmArgumentError("Error: gpio " + S(gpio) + " is already driven by DMA channel " + S(owner_[gpio]) +
                               "; clear_channel_gpio(" + S(owner_[gpio]) + ", " + S(gpio) + ") releases it");
}

void PwmState::add_pulse(int ch, int gpio, uint32_t start, uint32_t width) {
    channels_[ch]->add_pulse(gpio, Pulse{start, width});
    owner_[gpio] = ch;
}

void PwmState::check_set_pulses(int64_t ch, int64_t gpio, const std::vector<std::pair<int64_t, int64_t>>& pulses) const {
    check_add_pulse(ch, gpio, 0, 0);
    for (const auto& p : pulses) check_add_pulse(ch, gpio, p.first, p.second);
}

void PwmState::set_pulses(int ch, int gpio, const std::vector<Pulse>& pulses) {
    channels_[ch]->set_pulses(gpio, pulses);
    owner_[gpio] = ch;
}

void PwmState::check_clear_channel_gpio(int64_t ch, int64_t gpio) const {
    channel(ch);
    check_gpio(gpio);
    if (!(gpios_used_ & (1u << gpio)))
        throw PwmArgumentError("Error: cannot clear gpio " + S(gpio) + "; not yet been set up");
    if (owner_[gpio] >= 0 && owner_[gpio] != ch)
        throw PwmArgumentError("Error: gpio " + S(gpio) + " is driven by DMA channel " + S(owner_[gpio]) + ", not " + S(ch));
}

void PwmState::clear_channel_gpio(int ch, int gpio) {
    channels_[ch]->release(gpio);
    if (owner_[gpio] == ch) owner_[gpio] = -1;
}

std::vector<int> PwmState::clear_channel(int64_t ch) {
    channel(ch);
    std::vector<int> gpios;
    for (const auto& kv : channels_[ch]->gpios()) gpios.push_back(kv.first);
    for (int g : gpios) clear_channel_gpio(static_cast<int>(ch), g);
    return gpios;
}

}  // namespace rpio_pwm
