#include "rpio_pwm/pio_pwm.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "rpio_pwm/signal_free_thread.h"
#include "rpio_pwm/soc.hpp"
#include "rpio_pwm/wide.hpp"

namespace rpio_pwm {
namespace pio {

// ---------------------------------------------------------------- /dev/pio0
KernelDevice::KernelDevice(IoctlFn fn, std::string path) : fn_(std::move(fn)), path_(std::move(path)) {}

std::unique_ptr<KernelDevice> KernelDevice::open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
        throw PwmError("cannot open " + path + " (" + std::strerror(errno) +
                       "): the rp1-pio driver is missing or the user may not use it");
    auto dev = std::make_unique<KernelDevice>([fd](unsigned long req, void* arg, size_t) { return ::ioctl(fd, req, arg); },
                                              path);
    dev->fd_ = fd;
    return dev;
}

KernelDevice::~KernelDevice() {
    if (fd_ >= 0) ::close(fd_);
}

void KernelDevice::call(unsigned long req, void* arg, size_t size, const char* what) {
    if (fn_(req, arg, size) < 0) throw PwmError(std::string(what) + " on " + path_ + " failed: " + std::strerror(errno));
}

bool KernelDevice::claim(int sm) {
    KClaim a{static_cast<uint16_t>(1u << sm)};
    return fn_(IOC_SM_CLAIM, &a, sizeof a) >= 0;
}
void KernelDevice::unclaim(int sm) {
    KClaim a{static_cast<uint16_t>(1u << sm)};
    call(IOC_SM_UNCLAIM, &a, sizeof a, "PIO_IOC_SM_UNCLAIM");
}
int KernelDevice::add_program(const std::vector<uint16_t>& instrs) {
    KAddProgram a{};
    a.num_instrs = static_cast<uint16_t>(instrs.size());
    a.origin = 0xFFFF;  // RP1_PIO_ORIGIN_ANY
    for (size_t i = 0; i < instrs.size() && i < 32; ++i) a.instrs[i] = instrs[i];
    const int r = fn_(IOC_ADD_PROGRAM, &a, sizeof a);
    if (r < 0) throw PwmError("PIO_IOC_ADD_PROGRAM on " + path_ + " failed: " + std::strerror(errno));
    return r;  // the driver returns the origin it chose
}
void KernelDevice::sm_init(int sm, int pc, const SmConfig& c) {
    KSmInit a{static_cast<uint16_t>(sm), static_cast<uint16_t>(pc), {c.clkdiv, c.execctrl, c.shiftctrl, c.pinctrl}};
    call(IOC_SM_INIT, &a, sizeof a, "PIO_IOC_SM_INIT");
}
void KernelDevice::exec(int sm, uint16_t instr) {
    KExec a{static_cast<uint16_t>(sm), instr, 0, 0};
    call(IOC_SM_EXEC, &a, sizeof a, "PIO_IOC_SM_EXEC");
}
void KernelDevice::set_enabled(int sm, bool on) {
    KSetEnabled a{static_cast<uint16_t>(1u << sm), static_cast<uint8_t>(on ? 1 : 0), 0};
    call(IOC_SM_SET_ENABLED, &a, sizeof a, "PIO_IOC_SM_SET_ENABLED");
}
void KernelDevice::clear_fifos(int sm) {
    KSm a{static_cast<uint16_t>(sm)};
    call(IOC_SM_CLEAR_FIFOS, &a, sizeof a, "PIO_IOC_SM_CLEAR_FIFOS");
}
bool KernelDevice::put(int sm, uint32_t word) {
    KPut a{static_cast<uint16_t>(sm), 0, 0, word};
    return fn_(IOC_SM_PUT, &a, sizeof a) >= 0;
}
void KernelDevice::gpio_function(int gpio, bool pio_fn) {
    if (pio_fn) {
        KGpio g{static_cast<uint16_t>(gpio)};
        call(IOC_GPIO_INIT, &g, sizeof g, "PIO_IOC_GPIO_INIT");
    }
    KGpioFunction f{static_cast<uint16_t>(gpio), pio_fn ? kFuncPio : kFuncSysRio};
    call(IOC_GPIO_SET_FUNCTION, &f, sizeof f, "PIO_IOC_GPIO_SET_FUNCTION");
}

// ---------------------------------------------------------------- the emulator on a board
EmulatedDevice::EmulatedDevice(std::shared_ptr<TableSink> sink, int64_t t0_ns, uint64_t clock_hz)
    : sink_(std::move(sink)), t0_(t0_ns), clock_hz_(clock_hz) {
    block_.set_listener([this](const PinEvent& e) { on_event(e); });
}

EmulatedDevice::~EmulatedDevice() {
    stop_pump();
    std::lock_guard<std::recursive_mutex> l(mu_);
    block_.set_listener(nullptr);
}

int64_t EmulatedDevice::cycle_to_ns(uint64_t c) const {
    return t0_ + static_cast<int64_t>((c / clock_hz_) * 1000000000ull + (c % clock_hz_) * 1000000000ull / clock_hz_);
}

void EmulatedDevice::on_event(const PinEvent& e) {
    if (!sink_) return;
    const rpio_pin_writer_v1& w = sink_->table();
    if (e.gpio < 0 || static_cast<uint32_t>(e.gpio) >= w.num_gpios || e.level < 0) return;  // released: the driver's
    if (!made_output_[e.gpio]) {
        if (w.make_output(sink_->ctx(), static_cast<uint32_t>(e.gpio), 0) != 0) return;  // low, as at reset
        made_output_[e.gpio] = true;
    }
    if (w.write_at(sink_->ctx(), static_cast<uint32_t>(e.gpio), e.level, cycle_to_ns(e.cycle)) == 0) ++forwarded_;
}

void EmulatedDevice::catch_up_l() {
    if (wall_) sync_to_now();
}

void EmulatedDevice::sync_to_now() {
    std::lock_guard<std::recursive_mutex> l(mu_);
    const int64_t now = monotonic_now_ns();
    if (now <= t0_) return;
    const uint64_t c = mul_div(static_cast<uint64_t>(now - t0_), clock_hz_, 1000000000u);
    if (c > block_.now()) block_.run_until(c);
}

void EmulatedDevice::run_to_cycle(uint64_t cycle) {
    std::lock_guard<std::recursive_mutex> l(mu_);
    block_.run_until(cycle);
}

bool EmulatedDevice::claim(int sm) {
    std::lock_guard<std::recursive_mutex> l(mu_);
    if (claimed_[sm & 3] || foreign_[sm & 3]) return false;
    claimed_[sm & 3] = true;
    return true;
}
void EmulatedDevice::unclaim(int sm) {
    std::lock_guard<std::recursive_mutex> l(mu_);
    claimed_[sm & 3] = false;
}
int EmulatedDevice::add_program(const std::vector<uint16_t>& instrs) {
    std::lock_guard<std::recursive_mutex> l(mu_);
    if (next_origin_ + static_cast<int>(instrs.size()) > kInstrs) throw PwmError("PIO instruction memory is full");
    // Relocate JMPs (as the driver/SDK does for a program placed at an origin).
    std::vector<uint16_t> placed = instrs;
    for (auto& w : placed)
        if ((w >> 13) == 0) w = static_cast<uint16_t>((w & ~31u) | ((w + next_origin_) & 31));
    block_.load(next_origin_, placed);
    const int origin = next_origin_;
    next_origin_ += static_cast<int>(instrs.size());
    return origin;
}
void EmulatedDevice::sm_init(int sm, int pc, const SmConfig& cfg) {
    std::lock_guard<std::recursive_mutex> l(mu_);
    catch_up_l();
    block_.sm_init(sm, pc, cfg);
}
void EmulatedDevice::exec(int sm, uint16_t instr) {
    std::lock_guard<std::recursive_mutex> l(mu_);
    catch_up_l();
    if (block_.sm_enabled(sm))
        block_.sm_exec(sm, instr);
    else
        block_.sm_exec_now(sm, instr);
}
void EmulatedDevice::set_enabled(int sm, bool on) {
    std::lock_guard<std::recursive_mutex> l(mu_);
    catch_up_l();
    block_.sm_set_enabled(sm, on);
}
void EmulatedDevice::clear_fifos(int sm) {
    std::lock_guard<std::recursive_mutex> l(mu_);
    catch_up_l();
    block_.sm_clear_fifos(sm);
}
bool EmulatedDevice::put(int sm, uint32_t word) {
    std::lock_guard<std::recursive_mutex> l(mu_);
    catch_up_l();
    return block_.sm_put(sm, word);
}
void EmulatedDevice::gpio_function(int gpio, bool on) {
    std::lock_guard<std::recursive_mutex> l(mu_);
    catch_up_l();
    block_.set_pio_function(gpio, on);
}

void EmulatedDevice::start_pump(int64_t period_ns) {
    stop_pump();
    {
        std::lock_guard<std::recursive_mutex> l(mu_);
        wall_ = true;
    }
    pump_period_ = period_ns > 0 ? period_ns : 2000000;
    {
        std::lock_guard<std::mutex> l(pump_mu_);
        pump_stop_ = false;
    }
    pump_ = rpio_threads::signal_free_thread([this] {
        ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
        int64_t next = monotonic_now_ns();
        std::unique_lock<std::mutex> lk(pump_mu_);
        while (!pump_stop_) {
            lk.unlock();
            try {
                sync_to_now();
            } catch (...) {
            }
            lk.lock();
            next += pump_period_;
            const int64_t now = monotonic_now_ns();
            if (next < now) next = now;
            pump_cv_.wait_until(lk, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(next)),
                                [&] { return pump_stop_; });
        }
    });
}

