#include "rpio_pwm/pio.hpp"

#include <algorithm>
#include <limits>

#include "rpio_pwm/soc.hpp"
#include "rpio_pwm/wide.hpp"

namespace rpio_pwm {
namespace pio {

namespace {
constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
uint32_t rev32(uint32_t v) {
    uint32_t r = 0;
    for (int i = 0; i < 32; ++i) r |= ((v >> i) & 1u) << (31 - i);
    return r;
}
uint32_t mask_bits(uint32_t n) { return n >= 32 ? 0xFFFFFFFFu : ((1u << n) - 1); }
uint32_t thresh(uint32_t v) { return v == 0 ? 32 : v; }
}  // namespace

// ---------------------------------------------------------------- encoding
static uint16_t op(uint32_t code, uint32_t ds, uint32_t low8) {
    return static_cast<uint16_t>((code << 13) | ((ds & 31) << 8) | (low8 & 0xFF));
}
uint16_t enc_jmp(uint32_t cond, uint32_t addr, uint32_t ds) { return op(0, ds, ((cond & 7) << 5) | (addr & 31)); }
uint16_t enc_wait(bool pol, uint32_t src, uint32_t idx, uint32_t ds) {
    return op(1, ds, (pol ? 0x80 : 0) | ((src & 3) << 5) | (idx & 31));
}
uint16_t enc_in(uint32_t src, uint32_t bits, uint32_t ds) { return op(2, ds, ((src & 7) << 5) | (bits & 31)); }
uint16_t enc_out(uint32_t dst, uint32_t bits, uint32_t ds) { return op(3, ds, ((dst & 7) << 5) | (bits & 31)); }
uint16_t enc_push(bool if_full, bool block, uint32_t ds) { return op(4, ds, (if_full ? 0x40 : 0) | (block ? 0x20 : 0)); }
uint16_t enc_pull(bool if_empty, bool block, uint32_t ds) {
    return op(4, ds, 0x80 | (if_empty ? 0x40 : 0) | (block ? 0x20 : 0));
}
uint16_t enc_mov(uint32_t dst, uint32_t o, uint32_t src, uint32_t ds) {
    return op(5, ds, ((dst & 7) << 5) | ((o & 3) << 3) | (src & 7));
}
uint16_t enc_irq(bool clear, bool wait, uint32_t idx, uint32_t ds) {
    return op(6, ds, (clear ? 0x40 : 0) | (wait ? 0x20 : 0) | (idx & 31));
}
uint16_t enc_set(uint32_t dst, uint32_t data, uint32_t ds) { return op(7, ds, ((dst & 7) << 5) | (data & 31)); }

uint32_t delay_side(uint32_t bits, bool optional, int side, uint32_t delay) {
    const uint32_t n = bits + (optional ? 1 : 0);  // field bits taken by side-set
    if (n > 5) throw PwmArgumentError("side-set takes at most 5 bits");
    const uint32_t dbits = 5 - n;
    if (delay > mask_bits(dbits)) throw PwmArgumentError("delay " + std::to_string(delay) + " does not fit");
    uint32_t field = delay;
    if (side >= 0) {
        if (static_cast<uint32_t>(side) > mask_bits(bits)) throw PwmArgumentError("side-set value does not fit");
        uint32_t s = static_cast<uint32_t>(side);
        if (optional) s |= 1u << bits;
        field |= s << dbits;
    } else if (!optional && bits > 0) {
        throw PwmArgumentError("this program's side-set is not optional");
    }
    return field;
}

// ---------------------------------------------------------------- block
Block::Block() {
    out_val_.fill(0);
    out_dir_.fill(0);
    inputs_.fill(0);
    pio_fn_.fill(false);
}

void Block::load(int origin, const std::vector<uint16_t>& instrs) {
    if (origin < 0 || origin + static_cast<int>(instrs.size()) > kInstrs)
        throw PwmArgumentError("program does not fit the 32-word instruction memory");
    for (size_t i = 0; i < instrs.size(); ++i) imem_[origin + i] = instrs[i];
}

uint32_t Block::div256(const Sm& s) const {
    uint32_t i = s.cfg.clkdiv >> 16, f = (s.cfg.clkdiv >> 8) & 0xFF;
    if (i == 0) i = 65536;  // INT 0 means 65536
    return i * 256 + f;
}

void Block::schedule_next(Sm& s) {
    // The divider lets the SM step on the cycles where a 256-per-cycle accumulator passes div256.
    const uint32_t d = div256(s);
    const uint64_t need = d > s.frac_acc ? d - s.frac_acc : 0;
    const uint64_t cycles = (need + 255) / 256;  // cycles until the accumulator reaches d
    s.next = now_ + (cycles ? cycles : 1);
    s.frac_acc = static_cast<uint32_t>(s.frac_acc + cycles * 256 - d);
}

void Block::sm_init(int n, int pc, const SmConfig& cfg) {
    Sm& s = sm_[n & 3];
    s = Sm{};
    s.cfg = cfg;
    s.pc = pc & 31;
}

void Block::sm_set_config(int n, const SmConfig& cfg) { sm_[n & 3].cfg = cfg; }

void Block::sm_set_enabled(int n, bool on) {
    Sm& s = sm_[n & 3];
    if (on && !s.enabled) {
        s.frac_acc = 0;
        s.next = now_ + 1;  // first step on the next cycle (the divider restarts)
        uint32_t d = div256(s);
        s.next = now_ + (d + 255) / 256;
        s.frac_acc = static_cast<uint32_t>(((d + 255) / 256) * 256 - d);
    }
    s.enabled = on;
}

void Block::sm_exec(int n, uint16_t instr) {
    Sm& s = sm_[n & 3];
    s.has_exec = true;
    s.exec_instr = instr;
}

void Block::sm_exec_now(int n, uint16_t instr) {
    bool jumped = false;
    apply_sideset(n & 3, instr);
    execute(n & 3, instr, true, &jumped);
}

int Block::tx_depth(const Sm& s) const {
    if (s.cfg.shiftctrl & (1u << 30)) return 8;
    if (s.cfg.shiftctrl & (1u << 31)) return 0;
    return 4;
}
int Block::rx_depth(const Sm& s) const {
    if (s.cfg.shiftctrl & (1u << 31)) return 8;
    if (s.cfg.shiftctrl & (1u << 30)) return 0;
    return 4;
}

bool Block::sm_put(int n, uint32_t word) {
    Sm& s = sm_[n & 3];
    if (static_cast<int>(s.tx.size()) >= tx_depth(s)) return false;
    s.tx.push_back(word);
    return true;
}

bool Block::sm_get(int n, uint32_t* word) {
    Sm& s = sm_[n & 3];
    if (s.rx.empty()) return false;
    *word = s.rx.front();
    s.rx.pop_front();
    return true;
}

void Block::sm_clear_fifos(int n) {
    sm_[n & 3].tx.clear();
    sm_[n & 3].rx.clear();
}

void Block::set_clkdiv(int n, uint32_t i, uint32_t f) {
    if (i > 65535 || f > 255) throw PwmArgumentError("clock divider out of range");
    sm_[n & 3].cfg.clkdiv = (i << 16) | (f << 8);
}

int Block::level(int gpio) const {
    const int g = gpio & 31;
    if (!pio_fn_[g] || !out_dir_[g]) return -1;
    return out_val_[g];
}

void Block::set_pio_function(int gpio, bool on) {
    const int g = gpio & 31;
    const int before = level(g);
    pio_fn_[g] = on;
    emit(g, before);
}

void Block::emit(int gpio, int before) {
    const int after = level(gpio);
    if (after == before) return;
    PinEvent e{now_, gpio, after};
    events_.push_back(e);
    if (events_.size() > 1000000) {
        events_.pop_front();
        ++ev_base_;
    }
    if (listener_) listener_(e);
}

std::vector<PinEvent> Block::events(size_t from) const {
    size_t start = from > ev_base_ ? from - ev_base_ : 0;
    if (start >= events_.size()) return {};
    return std::vector<PinEvent>(events_.begin() + static_cast<std::ptrdiff_t>(start), events_.end());
}

void Block::write_pins(uint32_t base, uint32_t count, uint32_t value, bool dirs) {
    for (uint32_t i = 0; i < count; ++i) {
        const int g = static_cast<int>((base + i) & 31);
        const int before = level(g);
        (dirs ? out_dir_ : out_val_)[g] = (value >> i) & 1u;
        emit(g, before);
    }
}

uint32_t Block::read_pins(int n) const {
    const uint32_t base = (sm_[n].cfg.pinctrl >> 15) & 31;
    uint32_t v = 0;
    for (int i = 0; i < 32; ++i) {
        const int g = static_cast<int>((base + i) & 31);
        const int lv = level(g) >= 0 ? level(g) : inputs_[g];
        v |= static_cast<uint32_t>(lv & 1) << i;
    }
    return v;
}

void Block::apply_sideset(int n, uint16_t ins) {
    const Sm& s = sm_[n];
    const uint32_t count = (s.cfg.pinctrl >> 29) & 7;  // bits of the field, the enable bit included
    if (!count) return;
    const bool opt = s.cfg.execctrl & exec::SIDE_EN;
    const uint32_t field = (ins >> 8) & 31;
    const uint32_t side = field >> (5 - count);
    uint32_t bits = count;
    uint32_t value = side;
    if (opt) {
        if (!(side & (1u << (count - 1)))) return;  // not asserted on this instruction
        bits = count - 1;
        value = side & mask_bits(bits);
    }
    if (!bits) return;
    const uint32_t base = (s.cfg.pinctrl >> 10) & 31;
    write_pins(base, bits, value, (s.cfg.execctrl & exec::SIDE_PINDIR) != 0);
}

void Block::advance_pc(Sm& s) {
    if (static_cast<uint32_t>(s.pc) == exec::wrap_top(s.cfg.execctrl))
        s.pc = static_cast<int>(exec::wrap_bottom(s.cfg.execctrl));
    else
        s.pc = (s.pc + 1) & 31;
}

bool Block::execute(int n, uint16_t ins, bool /*forced*/, bool* jumped) {
    Sm& s = sm_[n];
    const uint32_t opc = ins >> 13, a = (ins >> 5) & 7, low5 = ins & 31;
    const uint32_t sc = s.cfg.shiftctrl;
    const bool out_right = sc & (1u << 19), in_right = sc & (1u << 18);
    const bool autopull = sc & (1u << 17), autopush = sc & (1u << 16);
    const uint32_t pull_th = thresh((sc >> 25) & 31), push_th = thresh((sc >> 20) & 31);
    *jumped = false;
    auto push_isr = [&](bool block) -> bool {
        if (static_cast<int>(s.rx.size()) >= rx_depth(s)) {
            if (block) return false;
        } else {
            s.rx.push_back(s.isr);
        }
        s.isr = 0;
        s.isr_count = 0;
        return true;
    };
    auto pull_osr = [&](bool block) -> bool {
        if (s.tx.empty()) {
            if (block) return false;
            s.osr = s.x;  // a non-blocking PULL from an empty FIFO copies X
        } else {
            s.osr = s.tx.front();
            s.tx.pop_front();
        }
        s.osr_count = 0;
        return true;
    };
    switch (opc) {
        case 0: {  // JMP
            bool take = false;
            switch (a) {
                case 0: take = true; break;
                case 1: take = s.x == 0; break;
                case 2: take = s.x != 0; --s.x; break;
                case 3: take = s.y == 0; break;
                case 4: take = s.y != 0; --s.y; break;
                case 5: take = s.x != s.y; break;
                case 6: {
                    const int g = static_cast<int>(exec::jmp_pin(s.cfg.execctrl));
                    take = (level(g) >= 0 ? level(g) : inputs_[g]) != 0;
                    break;
                }
                case 7: take = s.osr_count < pull_th; break;
            }
            if (take) {
                s.pc = static_cast<int>(low5);
                *jumped = true;
            }
            return true;
        }
        case 1: {  // WAIT
            const bool pol = ins & 0x80;
            const uint32_t src = (ins >> 5) & 3;
            const uint32_t idx = low5;
            if (src == 0 || src == 1) {
                const int g = static_cast<int>(src == 0 ? idx : ((((s.cfg.pinctrl >> 15) & 31) + idx) & 31));
                const int lv = level(g) >= 0 ? level(g) : inputs_[g];
                return (lv != 0) == pol;
            }
            if (src == 2) {
                const uint32_t flag = (idx & 0x10) ? (((idx & 3) + static_cast<uint32_t>(n)) & 3) | (idx & 4) : (idx & 7);
                const bool set = irq_ & (1u << flag);
                if (set != pol) return false;
                if (pol) irq_ &= static_cast<uint8_t>(~(1u << flag));
                return true;
            }
            throw ModelFault("PIO: WAIT source 3 is reserved");
        }
        case 2: {  // IN
            const uint32_t bits = low5 ? low5 : 32;
            if (autopush && s.isr_count >= push_th && static_cast<int>(s.rx.size()) >= rx_depth(s)) return false;
            uint32_t data = 0;
            switch (a) {
                case 0: data = read_pins(n); break;
                case 1: data = s.x; break;
                case 2: data = s.y; break;
                case 3: data = 0; break;
                case 6: data = s.isr; break;
                case 7: data = s.osr; break;
                default: throw ModelFault("PIO: IN source " + std::to_string(a) + " is reserved");
            }
            data &= mask_bits(bits);
            if (in_right)
                s.isr = bits >= 32 ? data : ((s.isr >> bits) | (data << (32 - bits)));
            else
                s.isr = bits >= 32 ? data : ((s.isr << bits) | data);
            s.isr_count = std::min<uint32_t>(32, s.isr_count + bits);
            if (autopush && s.isr_count >= push_th) push_isr(false);
            return true;
        }
        case 3: {  // OUT
            const uint32_t bits = low5 ? low5 : 32;
            if (autopull && s.osr_count >= pull_th) {
                if (!pull_osr(true)) return false;  // autopull stalls on an empty FIFO
            }
            uint32_t data;
            if (out_right) {
                data = s.osr & mask_bits(bits);
                s.osr = bits >= 32 ? 0 : s.osr >> bits;
            } else {
                data = bits >= 32 ? s.osr : s.osr >> (32 - bits);
                s.osr = bits >= 32 ? 0 : s.osr << bits;
            }
            s.osr_count = std::min<uint32_t>(32, s.osr_count + bits);
            const uint32_t pc = s.cfg.pinctrl;
            switch (a) {
                case 0: write_pins(pc & 31, (pc >> 20) & 63, data, false); break;
                case 1: s.x = data; break;
                case 2: s.y = data; break;
                case 3: break;
                case 4: write_pins(pc & 31, (pc >> 20) & 63, data, true); break;
                case 5: s.pc = static_cast<int>(data & 31); *jumped = true; break;
                case 6: s.isr = data; s.isr_count = bits; break;
                case 7: s.has_exec = true; s.exec_instr = static_cast<uint16_t>(data); *jumped = true; break;
            }
            return true;
        }
        case 4: {  // PUSH / PULL
            const bool ifx = ins & 0x40, block = ins & 0x20;
            if (ins & 0x80) {
                if (ifx && s.osr_count < pull_th) return true;
                if (autopull && s.osr_count < pull_th) return true;  // PULL is a no-op while OSR is full
                return pull_osr(block);
            }
            if (ifx && s.isr_count < push_th) return true;
            return push_isr(block);
        }
        case 5: {  // MOV
            const uint32_t o = (ins >> 3) & 3, src = ins & 7;
            uint32_t v = 0;
            switch (src) {
                case 0: v = read_pins(n); break;
                case 1: v = s.x; break;
                case 2: v = s.y; break;
                case 3: v = 0; break;
                case 5: {
                    const uint32_t level_n = s.cfg.execctrl & 15;
                    const bool rxsel = s.cfg.execctrl & (1u << 4);
                    const size_t lvl = rxsel ? s.rx.size() : s.tx.size();
                    v = lvl < level_n ? 0xFFFFFFFFu : 0;
                    break;
                }
                case 6: v = s.isr; break;
                case 7: v = s.osr; break;
                default: throw ModelFault("PIO: MOV source 4 is reserved");
            }
            if (o == 1) v = ~v;
            if (o == 2) v = rev32(v);
            switch (a) {
                case 0: write_pins(s.cfg.pinctrl & 31, (s.cfg.pinctrl >> 20) & 63, v, false); break;
                case 1: s.x = v; break;
                case 2: s.y = v; break;
                case 3: throw ModelFault("PIO: MOV to PINDIRS is an RP2350 instruction, not RP1's");
                case 4: s.has_exec = true; s.exec_instr = static_cast<uint16_t>(v); *jumped = true; break;
                case 5: s.pc = static_cast<int>(v & 31); *jumped = true; break;
                case 6: s.isr = v; s.isr_count = 0; break;
                case 7: s.osr = v; s.osr_count = 0; break;
            }
            return true;
        }
        case 6: {  // IRQ
            const bool clr = ins & 0x40, wait = ins & 0x20;
            const uint32_t idx = low5;
            const uint32_t flag = (idx & 0x10) ? (((idx & 3) + static_cast<uint32_t>(n)) & 3) | (idx & 4) : (idx & 7);
            const uint8_t bit = static_cast<uint8_t>(1u << flag);
            if (clr) {
                irq_ &= static_cast<uint8_t>(~bit);
                return true;
            }
            if (!s.stalled) irq_ |= bit;  // raised once, when the instruction is issued
            if (wait) return (irq_ & bit) == 0;  // waits until someone clears it
            return true;
        }
        case 7: {  // SET
            const uint32_t pc = s.cfg.pinctrl;
            switch (a) {
                case 0: write_pins((pc >> 5) & 31, (pc >> 26) & 7, low5, false); break;
                case 1: s.x = low5; break;
                case 2: s.y = low5; break;
                case 4: write_pins((pc >> 5) & 31, (pc >> 26) & 7, low5, true); break;
                default: throw ModelFault("PIO: SET destination " + std::to_string(a) + " is reserved");
            }
            return true;
        }
    }
    return true;
}

void Block::step(int n) {
    Sm& s = sm_[n];
    ++s.steps;
    if (s.delay > 0) {
        --s.delay;
        return;
    }
    bool forced = false;
    uint16_t ins;
    if (s.has_exec) {
        ins = s.exec_instr;
        forced = true;
        s.has_exec = false;
    } else {
        ins = imem_[s.pc];
    }
    if (!s.stalled) apply_sideset(n, ins);
    bool jumped = false;
    const bool done = execute(n, ins, forced, &jumped);
    if (!done) {
        s.stalled = true;
        if (forced) {  // a stalled forced instruction is retried like a normal one
            s.has_exec = true;
            s.exec_instr = ins;
        }
        return;
    }
    s.stalled = false;
    const uint32_t count = (s.cfg.pinctrl >> 29) & 7;
    const uint32_t delay_bits = 5 - count;
    s.delay = ((ins >> 8) & 31) & mask_bits(delay_bits);
    if (!jumped && !forced) advance_pc(s);
    else if (!jumped && forced) {
        // a forced instruction does not move the PC (unless it jumps)
    }
}

// ---------------------------------------------------------------- the PWM program
std::vector<uint16_t> PwmProgram::instructions() {
    const uint32_t side1 = delay_side(1, true, 1, 0), side0 = delay_side(1, true, 0, 0);
    return {
        enc_pull(false, false),      // 0: pull noblock
        enc_mov(1, 0, 7),            // 1: mov x, osr
        enc_out(2, 16, side1),       // 2: out y, 16   side 1
        enc_jmp(4, 3),               // 3: jmp y-- 3
        enc_out(2, 16, side0),       // 4: out y, 16   side 0
        enc_jmp(4, 5),               // 5: jmp y-- 5
    };
}

SmConfig PwmProgram::config(int origin, int gpio, uint32_t div_int) {
    SmConfig c;
    c.clkdiv = (div_int & 0xFFFF) << 16;
    // side-set optional (SIDE_EN), wrap 5 -> 0 (relocated by origin), JMP_PIN unused
    c.execctrl = exec::SIDE_EN | (static_cast<uint32_t>(origin + 5) << 12) | (static_cast<uint32_t>(origin) << 7);
    c.shiftctrl = (1u << 19) | (1u << 18);  // OUT shifts right: the low 16 bits first
    // SIDESET_COUNT 2 (enable bit + 1 pin), SET_COUNT 1, SIDESET_BASE = SET_BASE = gpio
    c.pinctrl = (2u << 29) | (1u << 26) | (static_cast<uint32_t>(gpio & 31) << 10) |
                (static_cast<uint32_t>(gpio & 31) << 5);
    return c;
}

double PwmPlan::period_ns() const { return static_cast<double>(period_cycles) * div_int * 1e9 / kRp1ClockHz; }
double PwmPlan::high_ns() const { return static_cast<double>(high_cycles) * div_int * 1e9 / kRp1ClockHz; }

PwmPlan plan_pwm(uint64_t period_ns, uint64_t high_ns, uint64_t clock_hz) {
    if (period_ns == 0) throw PwmArgumentError("the period must be positive");
    if (high_ns > period_ns) throw PwmArgumentError("the pulse is longer than the period");
    PwmPlan p;
    if (high_ns == 0 || high_ns == period_ns) {
        p.constant = high_ns ? 1 : 0;
        p.exact = true;
        return p;
    }
    // SM cycles of a divider: period * clock / (div * 1e9). Counts are 16 bits (+ the fixed extras).
    const Wide pc = mul_wide(period_ns, clock_hz);  // ns * Hz
    auto cycles = [&](uint64_t ns, uint32_t div) { return mul_wide(ns, clock_hz).as_double() / (1e9 * div); };
    const uint64_t max_period = 0xFFFFull + 6;  // any width then fits both 16-bit counts
    const uint64_t period_cycles = div_wide(pc, 1000000000u).quotient64();  // at divider 1
    const uint64_t min_div64 = period_cycles / max_period + (period_cycles % max_period != 0);
    if (min_div64 > 65535) throw PwmArgumentError("the period is too long for the PIO's 16-bit divider and counts");
    const uint32_t min_div = min_div64 ? static_cast<uint32_t>(min_div64) : 1;
    // The divider depends on the period only, so every width at one frequency uses the same one
    // (a width change is then just a new FIFO word). Preferred: a cycle that divides 1 us (every
    // width in whole microseconds is exact) and a whole period; then a whole period; else the
    // smallest divider that fits.
    uint32_t chosen = 0;
    const uint32_t last = std::min<uint32_t>(65535, min_div * 8 + 64);
    for (int pass = 0; pass < 2 && !chosen; ++pass) {
        for (uint32_t d = min_div; d <= last; ++d) {
            const uint64_t unit = uint64_t{d} * 1000000000u;  // one cycle, ns*Hz
            if (div_wide(pc, unit).remainder != 0) continue;
            if (pass == 0 && mul_mod(1000, clock_hz, unit) != 0) continue;
            chosen = d;
            break;
        }
    }
    {
        const uint64_t unit = uint64_t{chosen ? chosen : min_div} * 1000000000u;
        p.exact = chosen && mul_mod(high_ns, clock_hz, unit) == 0;
    }
    if (!chosen) chosen = min_div;
    uint64_t P = static_cast<uint64_t>(cycles(period_ns, chosen) + 0.5);
    uint64_t H = static_cast<uint64_t>(cycles(high_ns, chosen) + 0.5);
    P = std::max<uint64_t>(P, PwmProgram::kHighExtra + PwmProgram::kLowExtra);
    H = std::min(std::max<uint64_t>(H, PwmProgram::kHighExtra), P - PwmProgram::kLowExtra);
    if (P > max_period) P = max_period;
    if (H - PwmProgram::kHighExtra > 0xFFFF) H = 0xFFFF + PwmProgram::kHighExtra;
    if (P - H - PwmProgram::kLowExtra > 0xFFFF) P = H + PwmProgram::kLowExtra + 0xFFFF;
    p.div_int = chosen;
    p.period_cycles = P;
    p.high_cycles = H;
    const uint32_t hf = static_cast<uint32_t>(H - PwmProgram::kHighExtra);
    const uint32_t lf = static_cast<uint32_t>(P - H - PwmProgram::kLowExtra);
    p.word = (lf << 16) | hf;
    return p;
}

void Block::run_until(uint64_t t) {
    if (t < now_) throw PwmArgumentError("the PIO emulator cannot run backwards");
    // Steps of different SMs may be taken out of time order when one fast-forwards (only over steps
    // without effects), so the events of this run are delivered sorted by cycle.
    std::vector<PinEvent> batch;
    auto saved = std::move(listener_);
    listener_ = [&batch](const PinEvent& e) { batch.push_back(e); };
    const size_t first = events_.size();
    const uint64_t start = now_;
    try {
        for (;;) {
            int best = -1;
            uint64_t when = kNever;
            for (int i = 0; i < kSms; ++i)
                if (sm_[i].enabled && sm_[i].next < when) {
                    when = sm_[i].next;
                    best = i;
                }
            if (best < 0 || when > t) break;
            now_ = when;
            Sm& s = sm_[best];
            const uint32_t d = div256(s);
            if (fast_ && d % 256 == 0) {
                // Exact fast-forward: a pending delay, or a "jmp x--/y-- to itself" without delay,
                // only counts down; all but the last such step are taken at once (within t).
                const uint64_t per = d / 256;
                const uint64_t room = (t - now_) / per;
                uint64_t skip = 0;
                if (s.delay > 1) {
                    skip = std::min<uint64_t>(s.delay - 1, room);
                    s.delay -= static_cast<uint32_t>(skip);
                } else if (s.delay == 0 && !s.has_exec && !s.stalled) {
                    const uint16_t ins = imem_[s.pc];
                    const uint32_t cond = (ins >> 5) & 7;
                    const uint32_t count = (s.cfg.pinctrl >> 29) & 7;
                    const bool no_delay = (((ins >> 8) & 31) & mask_bits(5 - count)) == 0;
                    if ((ins >> 13) == 0 && (ins & 31) == static_cast<uint32_t>(s.pc) && no_delay &&
                        (cond == 2 || cond == 4)) {
                        uint32_t& r = cond == 2 ? s.x : s.y;
                        if (r > 1) {
                            skip = std::min<uint64_t>(r - 1, room);
                            r -= static_cast<uint32_t>(skip);
                        }
                    }
                }
                if (skip) {
                    s.steps += skip;
                    now_ += skip * per;
                }
            }
            step(best);
            const uint64_t at = now_;
            now_ = at;
            schedule_next(s);
        }
    } catch (...) {
        listener_ = std::move(saved);
        now_ = std::max(now_, start);
        throw;
    }
    listener_ = std::move(saved);
    now_ = t;
    std::stable_sort(batch.begin(), batch.end(), [](const PinEvent& x, const PinEvent& y) { return x.cycle < y.cycle; });
    // events_ got them in execution order: rewrite that tail in time order too.
    for (size_t i = 0; i < batch.size() && first + i < events_.size(); ++i) events_[first + i] = batch[i];
    if (listener_)
        for (const auto& e : batch) listener_(e);
}

}  // namespace pio
}  // namespace rpio_pwm
