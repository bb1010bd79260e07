#include <stdexcept>
#include <string>
#include <utility>

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

std::shared_ptr<PinWorld> checked(std::shared_ptr<PinWorld> world) {
    if (world->kind() != seg::ChipKind::Rp1)
        throw std::invalid_argument(std::string("a SimRp1 cannot model a ") + world->kind_name() + " board");
    return world;
}

}  // namespace

SimRp1::SimRp1(size_t history_capacity)
    : SimChip(PinWorld::create_private(seg::ChipKind::Rp1, history_capacity)) {}

SimRp1::SimRp1(std::shared_ptr<PinWorld> world) : SimChip(checked(std::move(world))) {}

uint32_t SimRp1::read32(size_t off) {
    const Addr a = split(off);
    if (a.block > 2 || a.bank > 2) return 0;
    const unsigned base = rp1::kBankBase[a.bank];
    const unsigned pins = rp1::kBankPins[a.bank];
    if (a.block == 1 && a.reg == rp1::RIO_SYNC_IN) {  // without the lock: input() is one load
        const uint64_t ie = __atomic_load_n(&world_->rp1().ie, __ATOMIC_ACQUIRE);
        return static_cast<uint32_t>((world_->levels() & ie) >> base) & bank_mask(a.bank);
    }
    PinWorld::Guard g(*world_);
    const seg::Rp1Regs& r = world_->rp1();
    switch (a.block) {
        case 0:  // IO_BANK: STATUS at 8n, CTRL at 8n + 4
            if (a.reg < 8 * pins) return (a.reg & 4) ? r.ctrl[base + a.reg / 8] : status(base + a.reg / 8);
            return 0;
        case 1:  // SYS_RIO
            if (a.reg == rp1::RIO_OUT) return r.out[a.bank];
            if (a.reg == rp1::RIO_OE) return r.oe[a.bank];
            return 0;
        default:  // PADS: VOLTAGE_SELECT, then pin n at 4 + 4n
            if (a.reg == 0) return r.voltage[a.bank];
            if (a.reg >= 4 && a.reg < 4 + 4 * pins) return r.pads[base + (a.reg - 4) / 4];
            return 0;
    }
}

void SimRp1::write32(size_t off, uint32_t value) {
    const Addr a = split(off);
    if (a.block > 2 || a.bank > 2) return;
    const unsigned base = rp1::kBankBase[a.bank];
    const unsigned pins = rp1::kBankPins[a.bank];
    if (a.block == 1 && a.reg == rp1::RIO_OUT) {
        // A write that leaves OUT as it is changes nothing: decided without the lock.
        const uint32_t old = __atomic_load_n(&world_->rp1().out[a.bank], __ATOMIC_ACQUIRE);
        if ((apply_alias(a.alias, old, value) & bank_mask(a.bank)) == old) return;
    }
    PinWorld::Guard g(*world_);
    seg::Rp1Regs& r = world_->rp1();
    switch (a.block) {
        case 0:
            if (a.reg < 8 * pins && (a.reg & 4)) {  // CTRL (STATUS is read-only)
                const unsigned gpio = base + a.reg / 8;
                const uint32_t old = r.ctrl[gpio];
                r.ctrl[gpio] = apply_alias(a.alias, old, value);
                if ((old ^ r.ctrl[gpio]) & rp1::CTRL_FUNCSEL_MASK) refresh_function(gpio);
            }
            return;
        case 1:
            write_rio(a.bank, a.reg, a.alias, value);
            return;
        default:
            if (a.reg == 0) {
                r.voltage[a.bank] = apply_alias(a.alias, r.voltage[a.bank], value) & 1;
            } else if (a.reg >= 4 && a.reg < 4 + 4 * pins) {
                const unsigned gpio = base + (a.reg - 4) / 4;
                write_pad(gpio, apply_alias(a.alias, r.pads[gpio], value) & 0xFF);
            }
            return;
    }
}

void SimRp1::write_rio(unsigned bank, uint32_t reg, uint32_t alias, uint32_t value) {
    seg::Rp1Regs& r = world_->rp1();
    const unsigned base = rp1::kBankBase[bank];
    if (reg == rp1::RIO_OUT) {
        const uint32_t old = r.out[bank];
        const uint32_t now = apply_alias(alias, old, value) & bank_mask(bank);
        __atomic_store_n(&r.out[bank], now, __ATOMIC_RELEASE);
        world_->set_latch_mask_l(base, now & ~old, true);
        world_->set_latch_mask_l(base, old & ~now, false);
    } else if (reg == rp1::RIO_OE) {
        const uint32_t old = r.oe[bank];
        r.oe[bank] = apply_alias(alias, old, value) & bank_mask(bank);
        for (uint32_t diff = old ^ r.oe[bank]; diff; diff &= diff - 1)
            refresh_function(base + static_cast<unsigned>(__builtin_ctz(diff)));
    }  // SYNC_IN is read-only; other words are not modelled
}

void SimRp1::write_pad(unsigned gpio, uint32_t value) {
    seg::Rp1Regs& r = world_->rp1();
    const uint32_t old = r.pads[gpio];
    r.pads[gpio] = value;
    const uint32_t diff = old ^ value;
    if (diff & rp1::PAD_IE) __atomic_store_n(&r.ie, r.ie ^ (uint64_t{1} << gpio), __ATOMIC_RELEASE);
    if (diff & (rp1::PAD_PUE | rp1::PAD_PDE)) world_->set_pull_l(gpio, pull_from_pad(value));
    if (diff & rp1::PAD_OD) refresh_function(gpio);
}

// FUNCSEL 5 is SYS_RIO: INPUT or OUTPUT by OE, driving only while the pad's output is enabled.
void SimRp1::refresh_function(unsigned gpio) {
    seg::Rp1Regs& r = world_->rp1();
    const uint32_t funcsel = r.ctrl[gpio] & rp1::CTRL_FUNCSEL_MASK;
    if (funcsel == rp1::FUNCSEL_SYS_RIO) {
        const unsigned bank = rp1::bank_of(gpio);
        const bool oe = (r.oe[bank] >> (gpio - rp1::kBankBase[bank])) & 1;
        world_->set_function_l(gpio, oe ? Function::Output : Function::Input,
                               oe && !(r.pads[gpio] & rp1::PAD_OD), seg::CauseKind::Function);
    } else {
        world_->set_function_l(gpio, funcsel <= 8 ? alt(static_cast<int>(funcsel)) : Function::None,
                               false, seg::CauseKind::Function);
    }
}

// Called with the lock held.
uint32_t SimRp1::status(unsigned gpio) {
    const seg::Rp1Regs& r = world_->rp1();
    const uint64_t levels = world_->levels(), latches = world_->latches();
    const bool sys_rio = (r.ctrl[gpio] & rp1::CTRL_FUNCSEL_MASK) == rp1::FUNCSEL_SYS_RIO;
    const unsigned bank = rp1::bank_of(gpio);
    const bool output = sys_rio && ((r.oe[bank] >> (gpio - rp1::kBankBase[bank])) & 1);
    const bool oe = output && !(r.pads[gpio] & rp1::PAD_OD);
    uint32_t v = 0;
    if (sys_rio && ((latches >> gpio) & 1)) v |= rp1::STATUS_OUTTOPAD;
    if (sys_rio && oe) v |= rp1::STATUS_OETOPAD;
    if (((levels >> gpio) & 1) && ((r.ie >> gpio) & 1)) v |= rp1::STATUS_INFROMPAD;
    return v;
}

}  // namespace rpio
