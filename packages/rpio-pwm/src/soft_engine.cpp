#include "rpio_pwm/soft_engine.hpp"

#include <linux/gpio.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "rpio_pwm/signal_free_thread.h"
#include "rpio_pwm/soc.hpp"

namespace rpio_pwm {

int64_t monotonic_now_ns() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

namespace {
int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

std::chrono::steady_clock::time_point steady_at(int64_t ns) {
    // libstdc++'s steady_clock is CLOCK_MONOTONIC with the same epoch.
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns));
}
}  // namespace

// ---------------------------------------------------------------- sinks
TableSink::TableSink(const rpio_pin_writer_v1* table) {
    if (!table) throw PwmArgumentError("no pin writer table");
    if (table->abi_version != RPIO_PIN_WRITER_ABI_VERSION || table->struct_size < sizeof(rpio_pin_writer_v1))
        throw PwmError("rpio_core's pin writer has ABI version " + std::to_string(table->abi_version) + " (size " +
                       std::to_string(table->struct_size) + "); this rpio_pwm needs version " +
                       std::to_string(RPIO_PIN_WRITER_ABI_VERSION) + ": install matching rpio-core and rpio-pwm");
    std::memcpy(&t_, table, sizeof t_);
    ctx_ = t_.retain(t_.ctx);
    if (!ctx_) throw std::bad_alloc();
}

TableSink::~TableSink() {
    if (ctx_) t_.release(ctx_);
}

bool TableSink::write(int gpio, int level) { return gpio >= 0 && t_.write(ctx_, static_cast<uint32_t>(gpio), level) == 0; }

bool TableSink::make_output(int gpio) {
    return gpio >= 0 && t_.make_output(ctx_, static_cast<uint32_t>(gpio), 0) == 0;
}

void LineFdSink::set_fd(int gpio, int fd) {
    std::lock_guard<std::mutex> l(mu_);
    if (fd < 0)
        fds_.erase(gpio);
    else
        fds_[gpio] = fd;
}

bool LineFdSink::write(int gpio, int level) {
    int fd;
    {
        std::lock_guard<std::mutex> l(mu_);
        auto it = fds_.find(gpio);
        if (it == fds_.end()) return false;
        fd = it->second;
    }
    gpio_v2_line_values v{};
    v.bits = level ? 1 : 0;
    v.mask = 1;
    return ::ioctl(fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &v) == 0;
}

bool RecordingSink::write(int gpio, int level) {
    std::lock_guard<std::mutex> l(mu_);
    e_.push_back({monotonic_now_ns(), gpio, level});
    return true;
}

std::vector<RecordingSink::Entry> RecordingSink::entries() {
    std::lock_guard<std::mutex> l(mu_);
    return e_;
}

void RecordingSink::clear() {
    std::lock_guard<std::mutex> l(mu_);
    e_.clear();
}

// ---------------------------------------------------------------- pins
int SoftEngine::Pin::level_at(int64_t t) const {
    if (constant >= 0) return constant;
    const int64_t rel = t - origin;
    const int64_t off = rel - floor_div(rel, period) * period;
    auto it = std::upper_bound(edges.begin(), edges.end(), off,
                               [](int64_t v, const std::pair<int64_t, int>& e) { return v < e.first; });
    return it == edges.begin() ? edges.back().second : std::prev(it)->second;
}

std::pair<int64_t, int> SoftEngine::Pin::next_edge(int64_t after) const {
    const int64_t rel = after - origin;
    int64_t k = floor_div(rel, period);
    const int64_t off = rel - k * period;
    auto it = std::upper_bound(edges.begin(), edges.end(), off,
                               [](int64_t v, const std::pair<int64_t, int>& e) { return v < e.first; });
    if (it == edges.end()) {
        ++k;
        it = edges.begin();
    }
    return {origin + k * period + it->first, it->second};
}

// ---------------------------------------------------------------- engine
SoftEngine::SoftEngine(std::shared_ptr<PinSink> sink, bool threaded) : sink_(std::move(sink)), threaded_(threaded) {
    if (!sink_) throw PwmArgumentError("a software PWM engine needs a pin sink");
}

SoftEngine::~SoftEngine() { stop(); }

