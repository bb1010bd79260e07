#include "rpio_pwm/controller.hpp"

#include <sstream>

namespace rpio_pwm {

Controller::Controller(Platform& platform) : platform_(&platform), state_(platform.soc()) {}

Controller::~Controller() {
    try {
        cleanup();
    } catch (...) {
    }
}

const Ring& Controller::ring(int64_t ch) const {
    state_.channel(ch);
    return *rings_[ch];
}

// ---------------------------------------------------------------- lifecycle
void Controller::setup(int64_t incr_us, int pacing) {
    state_.check_setup(incr_us, pacing);
    if (state_.is_setup()) return;  // same arguments again: nothing to do
    const Pacing p = static_cast<Pacing>(pacing);
    compute_pacer(platform_->soc(), p, static_cast<uint32_t>(incr_us), 1);  // refuse what cannot be paced
    state_.setup(static_cast<uint32_t>(incr_us), p);
}

void Controller::cleanup() {
    if (!state_.is_setup()) return;
    std::string first_error;
    auto attempt = [&](auto&& fn) {
        try {
            fn();
        } catch (const std::exception& e) {
            if (first_error.empty()) first_error = e.what();
        }
    };
    for (int ch : state_.initialized_channels()) attempt([&] { stop_dma(ch); });
    if (pacer_) attempt([&] { stop_pacer(); });
    // What stays on the pins: every gpio PWM used stays an output, driven low.
    attempt([&] { drive_low(state_.gpios_used()); });
    for (int ch = 0; ch < kDmaChannels; ++ch) {
        if (rings_[ch]) {
            DmaBuffer b = rings_[ch]->buffer();
            rings_[ch].reset();
            attempt([&] { platform_->free_dma(b); });
        }
    }
    state_.reset();
    pacer_.reset();
    if (!first_error.empty()) throw PwmError("cleanup: " + first_error);
}

void Controller::init_channel(int64_t ch, int64_t subcycle_us, bool enforce_minimum) {
    state_.check_init_channel(ch, subcycle_us, enforce_minimum);
    check_channel_free(static_cast<int>(ch));  // before anything is allocated or written
    const uint32_t k = static_cast<uint32_t>(state_.num_initialized()) + 1;
    PacerConfig cfg = compute_pacer(platform_->soc(), state_.pacing(), state_.incr_us(), k, pacer_);
    const uint32_t n = static_cast<uint32_t>(subcycle_us) / state_.incr_us();
    const RingLayout layout = RingLayout::for_samples(n);
    DmaBuffer buf = platform_->alloc_dma(layout.total_bytes);
    std::unique_ptr<Ring> ring;
    try {
        ring = std::make_unique<Ring>(platform_->soc(), buf, n, state_.pacing());
    } catch (...) {
        platform_->free_dma(buf);
        throw;
    }
    const uint32_t first = ring->start_cb_bus();
    state_.init_channel(static_cast<int>(ch), static_cast<uint32_t>(subcycle_us));
    rings_[ch] = std::move(ring);
    if (k == 1) {
        start_pacer(cfg);  // clock, range, DREQ, FIFO primed: the first DELAY waits one whole slot
        start_dma(static_cast<int>(ch), first);
        if (cfg.pacing == Pacing::PWM)
            platform_->write32(BusAddr{kBusPwm + pwmreg::CTL}, pwmreg::CTL_USEF1 | pwmreg::CTL_PWEN1);
        else
            platform_->write32(BusAddr{kBusPcm + pcmreg::CS_A},
                               pcmreg::CS_EN | pcmreg::CS_STBY | pcmreg::CS_DMAEN | pcmreg::CS_TXON);
    } else {
        retune_pacer(cfg);
        start_dma(static_cast<int>(ch), first);
    }
    pacer_ = cfg;
}

void Controller::release_channel(int64_t ch) {
    const ChannelSchedule& sched = state_.channel(ch);
    const uint32_t k = static_cast<uint32_t>(state_.num_initialized()) - 1;
    std::optional<PacerConfig> cfg;
    if (k > 0) cfg = compute_pacer(platform_->soc(), state_.pacing(), state_.incr_us(), k, pacer_);
    std::vector<int> gpios;
    for (const auto& kv : sched.gpios()) gpios.push_back(kv.first);
    release_gpios(static_cast<int>(ch), gpios);
    stop_dma(static_cast<int>(ch));
    DmaBuffer b = rings_[ch]->buffer();
    rings_[ch].reset();
    state_.release_channel(static_cast<int>(ch));
    platform_->free_dma(b);
    if (k == 0) {
        stop_pacer();
        pacer_.reset();
    } else {
        retune_pacer(*cfg);
        pacer_ = cfg;
    }
}

// ---------------------------------------------------------------- pulses
void Controller::add_pulse(int64_t ch, int64_t gpio, int64_t start, int64_t width) {
    state_.check_add_pulse(ch, gpio, start, width);
    const int c = static_cast<int>(ch), g = static_cast<int>(gpio);
    ensure_output(g);
    state_.add_pulse(c, g, static_cast<uint32_t>(start), static_cast<uint32_t>(width));
    rings_[c]->set_levels(g, state_.channel(c).levels(g));
}

void Controller::set_pulses(int64_t ch, int64_t gpio, const std::vector<std::pair<int64_t, int64_t>>& pulses) {
    state_.check_set_pulses(ch, gpio, pulses);
    const int c = static_cast<int>(ch), g = static_cast<int>(gpio);
    std::vector<Pulse> ps;
    ps.reserve(pulses.size());
    for (const auto& p : pulses) ps.push_back({static_cast<uint32_t>(p.first), static_cast<uint32_t>(p.second)});
    ensure_output(g);
    state_.set_pulses(c, g, ps);
    rings_[c]->set_levels(g, state_.channel(c).levels(g));
}

void Controller::clear_channel(int64_t ch) {
    const ChannelSchedule& sched = state_.channel(ch);
    std::vector<int> gpios;
    for (const auto& kv : sched.gpios()) gpios.push_back(kv.first);
    release_gpios(static_cast<int>(ch), gpios);
}

void Controller::clear_channel_gpio(int64_t ch, int64_t gpio) {
    state_.check_clear_channel_gpio(ch, gpio);
    const int g = static_cast<int>(gpio);
    if (state_.channel(ch).owns(g))
        release_gpios(static_cast<int>(ch), {g});
    else
        drive_low(1u << g);  // already released: clearing again is harmless
}

void Controller::release_gpios(int ch, const std::vector<int>& gpios) {
    if (gpios.empty()) return;
    Ring& ring = *rings_[ch];
    const std::vector<uint8_t> low(ring.num_samples(), 0);
    uint32_t mask = 0;
    // 1: the DMA drives the pins low in every sample.
    for (int g : gpios) {
        ring.set_levels(g, low);
        mask |= 1u << g;
    }
    // 2: after two samples the DMA has executed a CLR with the new masks, so no SET read before
    //    the edit can still be in flight; only then stop touching the pins.
    platform_->delay_us(2 * state_.incr_us());
    for (int g : gpios) ring.release(g);
    drive_low(mask);
    for (int g : gpios) state_.clear_channel_gpio(ch, g);
}

// ---------------------------------------------------------------- GPIO
void Controller::ensure_output(int gpio) {
    const uint32_t bit = 1u << gpio;
    if (state_.gpios_used() & bit) return;
    platform_->write32(BusAddr{kBusGpclr0}, bit);  // low first, then output: no glitch
    const BusAddr fsel{kBusGpio + 4u * static_cast<uint32_t>(gpio / 10)};
    const uint32_t shift = static_cast<uint32_t>(gpio % 10) * 3;
    uint32_t v = platform_->read32(fsel);
    v = (v & ~(7u << shift)) | (1u << shift);
    platform_->write32(fsel, v);
    state_.mark_gpio_used(gpio);
}

void Controller::drive_low(uint32_t mask) {
    if (mask) platform_->write32(BusAddr{kBusGpclr0}, mask);
}

// ---------------------------------------------------------------- DMA channel
bool Controller::channel_busy(int ch) {
    if (ch < 0 || ch >= kDmaChannels) throw PwmArgumentError("no such DMA channel: " + std::to_string(ch));
    const uint32_t cs = platform_->read32(dma_reg(ch, dmareg::CS));
    const uint32_t conblk = platform_->read32(dma_reg(ch, dmareg::CONBLK_AD));
    return (cs & dmareg::CS_ACTIVE) || conblk != 0;
}

void Controller::check_channel_free(int ch) {
    const uint32_t cs = platform_->read32(dma_reg(ch, dmareg::CS));
    const uint32_t conblk = platform_->read32(dma_reg(ch, dmareg::CONBLK_AD));
    if (!(cs & dmareg::CS_ACTIVE) && conblk == 0) return;
    std::string free_list;
    const uint32_t legacy = platform_->soc().legacy_dma_mask;
    for (int c = kDmaChannels - 1; c > 0; --c) {
        if (c == ch || !(legacy & (1u << c)) || state_.is_channel_initialized(c)) continue;
        const uint32_t ccs = platform_->read32(dma_reg(c, dmareg::CS));
        const uint32_t cad = platform_->read32(dma_reg(c, dmareg::CONBLK_AD));
        if (!(ccs & dmareg::CS_ACTIVE) && cad == 0) free_list += (free_list.empty() ? "" : ", ") + std::to_string(c);
    }
    throw DmaChannelBusy(
        "DMA channel " + std::to_string(ch) + " is in use by another program (CS " + hex32(cs) +
        ((cs & dmareg::CS_ACTIVE) ? ", ACTIVE" : "") + ", CONBLK_AD " + hex32(conblk) +
        "): pigpio, servod, a kernel driver or another RPIO process holds it, and taking it over would corrupt "
        "its transfers. Choose another channel: Servo(dma_channel=N), init_channel(N, ...) or "
        "RPIO_PWM_DMA_CHANNEL=N" + (free_list.empty() ? std::string(" (no legacy channel looks free now)")
                                                        : " (free now: " + free_list + ")"));
}

void Controller::start_dma(int ch, uint32_t first_cb) {
    platform_->write32(dma_reg(ch, dmareg::CS), dmareg::CS_RESET);
    platform_->delay_us(10);
    platform_->write32(dma_reg(ch, dmareg::CS), dmareg::CS_INT | dmareg::CS_END);
    platform_->write32(dma_reg(ch, dmareg::CONBLK_AD), first_cb);
    platform_->write32(dma_reg(ch, dmareg::DEBUG), 7);
    platform_->channel_live(ch, true);
    platform_->write32(dma_reg(ch, dmareg::CS), dmareg::CS_GO);
}

void Controller::stop_dma(int ch) {
    platform_->write32(dma_reg(ch, dmareg::CS), dmareg::CS_ABORT);
    platform_->delay_us(10);
    platform_->write32(dma_reg(ch, dmareg::CS), dmareg::CS_RESET);
    platform_->delay_us(10);
    platform_->channel_live(ch, false);
}

// ---------------------------------------------------------------- pacer
void Controller::stop_clock(uint32_t ctl_off) {
    const BusAddr ctl{kBusClock + ctl_off};
    uint32_t cur = platform_->read32(ctl);
    if (!(cur & cmreg::CTL_BUSY)) return;
    platform_->write32(ctl, cmreg::PASSWD | (cur & 0xFu));  // disable, keep the source
    int spins = 0;
    while (platform_->read32(ctl) & cmreg::CTL_BUSY) {
        if (++spins == 100) platform_->write32(ctl, cmreg::PASSWD | (cur & 0xFu) | cmreg::CTL_KILL);
        if (spins > 1000) throw PwmError("the clock manager did not stop (BUSY stays set)");
        platform_->delay_us(1);
    }
}

void Controller::start_clock(uint32_t ctl_off, uint32_t div_off, const PacerConfig& cfg) {
    const BusAddr ctl{kBusClock + ctl_off}, div{kBusClock + div_off};
    platform_->write32(div, cmreg::PASSWD | (cfg.divi << 12));
    platform_->delay_us(10);
    platform_->write32(ctl, cmreg::PASSWD | cfg.clock_source);
    platform_->delay_us(10);
    platform_->write32(ctl, cmreg::PASSWD | cfg.clock_source | cmreg::CTL_ENAB);
    platform_->delay_us(10);
}

void Controller::write_range(const PacerConfig& cfg) {
    if (cfg.pacing == Pacing::PWM)
        platform_->write32(BusAddr{kBusPwm + pwmreg::RNG1}, cfg.range);
    else
        platform_->write32(BusAddr{kBusPcm + pcmreg::MODE_A}, (cfg.range - 1) << 10);
}

void Controller::start_pacer(const PacerConfig& cfg) {
    if (cfg.pacing == Pacing::PWM) {
        platform_->write32(BusAddr{kBusPwm + pwmreg::CTL}, 0);
        platform_->delay_us(10);
        stop_clock(cmreg::PWMCTL);
        write_range(cfg);
        platform_->write32(BusAddr{kBusPwm + pwmreg::DMAC},
                           pwmreg::DMAC_ENAB | (cfg.dreq_threshold << 8) | cfg.dreq_threshold);
        platform_->write32(BusAddr{kBusPwm + pwmreg::CTL}, pwmreg::CTL_CLRF);
        platform_->delay_us(10);
        for (uint32_t i = 0; i < cfg.dreq_threshold; ++i) platform_->write32(BusAddr{kBusPwmFifo}, 0);
        start_clock(cmreg::PWMCTL, cmreg::PWMDIV, cfg);
    } else {
        const BusAddr cs{kBusPcm + pcmreg::CS_A};
        platform_->write32(cs, pcmreg::CS_EN | pcmreg::CS_STBY);
        platform_->delay_us(100);
        stop_clock(cmreg::PCMCTL);
        platform_->write32(BusAddr{kBusPcm + pcmreg::TXC_A}, pcmreg::TXC_CH1EN);  // one 8-bit channel
        write_range(cfg);
        platform_->write32(cs, pcmreg::CS_EN | pcmreg::CS_STBY | pcmreg::CS_TXCLR);
        platform_->delay_us(100);
        platform_->write32(BusAddr{kBusPcm + pcmreg::DREQ_A}, (cfg.dreq_threshold << 24) | (cfg.dreq_threshold << 8));
        platform_->write32(cs, pcmreg::CS_EN | pcmreg::CS_STBY | pcmreg::CS_DMAEN);
        for (uint32_t i = 0; i < cfg.dreq_threshold; ++i) platform_->write32(BusAddr{kBusPcmFifo}, 0);
        start_clock(cmreg::PCMCTL, cmreg::PCMDIV, cfg);
    }
}

void Controller::retune_pacer(const PacerConfig& cfg) {
    if (pacer_ && cfg.same_clock(*pacer_)) {
        write_range(cfg);  // same clock: only the slot length changes, at the next FIFO word
        return;
    }
    // Another clock: stop it, set the range, start it again (the running channels stall for a few us).
    const bool pwm = cfg.pacing == Pacing::PWM;
    stop_clock(pwm ? cmreg::PWMCTL : cmreg::PCMCTL);
    write_range(cfg);
    start_clock(pwm ? cmreg::PWMCTL : cmreg::PCMCTL, pwm ? cmreg::PWMDIV : cmreg::PCMDIV, cfg);
}

void Controller::stop_pacer() {
    if (!pacer_) return;
    uint32_t ctl_off;
    if (pacer_->pacing == Pacing::PWM) {
        platform_->write32(BusAddr{kBusPwm + pwmreg::CTL}, 0);
        platform_->write32(BusAddr{kBusPwm + pwmreg::DMAC}, 0);
        ctl_off = cmreg::PWMCTL;
    } else {
        platform_->write32(BusAddr{kBusPcm + pcmreg::CS_A}, 0);
        ctl_off = cmreg::PCMCTL;
    }
    const BusAddr ctl{kBusClock + ctl_off};
    uint32_t cur = platform_->read32(ctl);
    platform_->write32(ctl, cmreg::PASSWD | (cur & 0xFu));
}

// ---------------------------------------------------------------- print_channel
std::string Controller::describe_channel(int64_t ch) const {
    const ChannelSchedule& s = state_.channel(ch);
    const Ring& r = *rings_[ch];
    std::ostringstream o;
    o << "Subcycle time: " << s.subcycle_us() << "us\n";
    o << "PW Increments: " << state_.incr_us() << "us\n";
    o << "Num samples:   " << s.num_samples() << "\n";
    o << "Num CBS:       " << s.num_samples() * RingLayout::kCbsPerSample << "\n";
    o << "Memory:        " << r.layout().total_bytes << " bytes at bus " << hex32(r.first_cb_bus()) << "\n";
    if (pacer_) o << "Pacing:        " << pacer_->describe() << "\n";
    for (const auto& kv : s.gpios()) {
        o << "GPIO " << kv.first << ":";
        auto runs = s.runs(kv.first);
        if (runs.empty()) o << " low";
        for (const auto& p : runs) o << " [" << p.start << ", +" << p.width << ")";
        o << "\n";
    }
    return o.str();
}

}  // namespace rpio_pwm
