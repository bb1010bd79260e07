#include "rpio/bus.hpp"

#include <stdexcept>
#include <string>

namespace rpio {

void Bus::check_offset(size_t off) const {
    if (off % 4 != 0)
        throw std::invalid_argument("register offset " + std::to_string(off) +
                                    " is not a multiple of 4");
    if (off >= size() || size() - off < 4)
        throw std::out_of_range("register offset " + std::to_string(off) +
                                " is outside the window of " + std::to_string(size()) + " bytes");
}

uint32_t Bus::checked_read32(size_t off) {
    check_offset(off);
    return read32(off);
}

void Bus::checked_write32(size_t off, uint32_t value) {
    check_offset(off);
    write32(off, value);
}

}  // namespace rpio