void EmulatedDevice::stop_pump() {
    {
        std::lock_guard<std::mutex> l(pump_mu_);
        pump_stop_ = true;
    }
    pump_cv_.notify_all();
    if (pump_.joinable()) pump_.join();
}

// ---------------------------------------------------------------- the controller
PioPwm::PioPwm(std::shared_ptr<Device> dev) : dev_(std::move(dev)) {
    if (!dev_) throw PwmArgumentError("PioPwm needs a device");
}

PioPwm::~PioPwm() {
    for (auto& s : slots_)
        if (s.gpio >= 0) {
            try {
                stop(s.gpio);
            } catch (...) {
            }
        }
}

int PioPwm::sm_of(int gpio) const {
    for (int i = 0; i < kSms; ++i)
        if (slots_[i].gpio == gpio) return i;
    return -1;
}
bool PioPwm::has(int gpio) const { return sm_of(gpio) >= 0; }
std::vector<int> PioPwm::pins() const {
    std::vector<int> out;
    for (const auto& s : slots_)
        if (s.gpio >= 0) out.push_back(s.gpio);
    return out;
}
PwmPlan PioPwm::plan(int gpio) const {
    const int sm = sm_of(gpio);
    if (sm < 0) throw PwmArgumentError("GPIO " + std::to_string(gpio) + " has no PIO state machine");
    return slots_[sm].plan;
}