void SoftEngine::set_pin(int gpio, int64_t period, const std::vector<std::pair<int64_t, int64_t>>& runs,
                         int64_t now_ns) {
    if (gpio < 0 || gpio > 63) throw PwmArgumentError("gpio " + std::to_string(gpio) + " is out of range");
    if (period <= 0) throw PwmArgumentError("the period must be positive");
    for (const auto& r : runs)
        if (!(0 <= r.first && r.first < r.second && r.second <= period))
            throw PwmArgumentError("run (" + std::to_string(r.first) + ", " + std::to_string(r.second) +
                                   ") is outside the period " + std::to_string(period));
    Pin pin;
    pin.gpio = gpio;
    pin.period = period;
    auto high = [&](int64_t t) {
        t = t - floor_div(t, period) * period;
        for (const auto& r : runs)
            if (r.first <= t && t < r.second) return 1;
        return 0;
    };
    std::vector<int64_t> points;
    for (const auto& r : runs) {
        points.push_back(r.first % period);
        points.push_back(r.second % period);
    }
    std::sort(points.begin(), points.end());
    points.erase(std::unique(points.begin(), points.end()), points.end());
    for (int64_t p : points) {
        const int lv = high(p);
        if (lv != high(p - 1)) pin.edges.emplace_back(p, lv);
    }
    if (pin.edges.empty()) pin.constant = high(0);

    std::lock_guard<std::mutex> w(write_mu_);
    bool need = false;
    int lv = 0;
    {
        std::lock_guard<std::mutex> l(mu_);
        const int64_t now = now_ns < 0 ? monotonic_now_ns() : now_ns;
        due_.store(now, std::memory_order_relaxed);
        auto it = pins_.find(gpio);
        const bool keep_phase = it != pins_.end() && it->second.period == period;
        pin.origin = keep_phase ? it->second.origin : now;
        pin.level = it != pins_.end() ? it->second.level : -1;
        pin.cursor = now;
        pin.gen = next_gen_++;
        lv = pin.level_at(now);
        need = pin.level != lv;
        pin.level = lv;
        pins_[gpio] = std::move(pin);
        changed_ = true;
        if (threaded_ && !thread_.joinable()) {
            stopping_ = false;
            thread_ = rpio_threads::signal_free_thread(&SoftEngine::loop, this);
        }
    }
    cv_.notify_all();
    if (need) {
        const bool ok = sink_->write(gpio, lv);
        std::lock_guard<std::mutex> l(mu_);
        ++stats_.writes;
        if (!ok) {
            ++stats_.write_errors;
            pins_.erase(gpio);
            throw PwmError("software PWM: writing GPIO " + std::to_string(gpio) + " failed");
        }
    }
}

void SoftEngine::remove_pin(int gpio, int level, int64_t now_ns) {
    std::lock_guard<std::mutex> w(write_mu_);
    int old = -2;
    {
        std::lock_guard<std::mutex> l(mu_);
        auto it = pins_.find(gpio);
        if (it != pins_.end()) {
            old = it->second.level;
            pins_.erase(it);
            changed_ = true;
        }
    }
    cv_.notify_all();
    if (level >= 0 && old != level) {
        due_.store(now_ns < 0 ? monotonic_now_ns() : now_ns, std::memory_order_relaxed);
        const bool ok = sink_->write(gpio, level);
        std::lock_guard<std::mutex> l(mu_);
        ++stats_.writes;
        if (!ok) ++stats_.write_errors;
    }
}

void SoftEngine::make_output(int gpio) {
    std::lock_guard<std::mutex> w(write_mu_);
    if (!sink_->make_output(gpio)) throw PwmError("software PWM: cannot make GPIO " + std::to_string(gpio) + " an output");
}

std::vector<int> SoftEngine::pins() const {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<int> out;
    for (const auto& kv : pins_) out.push_back(kv.first);
    return out;
}

bool SoftEngine::has_pin(int gpio) const {
    std::lock_guard<std::mutex> l(mu_);
    return pins_.count(gpio) != 0;
}

