#include "rpio/bcm2835.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace rpio {
namespace bcm {

// Index = FSEL code.
static const Function kFselDecode[8] = {Function::Input, Function::Output, Function::Alt5,
                                        Function::Alt4,  Function::Alt0,   Function::Alt1,
                                        Function::Alt2,  Function::Alt3};

Function decode_fsel(uint32_t code) { return kFselDecode[code & 7]; }

uint32_t encode_fsel(Function f) {
    switch (f) {
        case Function::Input: return 0;
        case Function::Output: return 1;
        case Function::Alt0: return 4;
        case Function::Alt1: return 5;
        case Function::Alt2: return 6;
        case Function::Alt3: return 7;
        case Function::Alt4: return 3;
        case Function::Alt5: return 2;
        default: throw std::invalid_argument(std::string("no FSEL code for ") + function_name(f));
    }
}

uint32_t gppud_code(Pull p) { return p == Pull::Down ? 1 : p == Pull::Up ? 2 : 0; }
uint32_t pup_pdn_code(Pull p) { return p == Pull::Up ? 1 : p == Pull::Down ? 2 : 0; }

Pull decode_pup_pdn(uint32_t code) {
    switch (code & 3) {
        case 0: return Pull::Off;
        case 1: return Pull::Up;
        case 2: return Pull::Down;
        default: return Pull::Unknown;  // 11 is reserved
    }
}

}  // namespace bcm

// GPPUDCLK1 (0x9C) is the last register the 2835 driver touches; PUP_PDN3 (0xF0) for the 2711.
Bcm2835Driver::Bcm2835Driver(std::shared_ptr<Bus> bus)
    : Bcm2835Driver(std::move(bus), 54, bcm::GPPUDCLK0 + 8, "bcm2835") {}

Bcm2835Driver::Bcm2835Driver(std::shared_ptr<Bus> bus, unsigned num_gpios, size_t min_bus_size,
                             const char* chip)
    : Driver(std::move(bus), num_gpios, min_bus_size, chip) {}

void Bcm2835Driver::validate_function(int function) const {
    Driver::validate_function(function);
    const Function f = static_cast<Function>(function);
    if (f == Function::None || f > Function::Alt5)
        throw std::invalid_argument(std::string(chip()) + " has no function " + function_name(f) +
                                    " (INPUT, OUTPUT, ALT0..ALT5)");
}

void Bcm2835Driver::set_function(unsigned gpio, Function f) {
    const uint32_t code = bcm::encode_fsel(f);  // throws before touching the register
    const size_t off = bcm::GPFSEL0 + 4 * (gpio / 10);
    const unsigned shift = (gpio % 10) * 3;
    const uint32_t v = raw_bus_->read32(off);
    raw_bus_->write32(off, (v & ~(7u << shift)) | (code << shift));
}

Function Bcm2835Driver::get_function(unsigned gpio) {
    const uint32_t v = raw_bus_->read32(bcm::GPFSEL0 + 4 * (gpio / 10));
    return bcm::decode_fsel(v >> ((gpio % 10) * 3));
}

void Bcm2835Driver::set_pull(unsigned gpio, Pull p) {
    if (p == Pull::Unknown) throw std::invalid_argument("cannot set pull UNKNOWN");
    Bus& b = *raw_bus_;
    const size_t clk = bcm::GPPUDCLK0 + 4 * (gpio >> 5);
    b.write32(bcm::GPPUD, bcm::gppud_code(p));
    b.settle();
    b.write32(clk, 1u << (gpio & 31));
    b.settle();
    b.write32(bcm::GPPUD, 0);
    b.write32(clk, 0);
}

Pull Bcm2835Driver::get_pull(unsigned) { return Pull::Unknown; }

int Bcm2835Driver::latch(unsigned gpio) {
    // GPSET/GPCLR are write-only: an output's level is its latch, an input's latch is hidden.
    return get_function(gpio) == Function::Output ? read(gpio) : -1;
}

Bcm2711Driver::Bcm2711Driver(std::shared_ptr<Bus> bus)
    : Bcm2835Driver(std::move(bus), 58, bcm::PUP_PDN0 + 16, "bcm2711") {}

void Bcm2711Driver::set_pull(unsigned gpio, Pull p) {
    if (p == Pull::Unknown) throw std::invalid_argument("cannot set pull UNKNOWN");
    const size_t off = bcm::PUP_PDN0 + 4 * (gpio / 16);
    const unsigned shift = (gpio % 16) * 2;
    const uint32_t v = raw_bus_->read32(off);
    raw_bus_->write32(off, (v & ~(3u << shift)) | (bcm::pup_pdn_code(p) << shift));
}

Pull Bcm2711Driver::get_pull(unsigned gpio) {
    const uint32_t v = raw_bus_->read32(bcm::PUP_PDN0 + 4 * (gpio / 16));
    return bcm::decode_pup_pdn(v >> ((gpio % 16) * 2));
}

}  // namespace rpio
