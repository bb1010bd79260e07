// The RP1's PIO (the RP2040's PIO design): an instruction-level emulator, the PWM program RPIO
// loads, and the programming of a state machine for a waveform. Python-free.
//
// Emulator semantics follow the RP2040 datasheet, chapter 3 (RP1's PIO is the same block): 32
// instruction words shared by 4 state machines; JMP/WAIT/IN/OUT/PUSH/PULL/MOV/IRQ/SET; side-set
// (optional enable bit, SIDE_PINDIR), delay cycles, wrap (WRAP_TOP/WRAP_BOTTOM), the 16.8 clock
// divider, 4-word TX/RX FIFOs (8 when joined), autopull/autopush with thresholds and shift
// directions, 8 IRQ flags, forced instructions (exec). A stalled instruction applies its side-set
// on the cycle it is issued, then waits; its delay starts when it completes. Every change of a
// pin this block drives (value and direction, for pins set to the PIO function) is reported with
// the system-clock cycle it happened on: timestamps are cycle-exact.
//
// Not emulated: the input synchronizers (inputs are seen the same cycle), MOV to PINDIRS
// (RP2350), status from IRQ flags, the RP2350's extra FIFO modes, DMA.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace rpio_pwm {
namespace pio {

constexpr int kSms = 4;
constexpr int kInstrs = 32;
constexpr int kPins = 32;
// RP1's PIO runs from its 200 MHz system clock (unverified on hardware; see README).
constexpr uint64_t kRp1ClockHz = 200000000;

// ---- register fields (RP2040 datasheet SMx_CLKDIV / EXECCTRL / SHIFTCTRL / PINCTRL)
struct SmConfig {
    uint32_t clkdiv = 1u << 16;       // INT[31:16], FRAC[15:8]
    uint32_t execctrl = 0x1fu << 12;  // WRAP_TOP 31, WRAP_BOTTOM 0
    uint32_t shiftctrl = (1u << 19) | (1u << 18);  // shift right, thresholds 32
    uint32_t pinctrl = 5u << 26;      // SET_COUNT 5
};

namespace exec {
constexpr uint32_t SIDE_EN = 1u << 30, SIDE_PINDIR = 1u << 29;
inline uint32_t jmp_pin(uint32_t v) { return (v >> 24) & 31; }
inline uint32_t wrap_top(uint32_t v) { return (v >> 12) & 31; }
inline uint32_t wrap_bottom(uint32_t v) { return (v >> 7) & 31; }
}  // namespace exec

// ---- encoding (what an assembler produces); delay_side is the raw 5-bit [12:8] field
uint16_t enc_jmp(uint32_t cond, uint32_t addr, uint32_t ds = 0);
uint16_t enc_wait(bool polarity, uint32_t source, uint32_t index, uint32_t ds = 0);
uint16_t enc_in(uint32_t source, uint32_t bits, uint32_t ds = 0);
uint16_t enc_out(uint32_t dest, uint32_t bits, uint32_t ds = 0);
uint16_t enc_push(bool if_full, bool block, uint32_t ds = 0);
uint16_t enc_pull(bool if_empty, bool block, uint32_t ds = 0);
uint16_t enc_mov(uint32_t dest, uint32_t op, uint32_t source, uint32_t ds = 0);
uint16_t enc_irq(bool clear, bool wait, uint32_t index, uint32_t ds = 0);
uint16_t enc_set(uint32_t dest, uint32_t data, uint32_t ds = 0);
// The [12:8] field for a side-set value and a delay, given the program's side-set bit count
// (not counting the enable bit) and whether side-set is optional (SIDE_EN).
uint32_t delay_side(uint32_t sideset_bits, bool optional, int side_value /* -1: none */, uint32_t delay);

struct PinEvent {
    uint64_t cycle;  // system-clock cycle
    int gpio;
    int level;       // the level the pin shows: its value when the PIO drives it, else -1 (released)
};

class Block {
public:
    Block();

    // ---- host side (what the kernel driver does for its ioctls)
    void load(int origin, const std::vector<uint16_t>& instrs);  // into instruction memory
    uint16_t instr(int addr) const { return imem_[addr & 31]; }
    void sm_init(int sm, int initial_pc, const SmConfig& cfg);  // disabled, cleared, at initial_pc
    void sm_set_config(int sm, const SmConfig& cfg);
    void sm_set_enabled(int sm, bool on);
    bool sm_enabled(int sm) const { return sm_[sm].enabled; }
    void sm_exec(int sm, uint16_t instr);  // forced instruction, runs on the SM's next cycle
    // Runs a forced instruction now, whether the SM is enabled or not (as the hardware's SMx_INSTR
    // write does for a stopped SM): set pindirs/pins before enabling.
    void sm_exec_now(int sm, uint16_t instr);
    bool sm_put(int sm, uint32_t word);  // false: the TX FIFO is full
    bool sm_get(int sm, uint32_t* word);
    int tx_level(int sm) const { return static_cast<int>(sm_[sm].tx.size()); }
    int rx_level(int sm) const { return static_cast<int>(sm_[sm].rx.size()); }
    void sm_clear_fifos(int sm);
    void set_clkdiv(int sm, uint32_t div_int, uint32_t div_frac);
    void set_pio_function(int gpio, bool on);  // the pin's GPIO function is PIO (RP1: FUNCSEL 7)
    void set_input(int gpio, int level) { inputs_[gpio & 31] = level ? 1 : 0; }
    uint8_t irq_flags() const { return irq_; }