void SoftEngine::stop() {
    {
        std::lock_guard<std::mutex> l(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = false;
}

std::optional<SoftEngine::Due> SoftEngine::earliest_l() const {
    std::optional<Due> best;
    for (const auto& kv : pins_) {
        const Pin& p = kv.second;
        if (p.constant >= 0) continue;
        auto e = p.next_edge(p.cursor);
        if (!best || e.first < best->t) best = Due{e.first, p.gpio, e.second, p.gen};
    }
    return best;
}

std::optional<int64_t> SoftEngine::next_event_ns() const {
    std::lock_guard<std::mutex> l(mu_);
    auto d = earliest_l();
    if (!d) return std::nullopt;
    return d->t;
}

void SoftEngine::record(const Due& d, int64_t written) {
    ++stats_.edges;
    stats_.max_late_ns = std::max(stats_.max_late_ns, written - d.t);
    if (log_cap_) {
        log_.push_back({d.t, written, d.gpio, d.level});
        while (log_.size() > log_cap_) log_.pop_front();
    }
}

bool SoftEngine::emit(const Due& d, bool manual) {
    int level;
    Due dd = d;
    {
        std::lock_guard<std::mutex> l(mu_);
        auto it = pins_.find(d.gpio);
        if (it == pins_.end() || it->second.gen != d.gen) return false;
        Pin& p = it->second;
        const auto e = p.next_edge(p.cursor);
        if (e.first != d.t) return false;  // the cursor moved meanwhile
        const int64_t now = manual ? d.t : monotonic_now_ns();
        if (now - d.t >= p.period) {
            // More than a whole period late: drop the missed periods and write this same edge (same
            // phase, same level) in the current period, so levels still alternate; then back off.
            const int64_t k = floor_div(now - d.t, p.period);
            stats_.skipped_periods += static_cast<uint64_t>(k);
            dd.t = d.t + k * p.period;
            backoff_ = !manual;
        }
        p.cursor = dd.t;
        if (p.level == dd.level) return false;
        p.level = level = dd.level;
    }
    due_.store(dd.t, std::memory_order_relaxed);
    const bool ok = sink_->write(dd.gpio, level);
    const int64_t written = manual ? d.t : monotonic_now_ns();
    std::lock_guard<std::mutex> l(mu_);
    ++stats_.writes;
    if (!ok) {
        ++stats_.write_errors;
        auto it = pins_.find(d.gpio);
        if (it != pins_.end() && it->second.gen == d.gen) pins_.erase(it);  // a failing pin is dropped
        return false;
    }
    record(dd, written);
    return true;
}

size_t SoftEngine::run_until(int64_t t) {
    size_t n = 0;
    for (;;) {
        std::optional<Due> d;
        {
            std::lock_guard<std::mutex> l(mu_);
            d = earliest_l();
        }
        if (!d || d->t > t) break;
        std::lock_guard<std::mutex> w(write_mu_);
        if (emit(*d, true)) ++n;
    }
    std::lock_guard<std::mutex> l(mu_);
    for (auto& kv : pins_) kv.second.cursor = std::max(kv.second.cursor, t);
    return n;
}

bool SoftEngine::realtime_wanted_l() const {
    if (rt_prio_ <= 0) return false;
    for (const auto& kv : pins_) {
        if (!kv.second.edges.empty() && kv.second.period < kRealtimeMinPeriodNs) return false;
    }
    return true;
}

void SoftEngine::apply_priority(bool realtime) {
    if (realtime == realtime_.load()) return;
    sched_param sp{};
    sp.sched_priority = realtime ? rt_prio_ : 0;
    const bool ok = ::pthread_setschedparam(::pthread_self(), realtime ? SCHED_FIFO : SCHED_OTHER, &sp) == 0;
    realtime_ = realtime ? ok : !ok && realtime_.load();
}

void SoftEngine::loop() {
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    std::unique_lock<std::mutex> lk(mu_);
    apply_priority(realtime_wanted_l());
    while (!stopping_) {
        if (backoff_) {
            backoff_ = false;
            lk.unlock();
            const int64_t until = monotonic_now_ns() + kBackoffNs;
            timespec ts{static_cast<time_t>(until / 1000000000), static_cast<long>(until % 1000000000)};
            while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
            }
            lk.lock();
            continue;
        }
        if (changed_) {  // the pins changed: settle the thread's priority first
            changed_ = false;
            apply_priority(realtime_wanted_l());
        }
        const auto d = earliest_l();
        if (!d) {
            cv_.wait(lk, [&] { return stopping_ || changed_; });
            continue;
        }
        const int64_t now = monotonic_now_ns();
        const int64_t wake = d->t - spin_ns_;
        if (wake - now > 1000000) {  // far away: an interruptible wait to 1 ms before the spin
            changed_ = false;
            cv_.wait_until(lk, steady_at(wake - 1000000), [&] { return stopping_ || changed_; });
            continue;
        }
        lk.unlock();
        if (wake > now) {
            timespec ts{static_cast<time_t>(wake / 1000000000), static_cast<long>(wake % 1000000000)};
            while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
            }
        }
        while (monotonic_now_ns() < d->t) cpu_relax();
        {
            std::lock_guard<std::mutex> w(write_mu_);
            emit(*d, false);
        }
        lk.lock();
    }
}

SoftEngineStats SoftEngine::stats() const {
    std::lock_guard<std::mutex> l(mu_);
    return stats_;
}

void SoftEngine::set_edge_log(size_t n) {
    std::lock_guard<std::mutex> l(mu_);
    log_cap_ = n;
    while (log_.size() > n) log_.pop_front();
}

std::vector<EdgeRecord> SoftEngine::edge_log() const {
    std::lock_guard<std::mutex> l(mu_);
    return std::vector<EdgeRecord>(log_.begin(), log_.end());
}

}  // namespace rpio_pwm
