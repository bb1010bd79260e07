// The model: a simulated BCM283x/2711 with the legacy DMA engine (channels 0..14), the PWM and PCM
// blocks as pacing FIFOs, the clock manager and the GPIO block. It executes the control blocks found
// in its simulated SDRAM -- the very bytes the compiler wrote -- and records every pin transition.
//
// Time is counted in ticks of 1/720720 us (720720 = lcm(1..16)), so a pacing slot of incr/k us is a
// whole number of ticks for every k up to 16. DMA transfers themselves take no time: a sample's SET
// and CLR writes land at the instant its slot is granted (on hardware they lag it by a constant
// fraction of a microsecond). Between two CPU actions every running channel is parked on a DREQ,
// which is exactly when the CPU may safely edit mask words.
//
// Faults are loud: a misaligned control block, an address outside simulated SDRAM and the modelled
// registers, an ARM physical address where a bus address belongs, a TI bit the model does not
// implement, a ring that never waits on a DREQ, a write to a clock divisor while the clock runs --
// each throws ModelFault and marks the channel's CS.ERROR.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rpio_pwm/control_block.hpp"
#include "rpio_pwm/platform.hpp"
#include "rpio_pwm/soc.hpp"

namespace rpio_pwm {

struct Transition {
    uint64_t t;     // model ticks
    uint16_t gpio;
    uint8_t level;
};

class SimSoc final : public Platform {
public:
    static constexpr uint64_t kTicksPerUs = 720720;

    explicit SimSoc(Soc soc);
    ~SimSoc() override;

    // ---- Platform ----
    const SocInfo& soc() const override { return *soc_; }
    uint32_t read32(BusAddr reg) override;
    void write32(BusAddr reg, uint32_t value) override;
    void delay_us(uint32_t) override {}
    DmaBuffer alloc_dma(size_t bytes) override;
    void free_dma(const DmaBuffer& buf) override;
    bool is_model() const override { return true; }

    // ---- time ----
    uint64_t now() const { return now_; }
    void run_until(uint64_t t);  // executes everything up to and including time t
    void advance(uint64_t ticks) { run_until(now_ + ticks); }
    // Jump to time t without executing anything in between (levels are held, phases kept).
    void skip_to(uint64_t t);

    // ---- the outside view ----
    int level(int gpio) const;
    int function(int gpio) const;  // raw 3-bit FSEL code
    std::vector<Transition> transitions(size_t from = 0) const;
    size_t transitions_total() const { return history_base_ + history_.size(); }  // index of next
    size_t transitions_dropped() const { return history_base_; }
    void clear_transitions();
    void set_history_limit(size_t n) { history_limit_ = n ? n : 1; }
    void set_transition_listener(std::function<void(const Transition&)> fn) { listener_ = std::move(fn); }
    // Times at which channel `ch` fetched the control block at `watch_cb(ch, addr)` (by default the
    // one it was started at): with the ring's first block watched, one entry per subcycle.
    std::vector<uint64_t> ring_starts(int ch) const;
    void watch_cb(int ch, uint32_t bus_addr);
    uint64_t cbs_executed() const { return cbs_executed_; }
    uint64_t slots(int pacing) const;  // FIFO words consumed by PWM (0) / PCM (1)
    uint64_t slot_ticks(int pacing) const;
    bool channel_active(int ch) const;
    // Another user's channel (pigpio, a kernel driver, another process): its CS reads ACTIVE (or
    // paused) with CONBLK_AD = conblk, and the model runs nothing on it. A CS RESET or a CONBLK_AD
    // write takes it over (counted in takeovers()), which RPIO must never do.
    void occupy_channel(int ch, bool active, uint32_t conblk);
    bool channel_foreign(int ch) const;
    uint64_t takeovers() const { return takeovers_; }
    uint64_t fifo_underruns(int pacing) const;

private:
    struct Region {
        uint32_t bus;
        size_t size;
        uint8_t* mem;
    };
    struct Chan {
        bool active = false;
        bool has_cb = false;
        bool waiting = false;
        bool foreign = false;  // occupy_channel(): someone else's transfer, not executed
        uint32_t cs_ctrl = 0;  // priority/panic/flags bits as written
        uint32_t flags = 0;    // END / INT / ERROR
        uint32_t conblk = 0;
        uint32_t start_addr = 0;
        bool watch_set = false;
        ControlBlock cb{};
        uint32_t words_left = 0;
        uint32_t src = 0, dst = 0;
        uint32_t debug = 0;
        std::deque<uint64_t> starts;
    };
    struct Clock {
        uint32_t ctl = 0, div = 0;
        bool running() const { return (ctl & cmreg::CTL_ENAB) && (ctl & 0xF) != cmreg::SRC_GND; }
    };
    struct Pacer {
        uint32_t fill = 0;
        uint32_t depth = 0;
        uint32_t threshold = 0;
        bool dreq_enabled = false;
        bool running = false;
        uint64_t period = 0;
        uint64_t next_drain = UINT64_MAX;
        int last_grant = -1;
        uint64_t consumed = 0;
        uint64_t underruns = 0;
    };

    [[noreturn]] void fault(const std::string& what);
    [[noreturn]] void chan_fault(int ch, const std::string& what);
    Region* region_for(uint32_t bus, size_t len);
    uint32_t mem_read32(int ch, uint32_t bus);
    void mem_write32(int ch, uint32_t bus, uint32_t v);

    void dma_write(uint32_t off, uint32_t v);
    uint32_t dma_read(uint32_t off);
    void fetch_cb(int ch);
    void run_channel(int ch);
    bool dreq_ready(int ch, uint32_t permap);
    void do_word(int ch);  // moves one word of the current CB
    void peripheral_write(int ch, uint32_t bus, uint32_t v);  // ch = -1: the CPU

    void gpio_write(uint32_t off, uint32_t v);
    uint32_t gpio_read(uint32_t off);
    void set_latch_bits(int bank, uint32_t mask, bool high);
    void show_level_change(int gpio, int old_level, int new_level);
    int shown(int gpio) const;

    void clock_write(uint32_t off, uint32_t v);
    uint32_t clock_read(uint32_t off);
    void pwm_write(uint32_t off, uint32_t v);
    uint32_t pwm_read(uint32_t off);
    void pcm_write(uint32_t off, uint32_t v);
    uint32_t pcm_read(uint32_t off);
    void fifo_push(int which, const char* who);
    void refresh_pacer(int which);
    void drain(int which);
    void grant(int which);

    const SocInfo* soc_;
    uint64_t now_ = 0;
    std::map<uint32_t, Region> regions_;
    std::vector<std::pair<uint32_t, size_t>> freed_;
    uint32_t next_phys_ = 0x0D000000u;
    std::array<Chan, kDmaChannels> ch_{};
    uint32_t dma_enable_ = 0x7FFFu;
    std::array<uint32_t, 6> fsel_{};
    std::array<uint32_t, 2> latch_{};
    Clock pwm_clk_, pcm_clk_;
    uint32_t pwm_ctl_ = 0, pwm_dmac_ = 0, pwm_rng1_ = 0x20, pwm_sta_err_ = 0;
    uint32_t pcm_cs_ = 0, pcm_mode_ = 0, pcm_txc_ = 0, pcm_dreq_ = 0;
    std::array<Pacer, 2> pacer_{};  // 0 = PWM, 1 = PCM
    std::deque<Transition> history_;
    size_t history_base_ = 0;
    size_t history_limit_ = 4000000;
    std::function<void(const Transition&)> listener_;
    uint64_t cbs_executed_ = 0;
    uint64_t takeovers_ = 0;
};

}  // namespace rpio_pwm
