// PWM on RP1 PIO state machines, one per pin: the device interface (the rp1-pio kernel driver's
// /dev/pio0 ioctls, or the emulator driving a simulated board) and the controller that loads the
// PWM program, claims state machines and feeds them. Python-free.
//
// The /dev/pio0 path follows the kernel's include/uapi/misc/rp1_pio_if.h (ioctl magic 102, one
// struct per call; the structs below have its layout). It is tested against a fake that records the
// ioctls; it is NOT verified on a Raspberry Pi 5 (see README).
#pragma once

#include <sys/ioctl.h>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rpio_pwm/pio.hpp"
#include "rpio_pwm/soft_engine.hpp"

namespace rpio_pwm {
namespace pio {

// ---- the kernel's argument structs (layout of rp1_pio_if.h)
struct KConfig {
    uint32_t clkdiv, execctrl, shiftctrl, pinctrl;
};
struct KAddProgram {
    uint16_t num_instrs, origin;
    uint16_t instrs[32];
};
struct KClaim {
    uint16_t mask;
};
struct KSmInit {
    uint16_t sm, initial_pc;
    KConfig config;
};
struct KExec {
    uint16_t sm, instr;
    uint8_t blocking, rsvd;
};
struct KSm {
    uint16_t sm;
};
struct KSetEnabled {
    uint16_t mask;
    uint8_t enable, rsvd;
};
struct KPut {
    uint16_t sm;
    uint8_t blocking, rsvd;
    uint32_t data;
};
struct KGpio {
    uint16_t gpio;
};
struct KGpioFunction {
    uint16_t gpio, fn;
};

constexpr unsigned kIocMagic = 102;
constexpr unsigned long IOC_ADD_PROGRAM = _IOW(kIocMagic, 11, KAddProgram);
constexpr unsigned long IOC_SM_CLAIM = _IOW(kIocMagic, 20, KClaim);
constexpr unsigned long IOC_SM_UNCLAIM = _IOW(kIocMagic, 21, KClaim);
constexpr unsigned long IOC_SM_INIT = _IOW(kIocMagic, 30, KSmInit);
constexpr unsigned long IOC_SM_EXEC = _IOW(kIocMagic, 32, KExec);
constexpr unsigned long IOC_SM_CLEAR_FIFOS = _IOW(kIocMagic, 33, KSm);
constexpr unsigned long IOC_SM_SET_ENABLED = _IOW(kIocMagic, 37, KSetEnabled);
constexpr unsigned long IOC_SM_PUT = _IOW(kIocMagic, 41, KPut);
constexpr unsigned long IOC_GPIO_INIT = _IOW(kIocMagic, 50, KGpio);
constexpr unsigned long IOC_GPIO_SET_FUNCTION = _IOW(kIocMagic, 51, KGpioFunction);
constexpr uint16_t kFuncPio = 7, kFuncSysRio = 5;  // RP1 FUNCSEL values

// What the controller needs from a PIO block.
class Device {
public:
    virtual ~Device() = default;
    virtual bool claim(int sm) = 0;  // false: taken (by the kernel, another process, an overlay)
    virtual void unclaim(int sm) = 0;
    virtual int add_program(const std::vector<uint16_t>& instrs) = 0;  // origin
    virtual void sm_init(int sm, int pc, const SmConfig& cfg) = 0;
    virtual void exec(int sm, uint16_t instr) = 0;
    virtual void set_enabled(int sm, bool on) = 0;
    virtual void clear_fifos(int sm) = 0;
    virtual bool put(int sm, uint32_t word) = 0;  // non-blocking: false if the TX FIFO is full
    virtual void gpio_function(int gpio, bool pio) = 0;  // PIO, or back to SYS_RIO
    virtual std::string name() const = 0;
};

// /dev/pio0 through ioctl(): `ioctl_fn(request, arg, size)` returns ioctl's result (-1 + errno).
class KernelDevice final : public Device {
public:
    using IoctlFn = std::function<int(unsigned long, void*, size_t)>;
    explicit KernelDevice(IoctlFn fn, std::string path = "/dev/pio0");
    static std::unique_ptr<KernelDevice> open(const std::string& path);  // PwmError if it cannot
    ~KernelDevice() override;
    bool claim(int sm) override;
    void unclaim(int sm) override;
    int add_program(const std::vector<uint16_t>& instrs) override;
    void sm_init(int sm, int pc, const SmConfig& cfg) override;
    void exec(int sm, uint16_t instr) override;
    void set_enabled(int sm, bool on) override;
    void clear_fifos(int sm) override;
    bool put(int sm, uint32_t word) override;
    void gpio_function(int gpio, bool pio) override;
    std::string name() const override { return path_; }

private:
    void call(unsigned long req, void* arg, size_t size, const char* what);
    IoctlFn fn_;
    std::string path_;
    int fd_ = -1;
};

// The emulator driving a simulated board: every pin event is written through rpio_core's pin
// writer table at t0 + cycle / clock. With start_pump(), a thread keeps the block at the wall clock.
class EmulatedDevice final : public Device {
public:
    EmulatedDevice(std::shared_ptr<TableSink> sink, int64_t t0_ns, uint64_t clock_hz = kRp1ClockHz);
    ~EmulatedDevice() override;
    bool claim(int sm) override;
    void unclaim(int sm) override;
    int add_program(const std::vector<uint16_t>& instrs) override;
    void sm_init(int sm, int pc, const SmConfig& cfg) override;
    void exec(int sm, uint16_t instr) override;
    void set_enabled(int sm, bool on) override;
    void clear_fifos(int sm) override;
    bool put(int sm, uint32_t word) override;
    void gpio_function(int gpio, bool pio) override;
    std::string name() const override { return "emulated RP1 PIO"; }

