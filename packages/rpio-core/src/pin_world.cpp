#include "rpio/pin_world.hpp"

#include <time.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "rpio/sim_events.hpp"

namespace rpio {

int64_t monotonic_ns() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

PinWorld::PinWorld(unsigned num_gpios, size_t history_capacity)
    : num_gpios_(num_gpios), watchers_(num_gpios), ring_(history_capacity) {
    if (num_gpios == 0 || num_gpios > kMaxSimGpios)
        throw std::invalid_argument("a simulated chip has 1 to 64 gpios");
    // Every pin starts an input with no pull: floating, reading 0.
    floating_ = num_gpios == 64 ? ~uint64_t{0} : (uint64_t{1} << num_gpios) - 1;
}

PinWorld::~PinWorld() = default;

void PinWorld::set_drive(unsigned gpio, int drive) {
    pins_[gpio].drive = static_cast<int8_t>(drive < 0 ? -1 : drive != 0);
    update(gpio);
}

PinState PinWorld::state(unsigned gpio) const {
    const Pin& p = pins_[gpio];
    return PinState{static_cast<Function>(p.function), p.latch, static_cast<Pull>(p.pull), p.drive,
                    level(gpio), ((floating_ >> gpio) & 1) != 0};
}

// Out of line: runs only when a pin's shown level really changes (floating_ is already updated).
void PinWorld::changed(unsigned gpio, int level, bool floating) {
    const uint64_t bit = uint64_t{1} << gpio;
    levels_ ^= bit;
    const bool watched = (watched_ & bit) != 0;
    // One clock read: the history entry and the event records carry the same timestamp.
    const int64_t t = (!ring_.empty() || watched) ? monotonic_ns() : 0;
    if (!ring_.empty()) {
        ring_[ring_head_] = HistoryEntry{t, gpio, static_cast<uint8_t>(level), floating};
        ring_head_ = ring_head_ + 1 == ring_.size() ? 0 : ring_head_ + 1;
        if (ring_count_ < ring_.size()) ++ring_count_;
    }
    if (hook_) hook_(hook_ctx_, gpio, level);
    if (watched) {
        for (SimEventLine* line : watchers_[gpio]) line->on_level_change(t, level);
    }
}

std::vector<HistoryEntry> PinWorld::history() const {
    std::vector<HistoryEntry> out;
    out.reserve(ring_count_);
    const size_t cap = ring_.size();
    const size_t start = (ring_head_ + cap - ring_count_) % (cap ? cap : 1);
    for (size_t i = 0; i < ring_count_; ++i) out.push_back(ring_[(start + i) % cap]);
    return out;
}

void PinWorld::clear_history() {
    ring_head_ = 0;
    ring_count_ = 0;
}

void PinWorld::set_history_capacity(size_t capacity) {
    std::vector<HistoryEntry>(capacity).swap(ring_);
    clear_history();
}

void PinWorld::add_watcher(SimEventLine* line) {
    watchers_[line->gpio()].push_back(line);
    watched_ |= uint64_t{1} << line->gpio();
}

void PinWorld::remove_watcher(SimEventLine* line) {
    auto& v = watchers_[line->gpio()];
    v.erase(std::remove(v.begin(), v.end(), line), v.end());
    if (v.empty()) watched_ &= ~(uint64_t{1} << line->gpio());
}

}  // namespace rpio