void PioPwm::program_sm(int sm, int gpio, const PwmPlan& p, bool take_pin) {
    dev_->set_enabled(sm, false);
    dev_->sm_init(sm, origin_, PwmProgram::config(origin_, gpio, p.div_int ? p.div_int : 1));
    dev_->clear_fifos(sm);
    dev_->exec(sm, enc_set(0, p.constant == 1 ? 1 : 0));  // set pins: the level before the first period
    dev_->exec(sm, enc_set(4, 1));                         // set pindirs, 1
    // The pin becomes the PIO's before the program runs: switched later, the pin would show the
    // first pulse only from the switch on, cut short.
    if (take_pin) dev_->gpio_function(gpio, true);
    if (p.constant < 0) {
        dev_->put(sm, p.word);
        dev_->set_enabled(sm, true);
    }
}

bool PioPwm::set(int gpio, uint64_t period_ns, uint64_t high_ns) {
    if (gpio < 0 || gpio >= 28) throw PwmArgumentError("PIO PWM drives GPIO 0-27 of the RP1's bank 0");
    const PwmPlan p = plan_pwm(period_ns, high_ns);
    int sm = sm_of(gpio);
    if (sm >= 0) {
        Slot& s = slots_[sm];
        const bool same_clock = s.plan.constant < 0 && p.constant < 0 && s.plan.div_int == p.div_int;
        s.plan = p;
        if (same_clock) {
            if (!dev_->put(sm, p.word)) {  // FIFO full of older words: the newest wins
                dev_->clear_fifos(sm);
                dev_->put(sm, p.word);
            }
        } else {
            program_sm(sm, gpio, p, false);  // another divider, or to/from 0 % / 100 %: restart now
        }
        return true;
    }
    for (int i = 0; i < kSms; ++i) {
        if (slots_[i].gpio >= 0 || !dev_->claim(i)) continue;
        if (origin_ < 0) {
            try {
                origin_ = dev_->add_program(PwmProgram::instructions());
            } catch (...) {
                dev_->unclaim(i);
                throw;
            }
        }
        slots_[i].gpio = gpio;
        slots_[i].plan = p;
        program_sm(i, gpio, p, true);
        return true;
    }
    return false;
}

void PioPwm::stop(int gpio) {
    const int sm = sm_of(gpio);
    if (sm < 0) return;
    dev_->set_enabled(sm, false);
    dev_->exec(sm, enc_set(0, 0));  // low
    dev_->gpio_function(gpio, false);
    dev_->unclaim(sm);
    slots_[sm] = Slot{};
}

}  // namespace pio
}  // namespace rpio_pwm