    // Foreign claims (the kernel's pwm-pio overlay, another process): tests of the fallback order.
    void claim_foreign(int sm) { foreign_[sm & 3] = true; }
    void sync_to_now();
    void run_to_cycle(uint64_t cycle);
    void start_pump(int64_t period_ns);
    void stop_pump();
    Block& block() { return block_; }
    std::recursive_mutex& mutex() { return mu_; }
    int64_t cycle_to_ns(uint64_t cycle) const;
    uint64_t forwarded() const { return forwarded_; }

private:
    void on_event(const PinEvent& e);
    void catch_up_l();  // runs the block to now (manual mode: nothing)
    Block block_;
    std::shared_ptr<TableSink> sink_;
    int64_t t0_;
    uint64_t clock_hz_;
    std::recursive_mutex mu_;
    std::array<bool, kSms> claimed_{}, foreign_{};
    int next_origin_ = 0;
    std::array<bool, 32> made_output_{};
    uint64_t forwarded_ = 0;
    bool wall_ = false;
    std::mutex pump_mu_;
    std::condition_variable pump_cv_;
    bool pump_stop_ = false;
    int64_t pump_period_ = 2000000;
    std::thread pump_;
};

// One state machine per pin.
class PioPwm {
public:
    explicit PioPwm(std::shared_ptr<Device> dev);
    ~PioPwm();
    // Starts or updates the pin's waveform. false: no free state machine (nothing changed).
    bool set(int gpio, uint64_t period_ns, uint64_t high_ns);
    void stop(int gpio);  // the pin low, its SM released, the pin back to GPIO
    bool has(int gpio) const;
    int sm_of(int gpio) const;
    std::vector<int> pins() const;
    PwmPlan plan(int gpio) const;
    Device& device() { return *dev_; }

private:
    struct Slot {
        int gpio = -1;
        PwmPlan plan;
    };
    // take_pin: a new slot; the pin is switched to the PIO after the forced SETs, before the SM runs
    void program_sm(int sm, int gpio, const PwmPlan& p, bool take_pin);
    std::shared_ptr<Device> dev_;
    int origin_ = -1;
    std::array<Slot, kSms> slots_{};
};

}  // namespace pio
}  // namespace rpio_pwm
