// The outside world of one simulated chip: per-pin state, the level each pin shows, the history
// of level changes and the edge-event lines watching pins.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "rpio/types.hpp"

namespace rpio {

class SimEventLine;

constexpr size_t kDefaultHistoryCapacity = 65536;
constexpr unsigned kMaxSimGpios = 64;  // the levels are kept in one 64-bit word

struct PinState {
    Function function;
    int latch;   // output latch, 0/1
    Pull pull;   // Unknown on RP1 when PUE and PDE are both set
    int drive;   // external drive: -1 none, 0 or 1
    int level;   // level shown: 0/1 (a floating pin reads 0)
    bool floating;

    bool operator==(const PinState& o) const {
        return function == o.function && latch == o.latch && pull == o.pull && drive == o.drive &&
               level == o.level && floating == o.floating;
    }
    bool operator!=(const PinState& o) const { return !(*this == o); }
};

struct HistoryEntry {
    int64_t t_ns;  // CLOCK_MONOTONIC
    uint32_t gpio;
    uint8_t level;     // the new level
    uint8_t floating;  // the pin floats from then on (so reads 0)
};

int64_t monotonic_ns();

// Level shown: a pin that drives (an output whose pad is enabled) shows its latch; otherwise the
// external drive if any, else its pull (up 1, down 0), else it floats and reads 0. Every change of
// a level appends a history entry (marked floating if the pin floats from then on), calls the
// chip's edge hook and the event lines watching the pin. Floating without a change of level (a
// pulled-down pin losing its pull) shows in the pin state only. The chip models are the only
// writers.
class PinWorld {
public:
    using EdgeHook = void (*)(void* ctx, unsigned gpio, int level);

    PinWorld(unsigned num_gpios, size_t history_capacity);
    ~PinWorld();
    PinWorld(const PinWorld&) = delete;
    PinWorld& operator=(const PinWorld&) = delete;

    unsigned num_gpios() const { return num_gpios_; }

    // Register side (the chip model decodes its registers into these).
    void set_function(unsigned gpio, Function f, bool drives) {
        Pin& p = pins_[gpio];
        p.function = static_cast<int8_t>(f);
        p.drives = drives;
        update(gpio);
    }
    void set_latch(unsigned gpio, bool v) {
        Pin& p = pins_[gpio];
        if (p.latch == v) return;
        p.latch = v;
        if (p.drives) update(gpio);
    }
    // Sets the latch of every pin first + i for each bit i of mask.
    void set_latch_mask(unsigned first, uint32_t mask, bool v) {
        while (mask) {
            set_latch(first + static_cast<unsigned>(__builtin_ctz(mask)), v);
            mask &= mask - 1;
        }
    }
    void set_pull(unsigned gpio, Pull p) {
        pins_[gpio].pull = static_cast<int8_t>(p);
        update(gpio);
    }

    // Outside world.
    void set_drive(unsigned gpio, int drive);  // -1 releases
    int level(unsigned gpio) const { return static_cast<int>((levels_ >> gpio) & 1); }
    uint64_t levels() const { return levels_; }
    PinState state(unsigned gpio) const;

    // History ring, oldest first.
    std::vector<HistoryEntry> history() const;
    void clear_history();
    size_t history_capacity() const { return ring_.size(); }
    void set_history_capacity(size_t capacity);  // clears the history

    void set_edge_hook(EdgeHook hook, void* ctx) {
        hook_ = hook;
        hook_ctx_ = ctx;
    }

    // Event lines register themselves here (SimEventLine's constructor / close()).
    void add_watcher(SimEventLine* line);
    void remove_watcher(SimEventLine* line);

private:
    struct Pin {
        int8_t function = 0;
        int8_t pull = 0;
        int8_t drive = -1;
        uint8_t latch = 0;
        bool drives = false;
    };

    void update(unsigned gpio) {
        const Pin& p = pins_[gpio];
        int lvl;
        bool fl = false;
        if (p.drives) {
            lvl = p.latch;
        } else if (p.drive >= 0) {
            lvl = p.drive;
        } else if (p.pull == static_cast<int8_t>(Pull::Up)) {
            lvl = 1;
        } else if (p.pull == static_cast<int8_t>(Pull::Down)) {
            lvl = 0;
        } else {
            lvl = 0;
            fl = true;
        }
        const uint64_t bit = uint64_t{1} << gpio;
        floating_ = fl ? (floating_ | bit) : (floating_ & ~bit);
        if (static_cast<uint64_t>(lvl) << gpio != (levels_ & bit)) changed(gpio, lvl, fl);
    }
    void changed(unsigned gpio, int level, bool floating);

    unsigned num_gpios_;
    Pin pins_[kMaxSimGpios];
    uint64_t levels_ = 0;
    uint64_t floating_ = 0;
    uint64_t watched_ = 0;  // pins with at least one event line
    std::vector<std::vector<SimEventLine*>> watchers_;
    std::vector<HistoryEntry> ring_;  // preallocated: no allocation when a level changes
    size_t ring_head_ = 0;            // next slot to write
    size_t ring_count_ = 0;
    EdgeHook hook_ = nullptr;
    void* hook_ctx_ = nullptr;
};

}  // namespace rpio
