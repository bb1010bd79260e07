#include "rpio/rp1.hpp"
#include "rpio/sim_chip.hpp"

namespace rpio {
namespace {

uint32_t apply_alias(uint32_t alias, uint32_t old, uint32_t value) {
    switch (alias) {
        case 0: return value;
        case 1: return old ^ value;  // +0x1000 XOR
        case 2: return old | value;  // +0x2000 SET
        default: return old & ~value;  // +0x3000 CLR
    }
}

uint32_t bank_mask(unsigned bank) { return (1u << rp1::kBankPins[bank]) - 1; }

Pull pull_from_pad(uint32_t pad) {
    switch (pad & (rp1::PAD_PUE | rp1::PAD_PDE)) {
        case 0: return Pull::Off;
        case rp1::PAD_PUE: return Pull::Up;
        case rp1::PAD_PDE: return Pull::Down;
        default: return Pull::Unknown;  // bus keeper: modelled as floating
    }
}

// Splits a window offset into block (0 IO_BANK, 1 SYS_RIO, 2 PADS), bank, alias and register.
struct Addr {
    unsigned block, bank, alias, reg;
};
Addr split(size_t off) {
    return Addr{static_cast<unsigned>(off >> 16), static_cast<unsigned>((off >> 14) & 3),
                static_cast<unsigned>((off >> 12) & 3), static_cast<unsigned>(off & 0xFFF)};
}

}  // namespace

SimRp1::SimRp1(size_t history_capacity) : SimChip("rp1", rp1::kNumGpios, history_capacity) {
    for (unsigned g = 0; g < rp1::kNumGpios; ++g) {
        ctrl_[g] = rp1::FUNCSEL_NULL;
        const bool bank0 = g < rp1::kBankBase[1];
        pads_[g] = rp1::PAD_IE | rp1::PAD_DRIVE_4MA | rp1::PAD_SCHMITT | (bank0 ? rp1::PAD_PDE : 0);
        ie_ |= uint64_t{1} << g;
        world_->set_function(g, Function::None, false);
        world_->set_pull(g, pull_from_pad(pads_[g]));
    }
    world_->clear_history();
}

uint32_t SimRp1::read32(size_t off) {
    const Addr a = split(off);
    if (a.block > 2 || a.bank > 2) return 0;
    const unsigned base = rp1::kBankBase[a.bank];
    const unsigned pins = rp1::kBankPins[a.bank];
    switch (a.block) {
        case 0:  // IO_BANK: STATUS at 8n, CTRL at 8n + 4
            if (a.reg < 8 * pins) return (a.reg & 4) ? ctrl_[base + a.reg / 8] : status(base + a.reg / 8);
            return 0;
        case 1:  // SYS_RIO
            if (a.reg == rp1::RIO_OUT) return out_[a.bank];
            if (a.reg == rp1::RIO_OE) return oe_[a.bank];
            if (a.reg == rp1::RIO_SYNC_IN)  // a pad with IE clear reads 0
                return static_cast<uint32_t>((world_->levels() & ie_) >> base) & bank_mask(a.bank);
            return 0;
        default:  // PADS: VOLTAGE_SELECT, then pin n at 4 + 4n
            if (a.reg == 0) return voltage_[a.bank];
            if (a.reg >= 4 && a.reg < 4 + 4 * pins) return pads_[base + (a.reg - 4) / 4];
            return 0;
    }
}

void SimRp1::write32(size_t off, uint32_t value) {
    const Addr a = split(off);
    if (a.block > 2 || a.bank > 2) return;
    const unsigned base = rp1::kBankBase[a.bank];
    const unsigned pins = rp1::kBankPins[a.bank];
    switch (a.block) {
        case 0:
            if (a.reg < 8 * pins && (a.reg & 4)) {  // CTRL (STATUS is read-only)
                const unsigned g = base + a.reg / 8;
                const uint32_t old = ctrl_[g];
                ctrl_[g] = apply_alias(a.alias, old, value);
                if ((old ^ ctrl_[g]) & rp1::CTRL_FUNCSEL_MASK) refresh_function(g);
            }
            return;
        case 1:
            write_rio(a.bank, a.reg, a.alias, value);
            return;
        default:
            if (a.reg == 0) {
                voltage_[a.bank] = apply_alias(a.alias, voltage_[a.bank], value) & 1;
            } else if (a.reg >= 4 && a.reg < 4 + 4 * pins) {
                const unsigned g = base + (a.reg - 4) / 4;
                write_pad(g, apply_alias(a.alias, pads_[g], value) & 0xFF);
            }
            return;
    }
}

void SimRp1::write_rio(unsigned bank, uint32_t reg, uint32_t alias, uint32_t value) {
    const unsigned base = rp1::kBankBase[bank];
    if (reg == rp1::RIO_OUT) {
        const uint32_t old = out_[bank];
        const uint32_t now = apply_alias(alias, old, value) & bank_mask(bank);
        out_[bank] = now;
        for (uint32_t diff = old ^ now; diff; diff &= diff - 1) {
            const unsigned i = static_cast<unsigned>(__builtin_ctz(diff));
            world_->set_latch(base + i, (now >> i) & 1);
        }
    } else if (reg == rp1::RIO_OE) {
        const uint32_t old = oe_[bank];
        oe_[bank] = apply_alias(alias, old, value) & bank_mask(bank);
        for (uint32_t diff = old ^ oe_[bank]; diff; diff &= diff - 1)
            refresh_function(base + static_cast<unsigned>(__builtin_ctz(diff)));
    }  // SYNC_IN is read-only; other words are not modelled
}

void SimRp1::write_pad(unsigned gpio, uint32_t value) {
    const uint32_t old = pads_[gpio];
    pads_[gpio] = value;
    const uint32_t diff = old ^ value;
    if (diff & rp1::PAD_IE) ie_ ^= uint64_t{1} << gpio;
    if (diff & (rp1::PAD_PUE | rp1::PAD_PDE)) world_->set_pull(gpio, pull_from_pad(value));
    if (diff & rp1::PAD_OD) refresh_function(gpio);
}

// FUNCSEL 5 is SYS_RIO: INPUT or OUTPUT by OE, driving only while the pad's output is enabled.
void SimRp1::refresh_function(unsigned gpio) {
    const uint32_t funcsel = ctrl_[gpio] & rp1::CTRL_FUNCSEL_MASK;
    if (funcsel == rp1::FUNCSEL_SYS_RIO) {
        const unsigned bank = rp1::bank_of(gpio);
        const bool oe = (oe_[bank] >> (gpio - rp1::kBankBase[bank])) & 1;
        world_->set_function(gpio, oe ? Function::Output : Function::Input,
                             oe && !(pads_[gpio] & rp1::PAD_OD));
    } else {
        world_->set_function(gpio, funcsel <= 8 ? alt(static_cast<int>(funcsel)) : Function::None,
                             false);
    }
}

uint32_t SimRp1::status(unsigned gpio) const {
    const PinState s = world_->state(gpio);
    const bool sys_rio = (ctrl_[gpio] & rp1::CTRL_FUNCSEL_MASK) == rp1::FUNCSEL_SYS_RIO;
    const bool oe = s.function == Function::Output && !(pads_[gpio] & rp1::PAD_OD);
    uint32_t v = 0;
    if (sys_rio && s.latch) v |= rp1::STATUS_OUTTOPAD;
    if (sys_rio && oe) v |= rp1::STATUS_OETOPAD;
    if (s.level && ((ie_ >> gpio) & 1)) v |= rp1::STATUS_INFROMPAD;
    return v;
}

}  // namespace rpio
