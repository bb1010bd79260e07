// The legacy BCM283x/2711 DMA control block: 8 little-endian words, 32-byte aligned, bus addresses.
#pragma once

#include <cstdint>
#include <cstring>

namespace rpio_pwm {

struct ControlBlock {
    uint32_t ti;
    uint32_t source_ad;
    uint32_t dest_ad;
    uint32_t txfr_len;
    uint32_t stride;
    uint32_t nextconbk;
    uint32_t reserved[2];
};
static_assert(sizeof(ControlBlock) == 32, "a control block is 32 bytes");

namespace ti {
constexpr uint32_t INTEN = 1u << 0;
constexpr uint32_t TDMODE = 1u << 1;
constexpr uint32_t WAIT_RESP = 1u << 3;
constexpr uint32_t DEST_INC = 1u << 4;
constexpr uint32_t DEST_WIDTH = 1u << 5;
constexpr uint32_t DEST_DREQ = 1u << 6;
constexpr uint32_t DEST_IGNORE = 1u << 7;
constexpr uint32_t SRC_INC = 1u << 8;
constexpr uint32_t SRC_WIDTH = 1u << 9;
constexpr uint32_t SRC_DREQ = 1u << 10;
constexpr uint32_t SRC_IGNORE = 1u << 11;
constexpr uint32_t BURST_MASK = 0xFu << 12;
constexpr uint32_t PERMAP_SHIFT = 16;
constexpr uint32_t PERMAP_MASK = 0x1Fu << 16;
constexpr uint32_t WAITS_MASK = 0x1Fu << 21;
constexpr uint32_t NO_WIDE_BURSTS = 1u << 26;
inline constexpr uint32_t permap(uint32_t dreq) { return (dreq << PERMAP_SHIFT) & PERMAP_MASK; }
// The bits the compiler uses and the model executes; anything else is refused by the model.
constexpr uint32_t SUPPORTED = WAIT_RESP | DEST_INC | DEST_DREQ | SRC_INC | PERMAP_MASK | NO_WIDE_BURSTS;
}  // namespace ti

inline ControlBlock load_cb(const uint8_t* p) {
    ControlBlock cb;
    std::memcpy(&cb, p, sizeof cb);
    return cb;
}

}  // namespace rpio_pwm
