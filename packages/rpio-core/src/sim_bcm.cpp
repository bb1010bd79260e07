#include <stdexcept>
#include <string>
#include <utility>

#include "rpio/bcm2835.hpp"
#include "rpio/sim_chip.hpp"

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

bool is_bcm2835_family(seg::ChipKind k) {
    return k == seg::ChipKind::Bcm2835 || k == seg::ChipKind::Bcm2836 || k == seg::ChipKind::Bcm2837;
}

std::shared_ptr<PinWorld> bcm2835_world(const std::string& kind, size_t history_capacity) {
    if (kind != "bcm2835" && kind != "bcm2836" && kind != "bcm2837")
        throw std::invalid_argument("SimBcm2835 models bcm2835, bcm2836 or bcm2837, not '" + kind + "'");
    return PinWorld::create_private(parse_chip_kind(kind), history_capacity);
}

std::shared_ptr<PinWorld> checked(std::shared_ptr<PinWorld> world, bool want_2711) {
    const seg::ChipKind k = world->kind();
    if (want_2711 ? k != seg::ChipKind::Bcm2711 : !is_bcm2835_family(k))
        throw std::invalid_argument(std::string("a ") + (want_2711 ? "SimBcm2711" : "SimBcm2835") +
                                    " cannot model a " + world->kind_name() + " board");
    return world;
}

}  // namespace

SimBcm::SimBcm(std::shared_ptr<PinWorld> world)
    : SimChip(std::move(world)),
      is_2711_(world_->kind() == seg::ChipKind::Bcm2711),
      bank1_mask_(is_2711_ ? (1u << 26) - 1 : (1u << 22) - 1) {}

SimBcm::~SimBcm() = default;

uint32_t SimBcm::read32(size_t off) {
    const unsigned w = static_cast<unsigned>(off >> 2);
    // The levels are read without the lock: input() stays one load.
    if (w == kLev0) return static_cast<uint32_t>(world_->levels());
    if (w == kLev1) return static_cast<uint32_t>(world_->levels() >> 32) & bank1_mask_;
    PinWorld::Guard g(*world_);
    const seg::BcmRegs& r = world_->bcm();
    switch (w) {
        case 0: case 1: case 2: case 3: case 4: case 5: return r.fsel[w];
        case kSet0: case kSet1: case kClr0: case kClr1: return 0;  // write-only
        case kEds0: case kEds1: return r.eds[w - kEds0];
        case kRen0: case kRen1: return r.ren[w - kRen0];
        case kFen0: case kFen1: return r.fen[w - kFen0];
        case kHen0: case kHen1: return r.hen[w - kHen0];
        case kLen0: case kLen1: return r.len[w - kLen0];
        case kAren0: case kAren1: return r.aren[w - kAren0];
        case kAfen0: case kAfen1: return r.afen[w - kAfen0];
        default: break;
    }
    if (!is_2711_) {
        if (w == kPud) return r.pud;
        if (w == kPudClk0 || w == kPudClk1) return r.pudclk[w - kPudClk0];
    } else if (w >= kPupPdn0 && w <= kPupPdn3) {
        return r.pup_pdn[w - kPupPdn0];
    }
    return bcm::kUnimplemented;
}

