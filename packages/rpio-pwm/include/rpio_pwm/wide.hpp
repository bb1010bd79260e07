// Exact 64 x 64 -> 128-bit products and their division by a 64-bit number, for the timing maths
// (ns x Hz overflows 64 bits). Portable C++: 32-bit ARM (32-bit Raspberry Pi OS, which piwheels
// builds our sdist for) has no unsigned __int128.
#pragma once

#include <cstdint>

namespace rpio_pwm {

struct Wide {
    uint64_t hi = 0, lo = 0;
    double as_double() const { return static_cast<double>(hi) * 18446744073709551616.0 + static_cast<double>(lo); }
};

struct WideDivision {
    Wide quotient;
    uint64_t remainder = 0;
    // the quotient, saturated at UINT64_MAX when it does not fit 64 bits
    uint64_t quotient64() const { return quotient.hi ? UINT64_MAX : quotient.lo; }
};

inline Wide mul_wide(uint64_t a, uint64_t b) {
    const uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32, b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
    const uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);  // < 3 * 2^32
    return Wide{p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32), (mid << 32) | (p00 & 0xFFFFFFFFu)};
}

// n / d and n % d (d > 0), bit by bit: these run when a waveform is planned or a pump wakes, not
// per edge.
inline WideDivision div_wide(Wide n, uint64_t d) {
    WideDivision r;
    uint64_t rem = 0;
    for (int i = 127; i >= 0; --i) {
        const bool carry = (rem >> 63) != 0;  // rem * 2 overflows: then it is surely >= d
        const uint64_t bit = i >= 64 ? (n.hi >> (i - 64)) & 1u : (n.lo >> i) & 1u;
        rem = (rem << 1) | bit;
        if (carry || rem >= d) {
            rem -= d;
            if (i >= 64)
                r.quotient.hi |= uint64_t{1} << (i - 64);
            else
                r.quotient.lo |= uint64_t{1} << i;
        }
    }
    r.remainder = rem;
    return r;
}

// a * b / d, truncated; saturated at UINT64_MAX when the quotient does not fit 64 bits.
inline uint64_t mul_div(uint64_t a, uint64_t b, uint64_t d) { return div_wide(mul_wide(a, b), d).quotient64(); }

// (a * b) % d
inline uint64_t mul_mod(uint64_t a, uint64_t b, uint64_t d) { return div_wide(mul_wide(a, b), d).remainder; }

}  // namespace rpio_pwm
