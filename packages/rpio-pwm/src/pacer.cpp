#include "rpio_pwm/pacer.hpp"

#include <sstream>

#include "rpio_pwm/wide.hpp"

namespace rpio_pwm {

std::string PacerConfig::describe() const {
    std::ostringstream o;
    o << pacing_name(pacing) << " FIFO, clock " << (clock_source == cmreg::SRC_PLLD ? "PLLD" : "oscillator") << " "
      << source_hz << " Hz / " << divi << ", " << range << " ticks per slot (" << slot_us() << " us = " << incr_us
      << " us / " << channels << " channel" << (channels == 1 ? "" : "s") << "), DREQ below " << dreq_threshold
      << " words";
    return o.str();
}

std::optional<PacerConfig> try_compute_pacer(const SocInfo& soc, Pacing pacing, uint32_t incr_us, uint32_t channels,
                                             const std::optional<PacerConfig>& current) {
    if (channels == 0 || incr_us == 0) return std::nullopt;
    const uint32_t min_range = pacing == Pacing::PCM ? 8 : 2;
    const uint64_t max_range = pacing == Pacing::PCM ? 1024 : 0xFFFFFFFFull;
    auto try_clock = [&](uint32_t src, uint64_t hz, uint32_t divi) -> std::optional<PacerConfig> {
        if (hz == 0 || divi < 2 || divi > 4095) return std::nullopt;
        // slot = range * divi / hz seconds must equal incr_us / channels microseconds exactly:
        // range = hz * incr_us / (1e6 * divi * channels)
        const Wide den = mul_wide(uint64_t{1000000u} * divi, channels);
        if (den.hi) return std::nullopt;  // a slot that short is below any clock's resolution
        const WideDivision q = div_wide(mul_wide(hz, incr_us), den.lo);
        if (q.remainder != 0 || q.quotient.hi) return std::nullopt;
        const uint64_t range = q.quotient.lo;
        if (range < min_range || range > max_range) return std::nullopt;
        PacerConfig c;
        c.pacing = pacing;
        c.clock_source = src;
        c.source_hz = hz;
        c.divi = divi;
        c.range = static_cast<uint32_t>(range);
        c.dreq_threshold = pacing == Pacing::PWM ? kPwmDreqThreshold : kPcmDreqThreshold;
        c.incr_us = incr_us;
        c.channels = channels;
        return c;
    };
    if (current && current->pacing == pacing) {
        if (auto c = try_clock(current->clock_source, current->source_hz, current->divi)) return c;
    }
    const std::pair<uint32_t, uint64_t> sources[] = {{cmreg::SRC_PLLD, soc.plld_hz}, {cmreg::SRC_OSC, soc.osc_hz}};
    for (const auto& src : sources) {
        if (src.second == 0) continue;
        uint32_t first = static_cast<uint32_t>((src.second + kMaxPacerClockHz - 1) / kMaxPacerClockHz);
        if (first < 2) first = 2;
        for (uint32_t divi = first; divi <= 4095; ++divi)
            if (auto c = try_clock(src.first, src.second, divi)) return c;
    }
    return std::nullopt;
}

PacerConfig compute_pacer(const SocInfo& soc, Pacing pacing, uint32_t incr_us, uint32_t channels,
                          const std::optional<PacerConfig>& current) {
    if (auto c = try_compute_pacer(soc, pacing, incr_us, channels, current)) return *c;
    throw PwmError("Error: " + std::to_string(channels) + " DMA channel(s) cannot share the " + pacing_name(pacing) +
                   " pacing FIFO exactly at a pulse width increment of " + std::to_string(incr_us) + "us on the " +
                   soc.name + " (each channel needs one slot of " + std::to_string(incr_us) + "us/" +
                   std::to_string(channels) + " from a " + std::to_string(soc.plld_hz) + " or " +
                   std::to_string(soc.osc_hz) + " Hz clock); use fewer channels or another increment");
}

}  // namespace rpio_pwm
