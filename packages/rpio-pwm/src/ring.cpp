#include "rpio_pwm/ring.hpp"

#include <atomic>
#include <cstring>

namespace rpio_pwm {

RingLayout RingLayout::for_samples(uint32_t n) {
    RingLayout l;
    l.num_samples = n;
    l.masks_offset = static_cast<size_t>(n) * kCbsPerSample * sizeof(ControlBlock);
    l.dummy_offset = l.masks_offset + static_cast<size_t>(n) * 8;
    l.total_bytes = l.dummy_offset + 32;  // dummy word, padded to keep the size a multiple of 32
    return l;
}

void dma_barrier() {
#if defined(__aarch64__)
    __asm__ __volatile__("dmb sy" ::: "memory");
#elif defined(__arm__)
    __asm__ __volatile__("dmb" ::: "memory");
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

Ring::Ring(const SocInfo& soc, DmaBuffer buf, uint32_t num_samples, Pacing pacing)
    : layout_(RingLayout::for_samples(num_samples)), buf_(buf), pacing_(pacing),
      set_(num_samples, 0), clr_(num_samples, 0) {
    if (num_samples == 0) throw PwmArgumentError("a ring needs at least one sample");
    if (!buf.cpu || buf.size < layout_.total_bytes)
        throw PwmError("DMA buffer too small: " + std::to_string(buf.size) + " bytes for a ring of " +
                       std::to_string(layout_.total_bytes));
    if (buf.bus % 32 != 0 || reinterpret_cast<uintptr_t>(buf.cpu) % 32 != 0)
        throw PwmError("DMA buffer is not 32-byte aligned (bus " + hex32(buf.bus) + ")");
    if (is_periph_bus(buf.bus) || looks_like_arm_periph_phys(buf.bus))
        throw PwmError("DMA buffer address " + hex32(buf.bus) + " is not SDRAM");
    // The DMA must see SDRAM through a cache-safe alias: 0x40000000 (L2 coherent, what a Pi 1 uses)
    // or 0xC0000000 (uncached, Pi 2 and later). Alias 0 is what an ARM physical address looks like.
    const uint32_t alias = buf.bus & 0xC0000000u;
    if (alias != 0x40000000u && alias != 0xC0000000u)
        throw PwmError("DMA buffer address " + hex32(buf.bus) + " is not in a cache-safe SDRAM bus alias (the " +
                       soc.name + " uses " + hex32(soc.sdram_bus_alias) + "): a physical address where a bus address belongs?");
    const uint64_t end = static_cast<uint64_t>(buf.bus) + layout_.total_bytes;
    if (end > 0x100000000ull) throw PwmError("DMA buffer crosses the top of the 32-bit bus space");

    const uint32_t common = ti::NO_WIDE_BURSTS | ti::WAIT_RESP;
    const uint32_t delay_ti = common | ti::DEST_DREQ | ti::permap(pacing_dreq(pacing));
    const uint32_t fifo = pacing_fifo_bus(pacing);
    std::memset(buf.cpu, 0, layout_.total_bytes);
    for (uint32_t s = 0; s < num_samples; ++s) {
        ControlBlock cbs[3] = {};
        cbs[0] = {common, buf.bus + static_cast<uint32_t>(layout_.set_offset(s)), kBusGpset0, 4, 0, 0, {0, 0}};
        cbs[1] = {common, buf.bus + static_cast<uint32_t>(layout_.clr_offset(s)), kBusGpclr0, 4, 0, 0, {0, 0}};
        cbs[2] = {delay_ti, buf.bus + static_cast<uint32_t>(layout_.dummy_offset), fifo, 4, 0, 0, {0, 0}};
        for (uint32_t k = 0; k < 3; ++k) {
            size_t next = (s + 1 == num_samples && k == 2) ? 0 : layout_.cb_offset(s, k) + sizeof(ControlBlock);
            cbs[k].nextconbk = buf.bus + static_cast<uint32_t>(next);
            std::memcpy(buf.cpu + layout_.cb_offset(s, k), &cbs[k], sizeof(ControlBlock));
        }
    }
    dma_barrier();
}

void Ring::store(size_t offset, uint32_t value) {
    // One aligned 32-bit store the DMA engine sees whole.
    *reinterpret_cast<volatile uint32_t*>(buf_.cpu + offset) = value;
    if (observer_) observer_(offset, value);
}

size_t Ring::apply(const std::vector<uint32_t>& new_set, const std::vector<uint32_t>& new_clr,
                   const std::vector<uint32_t>& changed) {
    size_t writes = 0;
    // Pass 1: only remove bits. A pin that changes state is then in neither word of that sample, so
    // a DMA read racing this edit leaves it at its previous level for one sample -- never a spike.
    for (uint32_t s : changed) {
        uint32_t ks = set_[s] & new_set[s], kc = clr_[s] & new_clr[s];
        if (ks != set_[s]) { store(layout_.set_offset(s), ks); set_[s] = ks; ++writes; }
        if (kc != clr_[s]) { store(layout_.clr_offset(s), kc); clr_[s] = kc; ++writes; }
    }
    dma_barrier();
    // Pass 2: add the new bits.
    for (uint32_t s : changed) {
        if (new_set[s] != set_[s]) { store(layout_.set_offset(s), new_set[s]); set_[s] = new_set[s]; ++writes; }
        if (new_clr[s] != clr_[s]) { store(layout_.clr_offset(s), new_clr[s]); clr_[s] = new_clr[s]; ++writes; }
    }
    dma_barrier();
    return writes;
}

size_t Ring::set_levels(int gpio, const std::vector<uint8_t>& levels) {
    if (gpio < 0 || gpio >= 32) throw PwmArgumentError("gpio out of the 32-bit bank");
    if (levels.size() != layout_.num_samples) throw PwmArgumentError("levels must have one entry per sample");
    const uint32_t bit = 1u << gpio;
    std::vector<uint32_t> changed;
    std::vector<uint32_t> ns = set_, nc = clr_;
    for (uint32_t s = 0; s < layout_.num_samples; ++s) {
        uint32_t want_s = levels[s] ? (set_[s] | bit) : (set_[s] & ~bit);
        uint32_t want_c = levels[s] ? (clr_[s] & ~bit) : (clr_[s] | bit);
        if (want_s != set_[s] || want_c != clr_[s]) {
            ns[s] = want_s;
            nc[s] = want_c;
            changed.push_back(s);
        }
    }
    owned_ |= bit;
    return apply(ns, nc, changed);
}

size_t Ring::release(int gpio) {
    if (gpio < 0 || gpio >= 32) throw PwmArgumentError("gpio out of the 32-bit bank");
    const uint32_t bit = 1u << gpio;
    std::vector<uint32_t> changed;
    std::vector<uint32_t> ns = set_, nc = clr_;
    for (uint32_t s = 0; s < layout_.num_samples; ++s) {
        if ((set_[s] | clr_[s]) & bit) {
            ns[s] &= ~bit;
            nc[s] &= ~bit;
            changed.push_back(s);
        }
    }
    owned_ &= ~bit;
    return apply(ns, nc, changed);
}

ControlBlock Ring::cb(uint32_t sample, uint32_t which) const {
    return load_cb(buf_.cpu + layout_.cb_offset(sample, which));
}

}  // namespace rpio_pwm