void SimBcm::write32(size_t off, uint32_t value) {
    const unsigned w = static_cast<unsigned>(off >> 2);
    // SET/CLR that change no latch change nothing: decided without the lock (the hot path).
    switch (w) {
        case kSet0: case kClr0: case kSet1: case kClr1: {
            const unsigned first = (w == kSet1 || w == kClr1) ? 32 : 0;
            const uint32_t mask = first ? value & bank1_mask_ : value;
            const uint32_t latch = static_cast<uint32_t>(world_->latches() >> first);
            const bool set = w == kSet0 || w == kSet1;
            if (set ? (latch & mask) == mask : (latch & mask) == 0) return;
            PinWorld::Guard g(*world_);
            world_->set_latch_mask_l(first, mask, set);
            return;
        }
        case kLev0: case kLev1: return;  // read-only
        default: break;
    }
    PinWorld::Guard g(*world_);
    seg::BcmRegs& r = world_->bcm();
    switch (w) {
        case 0: case 1: case 2: case 3: case 4: case 5: write_fsel(w, value); return;
        case kEds0: case kEds1:  // write 1 to clear; a level detect asserts again at once
            r.eds[w - kEds0] &= ~value;
            assert_level_events();
            return;
        case kRen0: case kRen1: r.ren[w - kRen0] = value & bank_mask(w - kRen0); return;
        case kFen0: case kFen1: r.fen[w - kFen0] = value & bank_mask(w - kFen0); return;
        case kAren0: case kAren1: r.aren[w - kAren0] = value & bank_mask(w - kAren0); return;
        case kAfen0: case kAfen1: r.afen[w - kAfen0] = value & bank_mask(w - kAfen0); return;
        case kHen0: case kHen1:
            r.hen[w - kHen0] = value & bank_mask(w - kHen0);
            assert_level_events();
            return;
        case kLen0: case kLen1:
            r.len[w - kLen0] = value & bank_mask(w - kLen0);
            assert_level_events();
            return;
        default: break;
    }
    if (!is_2711_) {
        if (w == kPud) {
            r.pud = value & 3;
        } else if (w == kPudClk0 || w == kPudClk1) {
            // The control signal is latched into each clocked pin now; clearing the clock later
            // changes nothing. Code 3 is reserved: clocking it in leaves the pull as it was.
            const unsigned bank = w - kPudClk0;
            uint32_t bits = value & bank_mask(bank);
            r.pudclk[bank] = bits;
            if (r.pud == 3) return;
            for (; bits; bits &= bits - 1)
                world_->set_pull_l(32 * bank + static_cast<unsigned>(__builtin_ctz(bits)),
                                   pull_from_gppud(r.pud));
        }
    } else if (w >= kPupPdn0 && w <= kPupPdn3) {
        const unsigned reg = w - kPupPdn0;
        const unsigned first = 16 * reg;
        const unsigned pins = num_gpios() - first < 16 ? num_gpios() - first : 16;
        const uint32_t mask = pins == 16 ? 0xFFFFFFFFu : (1u << (2 * pins)) - 1;
        const uint32_t old = r.pup_pdn[reg];
        r.pup_pdn[reg] = value & mask;
        for (unsigned i = 0; i < pins; ++i) {
            const uint32_t code = (r.pup_pdn[reg] >> (2 * i)) & 3;
            if (code != ((old >> (2 * i)) & 3)) world_->set_pull_l(first + i, bcm::decode_pup_pdn(code));
        }
    }
}

void SimBcm::write_fsel(unsigned reg, uint32_t value) {
    seg::BcmRegs& r = world_->bcm();
    const unsigned first = 10 * reg;
    const unsigned pins = num_gpios() - first < 10 ? num_gpios() - first : 10;
    value &= (1u << (3 * pins)) - 1;
    const uint32_t old = r.fsel[reg];
    r.fsel[reg] = value;
    for (unsigned i = 0; i < pins; ++i) {
        const uint32_t code = (value >> (3 * i)) & 7;
        if (code != ((old >> (3 * i)) & 7))
            world_->set_function_l(first + i, bcm::decode_fsel(code), code == 1,
                                   seg::CauseKind::Function);
    }
}

void SimBcm::assert_level_events() {
    seg::BcmRegs& r = world_->bcm();
    const uint64_t lev = world_->levels();
    for (unsigned b = 0; b < 2; ++b) {
        const uint32_t l = static_cast<uint32_t>(lev >> (32 * b));
        r.eds[b] |= ((r.hen[b] & l) | (r.len[b] & ~l)) & bank_mask(b);
    }
}

SimBcm2835::SimBcm2835(const std::string& kind, size_t history_capacity)
    : SimBcm(bcm2835_world(kind, history_capacity)) {}

SimBcm2835::SimBcm2835(std::shared_ptr<PinWorld> world) : SimBcm(checked(std::move(world), false)) {}

SimBcm2711::SimBcm2711(size_t history_capacity)
    : SimBcm(PinWorld::create_private(seg::ChipKind::Bcm2711, history_capacity)) {}

SimBcm2711::SimBcm2711(std::shared_ptr<PinWorld> world) : SimBcm(checked(std::move(world), true)) {}

}  // namespace rpio
