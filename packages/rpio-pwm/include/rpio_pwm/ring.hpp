// The compiler: one DMA channel's subcycle as a ring of legacy control blocks over a memory buffer.
//
// Encoding (documented in README.md, "The ring"):
//   every sample s (one pulse increment) has three control blocks, always in this order:
//     SET(s):   set_mask[s]  -> GPSET0   (pins that are high in sample s)
//     CLR(s):   clr_mask[s]  -> GPCLR0   (pins of this channel that are low in sample s)
//     DELAY(s): dummy word   -> PWM or PCM FIFO, DEST_DREQ + PERMAP: waits one pacing slot
//   The last DELAY links back to SET(0). The masks are *levels*, not edges: every pin the channel
//   owns is in exactly one of set_mask[s] / clr_mask[s] in every sample, so a pulse of one increment
//   exists, 0 % and 100 % are just all-clear / all-set, two pins that change in the same sample
//   cannot collide (two separate words, two writes), and growing or shrinking a pulse by one
//   increment changes exactly one sample's words. The CBs never change after compilation; edits
//   only rewrite mask words, each with one aligned 32-bit store, in two passes (first remove bits,
//   then add them) so a pin being edited is at worst left alone for one sample, never spiked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rpio_pwm/control_block.hpp"
#include "rpio_pwm/soc.hpp"

namespace rpio_pwm {

// A piece of memory the DMA engine can read: the CPU's pointer and the bus address of byte 0.
struct DmaBuffer {
    uint8_t* cpu = nullptr;
    uint32_t bus = 0;
    size_t size = 0;
    uint32_t handle = 0;  // allocator's own token (mailbox handle, model region id)
};

struct RingLayout {
    static constexpr uint32_t kCbsPerSample = 3;
    static constexpr uint32_t kSet = 0, kClr = 1, kDelay = 2;
    uint32_t num_samples = 0;
    size_t masks_offset = 0;  // after the CBs: (set, clr) word pairs per sample
    size_t dummy_offset = 0;  // the word the DELAY blocks write into the FIFO
    size_t total_bytes = 0;

    static RingLayout for_samples(uint32_t num_samples);
    size_t cb_offset(uint32_t sample, uint32_t which) const {
        return (static_cast<size_t>(sample) * kCbsPerSample + which) * sizeof(ControlBlock);
    }
    size_t set_offset(uint32_t sample) const { return masks_offset + static_cast<size_t>(sample) * 8; }
    size_t clr_offset(uint32_t sample) const { return set_offset(sample) + 4; }
};

// Memory barrier between the CPU's stores to DMA-visible memory and what follows.
void dma_barrier();

class Ring {
public:
    // Compiles the ring into `buf` (which must be at least layout.total_bytes, 32-byte aligned on the
    // bus, and in the SoC's SDRAM bus alias). All masks start at zero: the ring touches no pin.
    Ring(const SocInfo& soc, DmaBuffer buf, uint32_t num_samples, Pacing pacing);

    const RingLayout& layout() const { return layout_; }
    const DmaBuffer& buffer() const { return buf_; }
    uint32_t first_cb_bus() const { return buf_.bus; }  // SET(0): where each subcycle begins
    // Where the DMA is started: the last sample's DELAY. The channel first waits one pacing slot, so
    // pulses added right after init_channel() are already in place for the first whole subcycle.
    uint32_t start_cb_bus() const {
        return buf_.bus + static_cast<uint32_t>(layout_.cb_offset(layout_.num_samples - 1, RingLayout::kDelay));
    }
    uint32_t num_samples() const { return layout_.num_samples; }

    // Make `gpio` follow `levels` (one 0/1 per sample). Writes only the words that change.
    // Returns the number of mask words written.
    size_t set_levels(int gpio, const std::vector<uint8_t>& levels);
    // Stop touching `gpio` at all (it keeps whatever level it has).
    size_t release(int gpio);

    uint32_t set_mask(uint32_t s) const { return set_[s]; }
    uint32_t clr_mask(uint32_t s) const { return clr_[s]; }
    uint32_t owned_mask() const { return owned_; }

    // Called after every store into a mask word, in store order (tests record the DMA's view with it).
    void set_store_observer(std::function<void(size_t offset, uint32_t value)> fn) { observer_ = std::move(fn); }

    // Read back a CB from the buffer (for tests and print_channel).
    ControlBlock cb(uint32_t sample, uint32_t which) const;

private:
    void store(size_t offset, uint32_t value);
    size_t apply(const std::vector<uint32_t>& new_set, const std::vector<uint32_t>& new_clr,
                 const std::vector<uint32_t>& changed);

    RingLayout layout_;
    DmaBuffer buf_;
    Pacing pacing_;
    std::vector<uint32_t> set_, clr_;  // mirror of the mask words in the buffer
    uint32_t owned_ = 0;
    std::function<void(size_t, uint32_t)> observer_;
};

}  // namespace rpio_pwm
