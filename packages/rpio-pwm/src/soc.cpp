#include "rpio_pwm/soc.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace rpio_pwm {

namespace {
// name, soc, phys base, size, SDRAM bus alias, mailbox flags, PLLD, oscillator, legacy mask, lite, gpios
const SocInfo kSocs[] = {
    {Soc::BCM2835, "BCM2835", 0x20000000ull, 0x01000000u, 0x40000000u, 0x0Cu, 500000000ull, 19200000ull, 0x7FFFu, 7, 54},
    {Soc::BCM2836, "BCM2836", 0x3F000000ull, 0x01000000u, 0xC0000000u, 0x04u, 500000000ull, 19200000ull, 0x7FFFu, 7, 54},
    {Soc::BCM2837, "BCM2837", 0x3F000000ull, 0x01000000u, 0xC0000000u, 0x04u, 500000000ull, 19200000ull, 0x7FFFu, 7, 54},
    // Channels 11..14 of the BCM2711 are DMA4 engines with another control-block format.
    {Soc::BCM2711, "BCM2711", 0xFE000000ull, 0x01800000u, 0xC0000000u, 0x04u, 750000000ull, 54000000ull, 0x07FFu, 7, 58},
    // BCM2712 (Pi 5): no published legacy-DMA path to the RP1 GPIO; nothing here is legacy.
    {Soc::BCM2712, "BCM2712", 0x107C000000ull, 0x04000000u, 0x00000000u, 0x00u, 0ull, 54000000ull, 0x0000u, 0, 54},
};
}  // namespace

const SocInfo& soc_info(Soc soc) {
    for (const auto& s : kSocs)
        if (s.soc == soc) return s;
    throw PwmArgumentError("unknown SoC");
}

Soc soc_from_name(const std::string& name) {
    std::string n = name;
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::toupper(c); });
    for (const auto& s : kSocs)
        if (n == s.name) return s.soc;
    throw PwmArgumentError("unknown SoC '" + name + "' (expected BCM2835, BCM2836, BCM2837, BCM2711 or BCM2712)");
}

PhysAddr periph_bus_to_phys(const SocInfo& soc, BusAddr bus) {
    if (!is_periph_bus(bus.value))
        throw PwmError("not a peripheral bus address: " + hex32(bus.value));
    return PhysAddr{soc.periph_phys_base + (bus.value - kBusPeriphBase)};
}

std::string hex32(uint32_t v) {
    char b[16];
    std::snprintf(b, sizeof b, "0x%08X", v);
    return b;
}

}  // namespace rpio_pwm
