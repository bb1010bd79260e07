#include "rpio/sim_chip.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include "rpio/bcm2835.hpp"

namespace rpio {
namespace {

// Word indexes of the GPIO block.
enum Word : unsigned {
    kFsel0 = 0, kFsel5 = 5,
    kSet0 = 7, kSet1 = 8,
    kClr0 = 10, kClr1 = 11,
    kLev0 = 13, kLev1 = 14,
    kEds0 = 16, kEds1 = 17,
    kRen0 = 19, kRen1 = 20,
    kFen0 = 22, kFen1 = 23,
    kHen0 = 25, kHen1 = 26,
    kLen0 = 28, kLen1 = 29,
    kAren0 = 31, kAren1 = 32,
    kAfen0 = 34, kAfen1 = 35,
    kPud = 37,
    kPudClk0 = 38, kPudClk1 = 39,
    kPupPdn0 = 57, kPupPdn3 = 60,
};

Pull pull_from_gppud(uint32_t code) {
    return code == 1 ? Pull::Down : code == 2 ? Pull::Up : Pull::Off;
}

}  // namespace

SimBcm::SimBcm(std::string kind, bool is_2711, size_t history_capacity)
    : SimChip(std::move(kind), is_2711 ? 58 : 54, history_capacity),
      is_2711_(is_2711),
      bank1_mask_(is_2711 ? (1u << 26) - 1 : (1u << 22) - 1) {
    // Reset: every pin an input (FSEL 0), pulls GPIO 0-8 up, 9-27 down, the rest off.
    for (unsigned g = 0; g <= 27; ++g) {
        const Pull p = g <= 8 ? Pull::Up : Pull::Down;
        world_->set_pull(g, p);
        if (is_2711_) pup_pdn_[g / 16] |= bcm::pup_pdn_code(p) << ((g % 16) * 2);
    }
    world_->clear_history();
    world_->set_edge_hook(&SimBcm::on_edge, this);
}

SimBcm::~SimBcm() { world_->set_edge_hook(nullptr, nullptr); }

uint32_t SimBcm::read32(size_t off) {
    const unsigned w = static_cast<unsigned>(off >> 2);
    switch (w) {
        case 0: case 1: case 2: case 3: case 4: case 5: return fsel_[w];
        case kSet0: case kSet1: case kClr0: case kClr1: return 0;  // write-only
        case kLev0: return static_cast<uint32_t>(world_->levels());
        case kLev1: return static_cast<uint32_t>(world_->levels() >> 32) & bank1_mask_;
        case kEds0: case kEds1: return eds_[w - kEds0];
        case kRen0: case kRen1: return ren_[w - kRen0];
        case kFen0: case kFen1: return fen_[w - kFen0];
        case kHen0: case kHen1: return hen_[w - kHen0];
        case kLen0: case kLen1: return len_[w - kLen0];
        case kAren0: case kAren1: return aren_[w - kAren0];
        case kAfen0: case kAfen1: return afen_[w - kAfen0];
        default: break;
    }
    if (!is_2711_) {
        if (w == kPud) return pud_;
        if (w == kPudClk0 || w == kPudClk1) return pudclk_[w - kPudClk0];
    } else if (w >= kPupPdn0 && w <= kPupPdn3) {
        return pup_pdn_[w - kPupPdn0];
    }
    return bcm::kUnimplemented;
}

void SimBcm::write32(size_t off, uint32_t value) {
    const unsigned w = static_cast<unsigned>(off >> 2);
    switch (w) {
        case kSet0: world_->set_latch_mask(0, value, true); return;
        case kClr0: world_->set_latch_mask(0, value, false); return;
        case kSet1: world_->set_latch_mask(32, value & bank1_mask_, true); return;
        case kClr1: world_->set_latch_mask(32, value & bank1_mask_, false); return;
        case 0: case 1: case 2: case 3: case 4: case 5: write_fsel(w, value); return;
        case kLev0: case kLev1: return;  // read-only
        case kEds0: case kEds1:  // write 1 to clear; a level detect asserts again at once
            eds_[w - kEds0] &= ~value;
            assert_level_events();
            return;
        case kRen0: case kRen1: ren_[w - kRen0] = value & bank_mask(w - kRen0); return;
        case kFen0: case kFen1: fen_[w - kFen0] = value & bank_mask(w - kFen0); return;
        case kAren0: case kAren1: aren_[w - kAren0] = value & bank_mask(w - kAren0); return;
        case kAfen0: case kAfen1: afen_[w - kAfen0] = value & bank_mask(w - kAfen0); return;
        case kHen0: case kHen1:
            hen_[w - kHen0] = value & bank_mask(w - kHen0);
            assert_level_events();
            return;
        case kLen0: case kLen1:
            len_[w - kLen0] = value & bank_mask(w - kLen0);
            assert_level_events();
            return;
        default: break;
    }
    if (!is_2711_) {
        if (w == kPud) {
            pud_ = value & 3;
        } else if (w == kPudClk0 || w == kPudClk1) {
            // The control signal is latched into each clocked pin now; clearing the clock later
            // changes nothing. Code 3 is reserved: clocking it in leaves the pull as it was.
            const unsigned bank = w - kPudClk0;
            uint32_t bits = value & bank_mask(bank);
            pudclk_[bank] = bits;
            if (pud_ == 3) return;
            for (; bits; bits &= bits - 1)
                world_->set_pull(32 * bank + static_cast<unsigned>(__builtin_ctz(bits)),
                                 pull_from_gppud(pud_));
        }
    } else if (w >= kPupPdn0 && w <= kPupPdn3) {
        const unsigned reg = w - kPupPdn0;
        const unsigned first = 16 * reg;
        const unsigned pins = num_gpios() - first < 16 ? num_gpios() - first : 16;
        const uint32_t mask = pins == 16 ? 0xFFFFFFFFu : (1u << (2 * pins)) - 1;
        const uint32_t old = pup_pdn_[reg];
        pup_pdn_[reg] = value & mask;
        for (unsigned i = 0; i < pins; ++i) {
            const uint32_t code = (pup_pdn_[reg] >> (2 * i)) & 3;
            if (code != ((old >> (2 * i)) & 3)) world_->set_pull(first + i, bcm::decode_pup_pdn(code));
        }
    }
}

void SimBcm::write_fsel(unsigned reg, uint32_t value) {
    const unsigned first = 10 * reg;
    const unsigned pins = num_gpios() - first < 10 ? num_gpios() - first : 10;
    value &= (1u << (3 * pins)) - 1;
    const uint32_t old = fsel_[reg];
    fsel_[reg] = value;
    for (unsigned i = 0; i < pins; ++i) {
        const uint32_t code = (value >> (3 * i)) & 7;
        if (code != ((old >> (3 * i)) & 7))
            world_->set_function(first + i, bcm::decode_fsel(code), code == 1);
    }
}

void SimBcm::on_edge(void* ctx, unsigned gpio, int level) {
    SimBcm& c = *static_cast<SimBcm*>(ctx);
    const unsigned b = gpio >> 5;
    const uint32_t bit = 1u << (gpio & 31);
    c.eds_[b] |= bit & (level ? (c.ren_[b] | c.aren_[b] | c.hen_[b]) : (c.fen_[b] | c.afen_[b] | c.len_[b]));
}

void SimBcm::assert_level_events() {
    const uint64_t lev = world_->levels();
    for (unsigned b = 0; b < 2; ++b) {
        const uint32_t l = static_cast<uint32_t>(lev >> (32 * b));
        eds_[b] |= ((hen_[b] & l) | (len_[b] & ~l)) & bank_mask(b);
    }
}

SimBcm2835::SimBcm2835(const std::string& kind, size_t history_capacity)
    : SimBcm(kind, false, history_capacity) {
    if (kind != "bcm2835" && kind != "bcm2836" && kind != "bcm2837")
        throw std::invalid_argument("SimBcm2835 models bcm2835, bcm2836 or bcm2837, not '" + kind + "'");
}

SimBcm2711::SimBcm2711(size_t history_capacity) : SimBcm("bcm2711", true, history_capacity) {}

}  // namespace rpio
