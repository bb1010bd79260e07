// Pacing: the PWM or PCM FIFO drains one word per *slot*; every DELAY control block of every
// running channel needs one slot. All channels share that one FIFO, so with k channels running the
// slot is pulse_increment / k and the DMA arbiter hands the slots out in turn: each channel still
// gets exactly one slot per increment (the fix for RPIO#26, where two channels each got every other
// slot and all widths doubled). The clock (source, integer divisor) and the range (PWM RNG1 or PCM
// frame length) are chosen so that slot length is exact; a configuration that cannot be exact is
// refused rather than approximated.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "rpio_pwm/soc.hpp"

namespace rpio_pwm {

struct PacerConfig {
    Pacing pacing = Pacing::PWM;
    uint32_t clock_source = cmreg::SRC_PLLD;  // cmreg::SRC_OSC or SRC_PLLD
    uint64_t source_hz = 0;
    uint32_t divi = 0;            // integer divisor (MASH 0)
    uint32_t range = 0;           // clock ticks per FIFO word (PWM RNG1, PCM FLEN+1)
    uint32_t dreq_threshold = 0;  // DREQ while the FIFO holds fewer words than this
    uint32_t incr_us = 0;
    uint32_t channels = 0;        // k
    bool operator==(const PacerConfig& o) const {
        return pacing == o.pacing && clock_source == o.clock_source && source_hz == o.source_hz &&
               divi == o.divi && range == o.range && dreq_threshold == o.dreq_threshold;
    }
    bool same_clock(const PacerConfig& o) const {
        return pacing == o.pacing && clock_source == o.clock_source && divi == o.divi;
    }
    double slot_us() const { return static_cast<double>(range) * divi * 1e6 / static_cast<double>(source_hz); }
    std::string describe() const;
};

constexpr uint64_t kMaxPacerClockHz = 25000000;  // keep the PWM/PCM clock at or below 25 MHz
constexpr uint32_t kPwmDreqThreshold = 15;
constexpr uint32_t kPcmDreqThreshold = 48;

// Exact pacing for `channels` (k >= 1) channels at `incr_us`; prefers the clock of `current` (so that
// only the range changes while channels run). Throws PwmError when no exact configuration exists.
PacerConfig compute_pacer(const SocInfo& soc, Pacing pacing, uint32_t incr_us, uint32_t channels,
                          const std::optional<PacerConfig>& current = std::nullopt);
std::optional<PacerConfig> try_compute_pacer(const SocInfo& soc, Pacing pacing, uint32_t incr_us,
                                             uint32_t channels,
                                             const std::optional<PacerConfig>& current = std::nullopt);

}  // namespace rpio_pwm
