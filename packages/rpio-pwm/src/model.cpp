#include "rpio_pwm/model.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "rpio_pwm/wide.hpp"

namespace rpio_pwm {

namespace {
constexpr int kPwm = 0, kPcm = 1;
constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
std::string S(uint64_t v) { return std::to_string(v); }
}  // namespace

SimSoc::SimSoc(Soc soc) : soc_(&soc_info(soc)) {
    if (soc == Soc::BCM2712)
        throw PwmArgumentError("the BCM2712 (Pi 5) has no legacy DMA path to its GPIOs; there is nothing to model");
    pacer_[kPwm].depth = pwmreg::kFifoDepth;
    pacer_[kPcm].depth = pcmreg::kFifoDepth;
}

SimSoc::~SimSoc() {
    for (auto& kv : regions_) std::free(kv.second.mem);
}

void SimSoc::fault(const std::string& what) { throw ModelFault("DMA model: " + what); }

void SimSoc::chan_fault(int ch, const std::string& what) {
    if (ch >= 0) {
        Chan& c = ch_[ch];
        c.flags |= dmareg::CS_ERROR;
        c.active = false;
        c.waiting = false;
        c.has_cb = false;
        fault("channel " + S(ch) + ": " + what);
    }
    fault(what);
}

// ---------------------------------------------------------------- memory
DmaBuffer SimSoc::alloc_dma(size_t bytes) {
    if (bytes == 0) throw PwmArgumentError("cannot allocate 0 bytes");
    size_t size = (bytes + 4095) & ~static_cast<size_t>(4095);
    if (static_cast<uint64_t>(next_phys_) + size >= 0x40000000ull) throw PwmError("simulated SDRAM exhausted");
    void* mem = nullptr;
    if (posix_memalign(&mem, 4096, size) != 0) throw std::bad_alloc();
    std::memset(mem, 0, size);
    uint32_t phys = next_phys_;
    next_phys_ += static_cast<uint32_t>(size) + 4096;  // a guard page between regions
    BusAddr bus = sdram_phys_to_bus(*soc_, PhysAddr{phys});
    regions_[bus.value] = Region{bus.value, size, static_cast<uint8_t*>(mem)};
    return DmaBuffer{static_cast<uint8_t*>(mem), bus.value, size, phys};
}

void SimSoc::free_dma(const DmaBuffer& buf) {
    auto it = regions_.find(buf.bus);
    if (it == regions_.end()) throw PwmError("free of memory the model never allocated: " + hex32(buf.bus));
    std::free(it->second.mem);
    freed_.push_back({it->first, it->second.size});
    regions_.erase(it);
}

SimSoc::Region* SimSoc::region_for(uint32_t bus, size_t len) {
    auto it = regions_.upper_bound(bus);
    if (it == regions_.begin()) return nullptr;
    --it;
    Region& r = it->second;
    if (bus >= r.bus && static_cast<uint64_t>(bus) + len <= static_cast<uint64_t>(r.bus) + r.size) return &r;
    return nullptr;
}

uint32_t SimSoc::mem_read32(int ch, uint32_t bus) {
    if (bus % 4) chan_fault(ch, "unaligned source address " + hex32(bus));
    Region* r = region_for(bus, 4);
    if (!r) {
        if (looks_like_arm_periph_phys(bus) || (bus & 0xC0000000u) != soc_->sdram_bus_alias)
            chan_fault(ch, "source " + hex32(bus) + " is not a bus address of SDRAM (the " + soc_->name +
                               " alias is " + hex32(soc_->sdram_bus_alias) + "): a physical address given to the DMA?");
        for (const auto& f : freed_)
            if (bus >= f.first && bus < f.first + f.second) chan_fault(ch, "read of freed memory at " + hex32(bus));
        chan_fault(ch, "source " + hex32(bus) + " is outside every allocated buffer");
    }
    uint32_t v;
    std::memcpy(&v, r->mem + (bus - r->bus), 4);
    return v;
}

void SimSoc::mem_write32(int ch, uint32_t bus, uint32_t v) {
    Region* r = region_for(bus, 4);
    if (!r || bus % 4) chan_fault(ch, "destination " + hex32(bus) + " is outside every allocated buffer");
    std::memcpy(r->mem + (bus - r->bus), &v, 4);
}

// ---------------------------------------------------------------- CPU register access
uint32_t SimSoc::read32(BusAddr reg) {
    const uint32_t a = reg.value;
    if (looks_like_arm_periph_phys(a))
        fault("register access at " + hex32(a) + ", an ARM physical address; registers are reached by bus address (0x7E......)");
    if (a % 4) fault("unaligned register read at " + hex32(a));
    if (a >= kBusDma && a < kBusDma + 0x1000) return dma_read(a - kBusDma);
    if (a >= kBusClock + cmreg::PCMCTL && a <= kBusClock + cmreg::PWMDIV) return clock_read(a - kBusClock);
    if (a >= kBusGpio && a < kBusGpio + 0x100) return gpio_read(a - kBusGpio);
    if (a >= kBusPwm && a < kBusPwm + 0x28) return pwm_read(a - kBusPwm);
    if (a >= kBusPcm && a < kBusPcm + 0x24) return pcm_read(a - kBusPcm);
    fault("read of unmodelled register " + hex32(a));
}

void SimSoc::write32(BusAddr reg, uint32_t v) {
    peripheral_write(-1, reg.value, v);
}

void SimSoc::peripheral_write(int ch, uint32_t a, uint32_t v) {
    if (looks_like_arm_periph_phys(a))
        chan_fault(ch, "write to " + hex32(a) + ", an ARM physical address; peripherals are at bus 0x7E......");
    if (a % 4) chan_fault(ch, "unaligned register write at " + hex32(a));
    if (a >= kBusGpio && a < kBusGpio + 0x100) return gpio_write(a - kBusGpio, v);
    if (a == kBusPwmFifo || a == kBusPcmFifo) return fifo_push(a == kBusPwmFifo ? kPwm : kPcm, ch < 0 ? "the CPU" : "a DMA write without DREQ");
    if (ch >= 0) chan_fault(ch, "DMA write to " + hex32(a) + ", a register the model does not let the DMA write");
    if (a >= kBusDma && a < kBusDma + 0x1000) return dma_write(a - kBusDma, v);
    if (a >= kBusClock + cmreg::PCMCTL && a <= kBusClock + cmreg::PWMDIV) return clock_write(a - kBusClock, v);
    if (a >= kBusPwm && a < kBusPwm + 0x28) return pwm_write(a - kBusPwm, v);
    if (a >= kBusPcm && a < kBusPcm + 0x24) return pcm_write(a - kBusPcm, v);
    fault("write of unmodelled register " + hex32(a));
}

// ---------------------------------------------------------------- DMA registers
uint32_t SimSoc::dma_read(uint32_t off) {
    if (off == 0xFF0) return dma_enable_;
    if (off == 0xFE0) {
        uint32_t s = 0;
        for (int i = 0; i < kDmaChannels; ++i) s |= (ch_[i].flags & dmareg::CS_INT) ? (1u << i) : 0;
        return s;
    }
    int n = static_cast<int>(off / kDmaChannelStride);
    uint32_t r = off % kDmaChannelStride;
    if (n >= kDmaChannels) fault("read of unmodelled DMA register " + hex32(kBusDma + off));
    Chan& c = ch_[n];
    switch (r) {
        case dmareg::CS: {
            if (c.foreign) return (c.active ? dmareg::CS_ACTIVE : 0u) | c.cs_ctrl;
            uint32_t cs = c.cs_ctrl | c.flags;
            if (c.active) cs |= dmareg::CS_ACTIVE;
            if (!c.active && c.has_cb) cs |= dmareg::CS_PAUSED;
            return cs;
        }
        case dmareg::CONBLK_AD: return c.conblk;
        case dmareg::TI: return c.has_cb ? c.cb.ti : 0;
        case dmareg::SOURCE_AD: return c.has_cb ? c.src : 0;
        case dmareg::DEST_AD: return c.has_cb ? c.dst : 0;
        case dmareg::TXFR_LEN: return c.has_cb ? c.words_left * 4 : 0;
        case dmareg::STRIDE: return c.has_cb ? c.cb.stride : 0;
        case dmareg::NEXTCONBK: return c.has_cb ? c.cb.nextconbk : 0;
        case dmareg::DEBUG: return c.debug;
        default: fault("read of unmodelled DMA register " + hex32(kBusDma + off));
    }
}

void SimSoc::dma_write(uint32_t off, uint32_t v) {
    if (off == 0xFF0) {
        dma_enable_ = v & 0x7FFFu;
        return;
    }
    int n = static_cast<int>(off / kDmaChannelStride);
    uint32_t r = off % kDmaChannelStride;
    if (n >= kDmaChannels) fault("write of unmodelled DMA register " + hex32(kBusDma + off));
    Chan& c = ch_[n];
    if (c.foreign && (r == dmareg::CS || r == dmareg::CONBLK_AD)) {
        ++takeovers_;  // the register write that would break another user's transfer
        c = Chan{};
    }
    switch (r) {
        case dmareg::CS: {
            if (v & dmareg::CS_RESET) {
                c = Chan{};
                return;
            }
            c.flags &= ~(v & (dmareg::CS_END | dmareg::CS_INT));
            c.cs_ctrl = v & 0x30FF0000u;  // priorities, wait-for-writes, disdebug
            if (v & dmareg::CS_ABORT) {
                if (c.has_cb) {
                    c.conblk = c.cb.nextconbk;
                    c.has_cb = false;
                    c.waiting = false;
                    if (c.conblk == 0) {
                        c.active = false;
                        c.flags |= dmareg::CS_END;
                    }
                }
            }
            bool go = v & dmareg::CS_ACTIVE;
            if (go && !c.active) {
                if (soc_->soc == Soc::BCM2711 && !(soc_->legacy_dma_mask & (1u << n)))
                    chan_fault(n, "is a DMA4 engine on the BCM2711: it does not execute legacy control blocks");
                if (!c.has_cb && c.conblk == 0) return;  // nothing to run
                if (!c.has_cb && !c.watch_set) c.start_addr = c.conblk;
                c.active = true;
                run_channel(n);
            } else if (!go && c.active) {
                c.active = false;  // paused
                c.waiting = false;
            } else if (go && c.active && (v & dmareg::CS_ABORT) && !c.waiting) {
                run_channel(n);
            }
            return;
        }
        case dmareg::CONBLK_AD:
            if (c.active) fault("channel " + S(n) + ": CONBLK_AD written while the channel is active");
            c.conblk = v;
            c.has_cb = false;
            return;
        case dmareg::DEBUG:
            c.debug &= ~(v & 7u);
            return;
        default:
            fault("write of read-only or unmodelled DMA register " + hex32(kBusDma + off));
    }
}

void SimSoc::fetch_cb(int n) {
    Chan& c = ch_[n];
    uint32_t a = c.conblk;
    if (a % 32) chan_fault(n, "control block address " + hex32(a) + " is not 32-byte aligned");
    if (!region_for(a, 32)) {
        if (looks_like_arm_periph_phys(a) || is_periph_bus(a) || (a & 0xC0000000u) != soc_->sdram_bus_alias)
            chan_fault(n, "control block address " + hex32(a) + " is not a bus address of SDRAM (the " + soc_->name +
                              " alias is " + hex32(soc_->sdram_bus_alias) + ")");
        for (const auto& f : freed_)
            if (a >= f.first && a < f.first + f.second) chan_fault(n, "control block at " + hex32(a) + " in freed memory");
        chan_fault(n, "control block address " + hex32(a) + " is outside every allocated buffer");
    }
    Region* r = region_for(a, 32);
    ControlBlock cb = load_cb(r->mem + (a - r->bus));
    if (cb.ti & ~ti::SUPPORTED)
        chan_fault(n, "control block at " + hex32(a) + " sets TI bits " + hex32(cb.ti & ~ti::SUPPORTED) +
                          " the model does not implement (INTEN, TDMODE, WIDTH, IGNORE, SRC_DREQ, BURST, WAITS)");
    if (cb.txfr_len == 0 || cb.txfr_len % 4 || cb.txfr_len > 0xFFFC)
        chan_fault(n, "control block at " + hex32(a) + " has TXFR_LEN " + S(cb.txfr_len) + " (need 4..65532, whole words)");
    if (cb.stride != 0 || cb.reserved[0] != 0 || cb.reserved[1] != 0)
        chan_fault(n, "control block at " + hex32(a) + " has a non-zero STRIDE or reserved word");
    if (cb.nextconbk % 32) chan_fault(n, "control block at " + hex32(a) + " links to a misaligned " + hex32(cb.nextconbk));
    uint32_t permap = (cb.ti & ti::PERMAP_MASK) >> ti::PERMAP_SHIFT;
    if ((cb.ti & ti::DEST_DREQ) && permap != kDreqPwm && permap != kDreqPcmTx && permap != 0)
        chan_fault(n, "control block at " + hex32(a) + " waits on DREQ " + S(permap) + ", which the model does not pace");
    // Source: memory only, the whole span must be inside one buffer.
    uint32_t src_span = (cb.ti & ti::SRC_INC) ? cb.txfr_len : 4;
    if (is_periph_bus(cb.source_ad)) chan_fault(n, "control block at " + hex32(a) + " reads a peripheral (" + hex32(cb.source_ad) + ")");
    (void)mem_read32(n, cb.source_ad);
    if (!region_for(cb.source_ad, src_span))
        chan_fault(n, "control block at " + hex32(a) + " reads past the end of its buffer");
    // Destination: GPSET/GPCLR, a pacing FIFO, or memory.
    uint32_t d = cb.dest_ad;
    bool gpio_dest = d == kBusGpset0 || d == kBusGpset1 || d == kBusGpclr0 || d == kBusGpclr1;
    bool fifo_dest = d == kBusPwmFifo || d == kBusPcmFifo;
    if (gpio_dest || fifo_dest) {
        if (cb.ti & ti::DEST_INC) chan_fault(n, "control block at " + hex32(a) + " increments across peripheral registers");
        if (fifo_dest && (cb.ti & ti::DEST_DREQ)) {
            uint32_t want = d == kBusPwmFifo ? kDreqPwm : kDreqPcmTx;
            if (permap != want)
                chan_fault(n, "control block at " + hex32(a) + " writes the " + (d == kBusPwmFifo ? "PWM" : "PCM") +
                                  " FIFO but waits on DREQ " + S(permap));
        }
    } else if (looks_like_arm_periph_phys(d)) {
        chan_fault(n, "control block at " + hex32(a) + " writes " + hex32(d) + ", an ARM physical address (bus 0x7E...... expected)");
    } else if (is_periph_bus(d)) {
        chan_fault(n, "control block at " + hex32(a) + " writes " + hex32(d) + ", a register the model does not let the DMA write");
    } else {
        uint32_t span = (cb.ti & ti::DEST_INC) ? cb.txfr_len : 4;
        if (!region_for(d, span)) chan_fault(n, "control block at " + hex32(a) + " writes outside every buffer (" + hex32(d) + ")");
    }
    c.cb = cb;
    c.has_cb = true;
    c.words_left = cb.txfr_len / 4;
    c.src = cb.source_ad;
    c.dst = cb.dest_ad;
    if (a == c.start_addr) {
        c.starts.push_back(now_);
        if (c.starts.size() > 100000) c.starts.pop_front();
    }
}

bool SimSoc::dreq_ready(int /*ch*/, uint32_t permap) {
    if (permap == 0) return true;
    const Pacer& p = pacer_[permap == kDreqPwm ? kPwm : kPcm];
    return p.dreq_enabled && p.fill < p.threshold;
}

void SimSoc::do_word(int n) {
    Chan& c = ch_[n];
    uint32_t v = mem_read32(n, c.src);
    uint32_t d = c.dst;
    if (is_periph_bus(d)) {
        if ((c.cb.ti & ti::DEST_DREQ) && (d == kBusPwmFifo || d == kBusPcmFifo)) {
            Pacer& p = pacer_[d == kBusPwmFifo ? kPwm : kPcm];
            if (p.fill >= p.depth) chan_fault(n, "FIFO overflow");
            ++p.fill;
        } else {
            peripheral_write(n, d, v);
        }
    } else {
        mem_write32(n, d, v);
    }
    if (c.cb.ti & ti::SRC_INC) c.src += 4;
    if (c.cb.ti & ti::DEST_INC) c.dst += 4;
    --c.words_left;
}

void SimSoc::run_channel(int n) {
    Chan& c = ch_[n];
    if (!(dma_enable_ & (1u << n))) return;
    // A ring that never waits would spin forever at one instant on the model and flood the bus on
    // hardware: refuse it after a generous number of control blocks without a DREQ wait.
    uint64_t budget = 4ull * 1000 * 1000;
    while (c.active) {
        if (!c.has_cb) {
            if (budget-- == 0)
                chan_fault(n, "executed 4000000 control blocks without waiting on a DREQ: the ring is not paced");
            fetch_cb(n);
            ++cbs_executed_;
        }
        while (c.words_left > 0) {
            if (c.cb.ti & ti::DEST_DREQ) {
                uint32_t permap = (c.cb.ti & ti::PERMAP_MASK) >> ti::PERMAP_SHIFT;
                if (!dreq_ready(n, permap)) {
                    c.waiting = true;
                    return;
                }
            }
            do_word(n);
        }
        c.waiting = false;
        c.has_cb = false;
        c.conblk = c.cb.nextconbk;
        if (c.conblk == 0) {
            c.active = false;
            c.flags |= dmareg::CS_END;
        }
    }
}

// ---------------------------------------------------------------- GPIO
int SimSoc::function(int gpio) const {
    if (gpio < 0 || gpio >= soc_->num_gpios) return -1;
    return static_cast<int>((fsel_[gpio / 10] >> ((gpio % 10) * 3)) & 7u);
}

int SimSoc::shown(int gpio) const {
    if (function(gpio) != 1) return 0;  // inputs and ALT functions read as 0 in this model
    return static_cast<int>((latch_[gpio / 32] >> (gpio % 32)) & 1u);
}

int SimSoc::level(int gpio) const {
    if (gpio < 0 || gpio >= soc_->num_gpios) throw PwmArgumentError("no such gpio: " + std::to_string(gpio));
    return shown(gpio);
}

void SimSoc::show_level_change(int gpio, int old_level, int new_level) {
    if (old_level == new_level) return;
    Transition t{now_, static_cast<uint16_t>(gpio), static_cast<uint8_t>(new_level)};
    history_.push_back(t);
    if (history_.size() > history_limit_) {
        size_t drop = history_.size() - history_limit_ / 2;
        history_.erase(history_.begin(), history_.begin() + static_cast<std::ptrdiff_t>(drop));
        history_base_ += drop;
    }
    if (listener_) listener_(t);
}

void SimSoc::set_latch_bits(int bank, uint32_t mask, bool high) {
    uint32_t before = latch_[bank];
    uint32_t after = high ? (before | mask) : (before & ~mask);
    uint32_t changed = before ^ after;
    if (!changed) return;
    latch_[bank] = after;
    for (int b = 0; b < 32 && changed; ++b) {
        if (!(changed & (1u << b))) continue;
        changed &= ~(1u << b);
        int g = bank * 32 + b;
        if (g >= soc_->num_gpios || function(g) != 1) continue;
        show_level_change(g, high ? 0 : 1, high ? 1 : 0);
    }
}

void SimSoc::gpio_write(uint32_t off, uint32_t v) {
    if (off <= 0x14) {
        int reg = static_cast<int>(off / 4);
        std::array<int, 10> before{};
        for (int i = 0; i < 10; ++i) before[i] = reg * 10 + i < soc_->num_gpios ? shown(reg * 10 + i) : 0;
        fsel_[reg] = v & 0x3FFFFFFFu;
        for (int i = 0; i < 10; ++i)
            if (reg * 10 + i < soc_->num_gpios) show_level_change(reg * 10 + i, before[i], shown(reg * 10 + i));
        return;
    }
    switch (kBusGpio + off) {
        case kBusGpset0: return set_latch_bits(0, v, true);
        case kBusGpset1: return set_latch_bits(1, v & ((1u << (soc_->num_gpios - 32)) - 1), true);
        case kBusGpclr0: return set_latch_bits(0, v, false);
        case kBusGpclr1: return set_latch_bits(1, v & ((1u << (soc_->num_gpios - 32)) - 1), false);
        default: fault("write of unmodelled GPIO register " + hex32(kBusGpio + off));
    }
}

uint32_t SimSoc::gpio_read(uint32_t off) {
    if (off <= 0x14) return fsel_[off / 4];
    if (kBusGpio + off == kBusGplev0 || kBusGpio + off == kBusGplev1) {
        int bank = kBusGpio + off == kBusGplev0 ? 0 : 1;
        uint32_t v = 0;
        for (int b = 0; b < 32; ++b) {
            int g = bank * 32 + b;
            if (g < soc_->num_gpios && shown(g)) v |= 1u << b;
        }
        return v;
    }
    fault("read of unmodelled GPIO register " + hex32(kBusGpio + off));
}

// ---------------------------------------------------------------- clock manager
void SimSoc::clock_write(uint32_t off, uint32_t v) {
    if ((v & 0xFF000000u) != cmreg::PASSWD)
        fault("clock manager write to " + hex32(kBusClock + off) + " without the 0x5A password (the hardware ignores it)");
    Clock& k = (off == cmreg::PWMCTL || off == cmreg::PWMDIV) ? pwm_clk_ : pcm_clk_;
    int which = (&k == &pwm_clk_) ? kPwm : kPcm;
    v &= 0x00FFFFFFu;
    if (off == cmreg::PWMCTL || off == cmreg::PCMCTL) {
        if (v & cmreg::CTL_KILL) {
            k.ctl = v & ~(cmreg::CTL_ENAB | cmreg::CTL_KILL);
        } else {
            bool busy = k.running();
            if (busy && ((v & 0xF) != (k.ctl & 0xF) || ((v >> 9) & 3) != ((k.ctl >> 9) & 3)))
                fault("clock manager: source or MASH changed while the clock is BUSY (glitches on hardware)");
            uint32_t src = v & 0xF;
            if (src != cmreg::SRC_GND && src != cmreg::SRC_OSC && src != cmreg::SRC_PLLD)
                fault("clock manager: source " + S(src) + " is not modelled (1 = oscillator, 6 = PLLD)");
            if ((v >> 9) & 3) fault("clock manager: MASH filtering is not modelled (integer divisors only)");
            k.ctl = v & ~cmreg::CTL_BUSY;
        }
    } else {
        if (k.running()) fault("clock manager: divisor changed while the clock is BUSY (glitches on hardware)");
        k.div = v;
    }
    refresh_pacer(which);
}

uint32_t SimSoc::clock_read(uint32_t off) {
    const Clock& k = (off == cmreg::PWMCTL || off == cmreg::PWMDIV) ? pwm_clk_ : pcm_clk_;
    if (off == cmreg::PWMCTL || off == cmreg::PCMCTL) return k.ctl | (k.running() ? cmreg::CTL_BUSY : 0);
    if (off == cmreg::PWMDIV || off == cmreg::PCMDIV) return k.div;
    fault("read of unmodelled clock register " + hex32(kBusClock + off));
}

// ---------------------------------------------------------------- PWM / PCM pacers
void SimSoc::fifo_push(int which, const char* who) {
    Pacer& p = pacer_[which];
    if (p.fill >= p.depth)
        fault(std::string(which == kPwm ? "PWM" : "PCM") + " FIFO overflow by " + who);
    ++p.fill;
}

void SimSoc::pwm_write(uint32_t off, uint32_t v) {
    switch (off) {
        case pwmreg::CTL:
            if (v & pwmreg::CTL_CLRF) pacer_[kPwm].fill = 0;
            if ((v & pwmreg::CTL_PWEN2) && (v & pwmreg::CTL_USEF2))
                fault("PWM channel 2 reading the FIFO too is not modelled");
            pwm_ctl_ = v & ~pwmreg::CTL_CLRF;
            break;
        case pwmreg::STA: pwm_sta_err_ &= ~v; return;
        case pwmreg::DMAC: pwm_dmac_ = v; break;
        case pwmreg::RNG1: pwm_rng1_ = v; break;
        case pwmreg::FIF1: fifo_push(kPwm, "the CPU"); return;
        case pwmreg::DAT1: case pwmreg::RNG2: case pwmreg::DAT2: return;
        default: fault("write of unmodelled PWM register " + hex32(kBusPwm + off));
    }
    refresh_pacer(kPwm);
}

uint32_t SimSoc::pwm_read(uint32_t off) {
    switch (off) {
        case pwmreg::CTL: return pwm_ctl_;
        case pwmreg::STA: {
            const Pacer& p = pacer_[kPwm];
            return (p.fill >= p.depth ? pwmreg::STA_FULL1 : 0) | (p.fill == 0 ? pwmreg::STA_EMPT1 : 0) | pwm_sta_err_;
        }
        case pwmreg::DMAC: return pwm_dmac_;
        case pwmreg::RNG1: return pwm_rng1_;
        default: return 0;
    }
}

void SimSoc::pcm_write(uint32_t off, uint32_t v) {
    switch (off) {
        case pcmreg::CS_A:
            if (v & pcmreg::CS_TXCLR) pacer_[kPcm].fill = 0;
            pcm_cs_ = v & ~(pcmreg::CS_TXCLR | pcmreg::CS_RXCLR);
            break;
        case pcmreg::FIFO_A: fifo_push(kPcm, "the CPU"); return;
        case pcmreg::MODE_A: pcm_mode_ = v; break;
        case pcmreg::TXC_A:
            if (v & pcmreg::TXC_CH2EN) fault("PCM TX channel 2 is not modelled");
            pcm_txc_ = v;
            break;
        case pcmreg::DREQ_A: pcm_dreq_ = v; break;
        case pcmreg::RXC_A: case pcmreg::INTEN_A: case pcmreg::INTSTC_A: case pcmreg::GRAY: return;
        default: fault("write of unmodelled PCM register " + hex32(kBusPcm + off));
    }
    refresh_pacer(kPcm);
}

uint32_t SimSoc::pcm_read(uint32_t off) {
    switch (off) {
        case pcmreg::CS_A: return pcm_cs_;
        case pcmreg::MODE_A: return pcm_mode_;
        case pcmreg::TXC_A: return pcm_txc_;
        case pcmreg::DREQ_A: return pcm_dreq_;
        default: return 0;
    }
}

void SimSoc::refresh_pacer(int which) {
    Pacer& p = pacer_[which];
    const Clock& k = which == kPwm ? pwm_clk_ : pcm_clk_;
    bool running;
    uint64_t range;
    if (which == kPwm) {
        running = (pwm_ctl_ & pwmreg::CTL_PWEN1) && (pwm_ctl_ & pwmreg::CTL_USEF1) && k.running();
        range = pwm_rng1_;
        p.dreq_enabled = pwm_dmac_ & pwmreg::DMAC_ENAB;
        p.threshold = pwm_dmac_ & 0xFFu;
    } else {
        running = (pcm_cs_ & pcmreg::CS_EN) && (pcm_cs_ & pcmreg::CS_TXON) && (pcm_txc_ & pcmreg::TXC_CH1EN) && k.running();
        range = ((pcm_mode_ >> 10) & 0x3FFu) + 1;
        p.dreq_enabled = (pcm_cs_ & pcmreg::CS_EN) && (pcm_cs_ & pcmreg::CS_DMAEN);
        p.threshold = (pcm_dreq_ >> 8) & 0x7Fu;
    }
    if (running) {
        uint64_t src_hz = (k.ctl & 0xF) == cmreg::SRC_PLLD ? soc_->plld_hz : soc_->osc_hz;
        uint64_t divi = (k.div >> 12) & 0xFFFu;
        if (divi < 2) fault("clock divisor DIVI " + S(divi) + " is below 2");
        if (range == 0) fault(std::string(which == kPwm ? "PWM RNG1" : "PCM frame length") + " is 0");
        const WideDivision slot = div_wide(mul_wide(uint64_t{range} * divi, uint64_t{kTicksPerUs} * 1000000u), src_hz);
        if (slot.remainder != 0)
            fault("pacing slot of " + S(range) + " ticks of " + S(src_hz) + " Hz / " + S(divi) +
                  " is not a whole number of model ticks (1/720720 us)");
        const uint64_t period = slot.quotient64();
        if (!p.running) p.next_drain = now_ + period;
        p.period = period;
    } else {
        p.next_drain = kNever;
    }
    p.running = running;
    // A DREQ that just became ready lets parked channels go now.
    grant(which);
}

void SimSoc::grant(int which) {
    Pacer& p = pacer_[which];
    const uint32_t want = which == kPwm ? kDreqPwm : kDreqPcmTx;
    while (p.dreq_enabled && p.fill < p.threshold) {
        int pick = -1;
        for (int i = 1; i <= kDmaChannels; ++i) {
            int n = (p.last_grant + i + kDmaChannels) % kDmaChannels;
            const Chan& c = ch_[n];
            if (c.active && c.waiting && ((c.cb.ti & ti::PERMAP_MASK) >> ti::PERMAP_SHIFT) == want) {
                pick = n;
                break;
            }
        }
        if (pick < 0) break;
        p.last_grant = pick;
        Chan& c = ch_[pick];
        c.waiting = false;
        do_word(pick);  // the word the DREQ was waiting for
        run_channel(pick);
    }
}

void SimSoc::drain(int which) {
    Pacer& p = pacer_[which];
    if (p.fill > 0) {
        --p.fill;
        ++p.consumed;
    } else {
        ++p.underruns;
    }
    p.next_drain += p.period;
    grant(which);
}

void SimSoc::run_until(uint64_t t) {
    if (t < now_) throw PwmArgumentError("the model cannot run backwards");
    for (;;) {
        // Idle pacers (empty FIFO, nobody waiting) are fast-forwarded, keeping their phase.
        for (int w = 0; w < 2; ++w) {
            Pacer& p = pacer_[w];
            if (!p.running || p.fill != 0 || p.next_drain > t) continue;
            const uint32_t want = w == kPwm ? kDreqPwm : kDreqPcmTx;
            bool anyone = false;
            for (const Chan& c : ch_)
                anyone |= c.active && c.has_cb && ((c.cb.ti & ti::PERMAP_MASK) >> ti::PERMAP_SHIFT) == want;
            if (!anyone) {
                uint64_t skip = (t - p.next_drain) / p.period + 1;
                p.underruns += skip;
                p.next_drain += skip * p.period;
            }
        }
        uint64_t next = std::min(pacer_[kPwm].next_drain, pacer_[kPcm].next_drain);
        if (next > t) break;
        now_ = next;
        if (pacer_[kPwm].next_drain == now_) drain(kPwm);
        if (pacer_[kPcm].next_drain == now_) drain(kPcm);
    }
    now_ = t;
}

void SimSoc::skip_to(uint64_t t) {
    if (t < now_) throw PwmArgumentError("the model cannot run backwards");
    uint64_t d = t - now_;
    for (auto& p : pacer_)
        if (p.running && p.next_drain != kNever) p.next_drain += d;
    now_ = t;
}

// ---------------------------------------------------------------- observation
std::vector<Transition> SimSoc::transitions(size_t from) const {
    size_t start = from > history_base_ ? from - history_base_ : 0;
    if (start >= history_.size()) return {};
    return std::vector<Transition>(history_.begin() + static_cast<std::ptrdiff_t>(start), history_.end());
}

void SimSoc::clear_transitions() {
    history_base_ += history_.size();
    history_.clear();
}

std::vector<uint64_t> SimSoc::ring_starts(int ch) const {
    if (ch < 0 || ch >= kDmaChannels) throw PwmArgumentError("no such DMA channel");
    return std::vector<uint64_t>(ch_[ch].starts.begin(), ch_[ch].starts.end());
}

void SimSoc::watch_cb(int ch, uint32_t bus_addr) {
    if (ch < 0 || ch >= kDmaChannels) throw PwmArgumentError("no such DMA channel");
    ch_[ch].start_addr = bus_addr;
    ch_[ch].watch_set = true;
    ch_[ch].starts.clear();
}

void SimSoc::occupy_channel(int ch, bool active, uint32_t conblk) {
    if (ch < 0 || ch >= kDmaChannels) throw PwmArgumentError("no such DMA channel");
    if (ch_[ch].active || ch_[ch].has_cb) throw PwmArgumentError("DMA channel " + S(ch) + " is running already");
    Chan c{};
    c.foreign = true;
    c.active = active;
    c.conblk = conblk;
    c.cs_ctrl = 0x00770000u;  // someone's priorities
    ch_[ch] = c;
}

bool SimSoc::channel_foreign(int ch) const { return ch >= 0 && ch < kDmaChannels && ch_[ch].foreign; }

uint64_t SimSoc::slots(int pacing) const { return pacer_[pacing ? kPcm : kPwm].consumed; }
uint64_t SimSoc::slot_ticks(int pacing) const { return pacer_[pacing ? kPcm : kPwm].period; }
uint64_t SimSoc::fifo_underruns(int pacing) const { return pacer_[pacing ? kPcm : kPwm].underruns; }
bool SimSoc::channel_active(int ch) const { return ch >= 0 && ch < kDmaChannels && ch_[ch].active; }

}  // namespace rpio_pwm
