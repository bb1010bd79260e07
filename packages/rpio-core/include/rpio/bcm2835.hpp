// Drivers for the BCM2835/2836/2837 and BCM2711 GPIO blocks.
#pragma once

#include <cstdint>
#include <memory>

#include "rpio/driver.hpp"

namespace rpio {

// Register byte offsets in the GPIO block (reference registers-dma.md §1.2).
namespace bcm {
constexpr uint32_t GPFSEL0 = 0x00;
constexpr uint32_t GPSET0 = 0x1C;
constexpr uint32_t GPCLR0 = 0x28;
constexpr uint32_t GPLEV0 = 0x34;
constexpr uint32_t GPEDS0 = 0x40;
constexpr uint32_t GPREN0 = 0x4C;
constexpr uint32_t GPFEN0 = 0x58;
constexpr uint32_t GPHEN0 = 0x64;
constexpr uint32_t GPLEN0 = 0x70;
constexpr uint32_t GPAREN0 = 0x7C;
constexpr uint32_t GPAFEN0 = 0x88;
constexpr uint32_t GPPUD = 0x94;
constexpr uint32_t GPPUDCLK0 = 0x98;
constexpr uint32_t PUP_PDN0 = 0xE4;  // BCM2711 only, 4 registers
constexpr uint32_t kUnimplemented = 0x6770696F;  // "gpio": what unimplemented words read

// 3-bit FSEL code <-> function. Codes: 000 in, 001 out, 100 ALT0, 101 ALT1, 110 ALT2, 111 ALT3,
// 011 ALT4, 010 ALT5.
Function decode_fsel(uint32_t code);
uint32_t encode_fsel(Function f);  // f must be INPUT, OUTPUT or ALT0..ALT5

// GPPUD codes (0 off, 1 down, 2 up) and BCM2711 codes (0 none, 1 up, 2 down: the reverse).
uint32_t gppud_code(Pull p);
uint32_t pup_pdn_code(Pull p);
Pull decode_pup_pdn(uint32_t code);  // 3 (reserved) -> Unknown
}  // namespace bcm

class Bcm2835Driver : public Driver {
public:
    explicit Bcm2835Driver(std::shared_ptr<Bus> bus);

    void set_function(unsigned gpio, Function f) override;
    Function get_function(unsigned gpio) override;
    void write(unsigned gpio, bool level) override {
        // Write-1 registers: no read-modify-write, one store.
        raw_bus_->write32((level ? bcm::GPSET0 : bcm::GPCLR0) + 4 * (gpio >> 5), 1u << (gpio & 31));
    }
    int read(unsigned gpio) override {
        return (raw_bus_->read32(bcm::GPLEV0 + 4 * (gpio >> 5)) >> (gpio & 31)) & 1;
    }
    void set_pull(unsigned gpio, Pull p) override;  // GPPUD/GPPUDCLK sequence
    Pull get_pull(unsigned gpio) override;          // always Unknown: write-only
    int latch(unsigned gpio) override;
    PinIo pin_io(unsigned gpio) const override {
        return PinIo{bcm::GPSET0 + 4 * (gpio >> 5), bcm::GPCLR0 + 4 * (gpio >> 5),
                     bcm::GPLEV0 + 4 * (gpio >> 5), 1u << (gpio & 31)};
    }
    void validate_function(int function) const override;

protected:
    Bcm2835Driver(std::shared_ptr<Bus> bus, unsigned num_gpios, size_t min_bus_size, const char* chip);
};

class Bcm2711Driver final : public Bcm2835Driver {
public:
    explicit Bcm2711Driver(std::shared_ptr<Bus> bus);

    void set_pull(unsigned gpio, Pull p) override;  // GPIO_PUP_PDN_CNTRL_REGn, read-modify-write
    Pull get_pull(unsigned gpio) override;
};

}  // namespace rpio
