#include "rpio/rp1.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace rpio {
namespace rp1 {

unsigned bank_of(unsigned gpio) { return gpio < kBankBase[1] ? 0 : gpio < kBankBase[2] ? 1 : 2; }

PinRegs pin_regs(unsigned gpio) {
    const unsigned bank = bank_of(gpio);
    const unsigned n = gpio - kBankBase[bank];
    return PinRegs{IO_BANK + bank * kBankStride + 8 * n, SYS_RIO + bank * kBankStride,
                   PADS + bank * kBankStride + 4 + 4 * n, 1u << n};
}

}  // namespace rp1

Rp1Driver::Rp1Driver(std::shared_ptr<Bus> bus)
    : Driver(std::move(bus), rp1::kNumGpios, rp1::kWindowSize, "rp1") {
    for (unsigned g = 0; g < rp1::kNumGpios; ++g) regs_[g] = rp1::pin_regs(g);
}

void Rp1Driver::validate_function(int function) const {
    Driver::validate_function(function);
    if (static_cast<Function>(function) == Function::Alt5)
        throw std::invalid_argument(
            "rp1 ALT5 is SYS_RIO, the GPIO function itself: select INPUT or OUTPUT");
}

void Rp1Driver::set_function(unsigned gpio, Function f) {
    if (f == Function::Alt5 || static_cast<int>(f) < 0 || static_cast<int>(f) >= kFunctionCount)
        throw std::invalid_argument(std::string("rp1 cannot select ") + function_name(f));
    const rp1::PinRegs& r = regs_[gpio];
    Bus& b = *raw_bus_;
    const size_t ctrl = r.status + 4;
    uint32_t funcsel;
    if (f == Function::None) {
        // Disconnect: FUNCSEL NULL first, then the pad's input and output off.
        b.write32(ctrl, (b.read32(ctrl) & ~(rp1::CTRL_FUNCSEL_MASK | rp1::CTRL_OVERRIDES_MASK)) |
                            rp1::FUNCSEL_NULL);
        b.write32(r.pad + rp1::CLR, rp1::PAD_IE);
        b.write32(r.pad + rp1::SET, rp1::PAD_OD);
        return;
    }
    // Pad ready before the function switches, so the pin never glitches through a dead pad.
    b.write32(r.pad + rp1::CLR, rp1::PAD_OD);
    b.write32(r.pad + rp1::SET, rp1::PAD_IE);
    if (f == Function::Input || f == Function::Output) {
        b.write32(r.rio + rp1::RIO_OE + (f == Function::Output ? rp1::SET : rp1::CLR), r.mask);
        funcsel = rp1::FUNCSEL_SYS_RIO;
    } else {
        funcsel = static_cast<uint32_t>(alt_index(f));
    }
    b.write32(ctrl, (b.read32(ctrl) & ~(rp1::CTRL_FUNCSEL_MASK | rp1::CTRL_OVERRIDES_MASK)) | funcsel);
}

Function Rp1Driver::get_function(unsigned gpio) {
    const rp1::PinRegs& r = regs_[gpio];
    const uint32_t funcsel = raw_bus_->read32(r.status + 4) & rp1::CTRL_FUNCSEL_MASK;
    if (funcsel == rp1::FUNCSEL_SYS_RIO)
        return (raw_bus_->read32(r.rio + rp1::RIO_OE) & r.mask) ? Function::Output : Function::Input;
    if (funcsel <= 8) return alt(static_cast<int>(funcsel));
    return Function::None;  // 0x1F NULL, and the kernel's software "none" (9) and above
}

void Rp1Driver::set_pull(unsigned gpio, Pull p) {
    if (p == Pull::Unknown) throw std::invalid_argument("cannot set pull UNKNOWN");
    const uint32_t pad = regs_[gpio].pad;
    const uint32_t v = raw_bus_->read32(pad) & ~(rp1::PAD_PUE | rp1::PAD_PDE);
    raw_bus_->write32(pad, v | (p == Pull::Up ? rp1::PAD_PUE : p == Pull::Down ? rp1::PAD_PDE : 0));
}

Pull Rp1Driver::get_pull(unsigned gpio) {
    const uint32_t v = raw_bus_->read32(regs_[gpio].pad) & (rp1::PAD_PUE | rp1::PAD_PDE);
    if (v == 0) return Pull::Off;
    if (v == rp1::PAD_PUE) return Pull::Up;
    if (v == rp1::PAD_PDE) return Pull::Down;
    return Pull::Unknown;
}

int Rp1Driver::latch(unsigned gpio) {
    const rp1::PinRegs& r = regs_[gpio];
    return (raw_bus_->read32(r.rio + rp1::RIO_OUT) & r.mask) != 0;
}

}  // namespace rpio
