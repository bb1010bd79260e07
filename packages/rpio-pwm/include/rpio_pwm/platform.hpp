// What the DMA PWM controller needs from the world: peripheral registers by bus address, memory the
// DMA engine can see, and a way to wait. Implemented by the hardware (/dev/mem + VideoCore mailbox)
// and by the model (SimSoc), so the very same controller code drives both.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rpio_pwm/ring.hpp"
#include "rpio_pwm/soc.hpp"

namespace rpio_pwm {

class Platform {
public:
    virtual ~Platform() = default;
    virtual const SocInfo& soc() const = 0;
    virtual uint32_t read32(BusAddr reg) = 0;
    virtual void write32(BusAddr reg, uint32_t value) = 0;
    // Wait at least `us` microseconds of the peripherals' time. The model's time stands still while
    // the CPU acts (the DMA is always parked on a DREQ then), so there it returns at once.
    virtual void delay_us(uint32_t us) = 0;
    // Zeroed, uncached, 4096-byte aligned memory in the SDRAM bus alias.
    virtual DmaBuffer alloc_dma(size_t bytes) = 0;
    virtual void free_dma(const DmaBuffer& buf) = 0;
    // Tell the fatal-signal guard which channels are live (hardware only).
    virtual void channel_live(int /*channel*/, bool /*live*/) {}
    virtual bool is_model() const { return false; }
};

}  // namespace rpio_pwm
