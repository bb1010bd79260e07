// The register bus every driver is written against: a window of 32-bit registers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rpio {

class Bus {
public:
    virtual ~Bus() = default;

    // Unchecked accesses at a byte offset (multiple of 4, inside size()). The drivers only touch
    // fixed in-range offsets; callers outside a driver use checked_read32/checked_write32.
    virtual uint32_t read32(size_t off) = 0;
    virtual void write32(size_t off, uint32_t value) = 0;

    // Length of the window in bytes.
    virtual size_t size() const = 0;

    // Pause between the steps of the BCM2835 GPPUD/GPPUDCLK sequence (>= 150 core cycles on
    // silicon). A model needs no time to settle, so the default does nothing.
    virtual void settle() {}

    // Bounds- and alignment-checked accesses for API entry points: std::out_of_range when the
    // word is outside the window, std::invalid_argument when off is not a multiple of 4.
    uint32_t checked_read32(size_t off);
    void checked_write32(size_t off, uint32_t value);

    // The window as plain memory when accesses have no side effects beyond the store itself
    // (a memory mapping), else nullptr (a model). The hot path then skips the virtual call.
    volatile uint32_t* direct() const { return direct_; }

protected:
    volatile uint32_t* direct_ = nullptr;

private:
    void check_offset(size_t off) const;
};

}  // namespace rpio
