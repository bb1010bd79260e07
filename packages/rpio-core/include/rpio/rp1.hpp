// Driver for the RP1 GPIO blocks of the Pi 5 (window of /dev/gpiomem0, 0x30000 bytes).
#pragma once

#include <cstdint>
#include <memory>

#include "rpio/driver.hpp"

namespace rpio {

// Layout of the /dev/gpiomem0 window (reference registers-dma.md §1.3).
namespace rp1 {
constexpr unsigned kNumGpios = 54;
constexpr unsigned kNumBanks = 3;
constexpr unsigned kBankBase[kNumBanks] = {0, 28, 34};
constexpr unsigned kBankPins[kNumBanks] = {28, 6, 20};
constexpr uint32_t kWindowSize = 0x30000;

constexpr uint32_t IO_BANK = 0x00000;   // + 0x4000 * bank
constexpr uint32_t SYS_RIO = 0x10000;   // + 0x4000 * bank
constexpr uint32_t PADS = 0x20000;      // + 0x4000 * bank
constexpr uint32_t kBankStride = 0x4000;

// Atomic aliases, valid for every register.
constexpr uint32_t XOR = 0x1000;
constexpr uint32_t SET = 0x2000;
constexpr uint32_t CLR = 0x3000;

// SYS_RIO registers.
constexpr uint32_t RIO_OUT = 0x0;
constexpr uint32_t RIO_OE = 0x4;
constexpr uint32_t RIO_SYNC_IN = 0x8;

// IO_BANK: STATUS at 8*n, CTRL at 8*n + 4.
constexpr uint32_t CTRL_FUNCSEL_MASK = 0x1F;
constexpr uint32_t CTRL_OVERRIDES_MASK = 0xF000;  // OUTOVER 13:12, OEOVER 15:14
constexpr uint32_t FUNCSEL_SYS_RIO = 5;
constexpr uint32_t FUNCSEL_NULL = 0x1F;
// STATUS bits following the RP2040 layout (verify on hardware).
constexpr uint32_t STATUS_OUTTOPAD = 1u << 9;
constexpr uint32_t STATUS_OETOPAD = 1u << 13;
constexpr uint32_t STATUS_INFROMPAD = 1u << 17;

// PADS: word 0 VOLTAGE_SELECT, pin n at 4 + 4n.
constexpr uint32_t PAD_SLEWFAST = 1u << 0;
constexpr uint32_t PAD_SCHMITT = 1u << 1;
constexpr uint32_t PAD_PDE = 1u << 2;
constexpr uint32_t PAD_PUE = 1u << 3;
constexpr uint32_t PAD_DRIVE_4MA = 1u << 4;
constexpr uint32_t PAD_IE = 1u << 6;
constexpr uint32_t PAD_OD = 1u << 7;

// Byte offsets of one pin's registers in the window.
struct PinRegs {
    uint32_t status;  // CTRL is status + 4
    uint32_t rio;     // the bank's SYS_RIO base
    uint32_t pad;
    uint32_t mask;    // the pin's bit in the bank's RIO registers
};
PinRegs pin_regs(unsigned gpio);
unsigned bank_of(unsigned gpio);
}  // namespace rp1

class Rp1Driver final : public Driver {
public:
    explicit Rp1Driver(std::shared_ptr<Bus> bus);

    // INPUT/OUTPUT: FUNCSEL 5 (SYS_RIO) + OE through the aliases; ALTn: FUNCSEL n; both with pad
    // IE=1 OD=0. NONE: FUNCSEL 0x1F with IE=0 OD=1. ALT5 is SYS_RIO itself: not selectable.
    void set_function(unsigned gpio, Function f) override;
    Function get_function(unsigned gpio) override;
    void write(unsigned gpio, bool level) override {
        const rp1::PinRegs& r = regs_[gpio];
        raw_bus_->write32(r.rio + rp1::RIO_OUT + (level ? rp1::SET : rp1::CLR), r.mask);
    }
    int read(unsigned gpio) override {
        const rp1::PinRegs& r = regs_[gpio];
        return (raw_bus_->read32(r.rio + rp1::RIO_SYNC_IN) & r.mask) != 0;
    }
    void set_pull(unsigned gpio, Pull p) override;
    Pull get_pull(unsigned gpio) override;  // both PUE and PDE set (bus keeper) -> Unknown
    int latch(unsigned gpio) override;
    PinIo pin_io(unsigned gpio) const override {
        const rp1::PinRegs& r = regs_[gpio];
        return PinIo{r.rio + rp1::RIO_OUT + rp1::SET, r.rio + rp1::RIO_OUT + rp1::CLR,
                     r.rio + rp1::RIO_SYNC_IN, r.mask};
    }
    void validate_function(int function) const override;

private:
    rp1::PinRegs regs_[rp1::kNumGpios];
};

}  // namespace rpio