    // ---- state, for tests
    uint32_t x(int sm) const { return sm_[sm].x; }
    uint32_t y(int sm) const { return sm_[sm].y; }
    uint32_t isr(int sm) const { return sm_[sm].isr; }
    uint32_t osr(int sm) const { return sm_[sm].osr; }
    int pc(int sm) const { return sm_[sm].pc; }
    bool stalled(int sm) const { return sm_[sm].stalled; }
    uint64_t sm_steps(int sm) const { return sm_[sm].steps; }
    int pin_value(int gpio) const { return out_val_[gpio & 31]; }
    int pin_dir(int gpio) const { return out_dir_[gpio & 31]; }
    int level(int gpio) const;  // what the pin shows (0/1), -1 when the PIO does not drive it

    // ---- time
    uint64_t now() const { return now_; }
    void run_until(uint64_t cycle);  // every SM step at or before `cycle`
    void set_listener(std::function<void(const PinEvent&)> fn) { listener_ = std::move(fn); }
    std::vector<PinEvent> events(size_t from = 0) const;
    size_t events_total() const { return ev_base_ + events_.size(); }
    void set_fast_forward(bool on) { fast_ = on; }  // skip self-loops and delays in one step (exact)

private:
    struct Sm {
        SmConfig cfg;
        bool enabled = false;
        uint32_t x = 0, y = 0, isr = 0, osr = 0;
        uint32_t isr_count = 0, osr_count = 32;  // osr starts empty
        int pc = 0;
        uint32_t delay = 0;
        bool stalled = false;
        bool has_exec = false;
        uint16_t exec_instr = 0;
        std::deque<uint32_t> tx, rx;
        uint64_t next = 0;    // system cycle of the SM's next step
        uint32_t frac_acc = 0;
        uint64_t steps = 0;
    };

    uint32_t div256(const Sm& s) const;
    void schedule_next(Sm& s);
    void step(int n);
    // Executes one instruction; returns false when it stalls.
    bool execute(int n, uint16_t ins, bool forced, bool* jumped);
    void apply_sideset(int n, uint16_t ins);
    void write_pins(uint32_t base, uint32_t count, uint32_t value, bool dirs);
    uint32_t read_pins(int n) const;
    int tx_depth(const Sm& s) const;
    int rx_depth(const Sm& s) const;
    void advance_pc(Sm& s);
    void emit(int gpio, int before);

    std::array<uint16_t, kInstrs> imem_{};
    std::array<Sm, kSms> sm_{};
    std::array<int, kPins> out_val_{}, out_dir_{}, inputs_{};
    std::array<bool, kPins> pio_fn_{};
    uint8_t irq_ = 0;
    uint64_t now_ = 0;
    bool fast_ = true;
    std::function<void(const PinEvent&)> listener_;
    std::deque<PinEvent> events_;
    size_t ev_base_ = 0;
};

// ---- the PWM program RPIO loads (one state machine per pin)
//
//   .side_set 1 opt
//   0: pull noblock            ; OSR <- TX FIFO, or X (the last word) when the FIFO is empty
//   1: mov x, osr              ; keep it for the next period
//   2: out y, 16     side 1    ; y <- high count, pin high
//   3: jmp y-- 3               ; high for y+1 more cycles
//   4: out y, 16     side 0    ; y <- low count, pin low
//   5: jmp y-- 5               ; low for y+1 more cycles, then wrap to 0
//
// A word (low << 16 | high) gives high = H + 2 cycles and low = L + 4 cycles, period = H + L + 6.
// A new word is pulled at the start of a period only: a change always lands on a period boundary.
struct PwmProgram {
    static std::vector<uint16_t> instructions();
    static SmConfig config(int origin, int gpio, uint32_t div_int);
    static constexpr uint32_t kHighExtra = 2, kLowExtra = 4;
};

// What to load for a waveform: the divider and the FIFO word. Chooses the smallest integer divider
// for which period and width are whole SM cycles (exact), else the smallest that fits 16-bit counts
// (then the widths are rounded to a cycle). constant: 0/1 for 0 % and 100 % (the SM is stopped and
// the pin set by a forced SET instead), -1 otherwise.
struct PwmPlan {
    uint32_t div_int = 1;
    uint32_t word = 0;
    uint64_t period_cycles = 0, high_cycles = 0;  // in SM cycles
    int constant = -1;
    bool exact = false;
    double period_ns() const;
    double high_ns() const;
};
PwmPlan plan_pwm(uint64_t period_ns, uint64_t high_ns, uint64_t clock_hz = kRp1ClockHz);

}  // namespace pio
}  // namespace rpio_pwm
