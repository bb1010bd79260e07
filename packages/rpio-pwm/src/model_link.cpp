#include "rpio_pwm/model_link.hpp"

#include <sys/prctl.h>

#include <chrono>

#include "rpio_pwm/signal_free_thread.h"
#include "rpio_pwm/wide.hpp"

namespace rpio_pwm {

ModelBoardLink::ModelBoardLink(SimSoc& sim, std::shared_ptr<TableSink> sink, int64_t t0_ns)
    : sim_(sim), sink_(std::move(sink)), t0_(t0_ns), outputs_(64, false) {
    if (!sink_) throw PwmArgumentError("a model-board link needs rpio_core's pin writer");
    std::lock_guard<std::recursive_mutex> l(mu_);
    sim_.set_transition_listener([this](const Transition& t) { on_transition(t); });
}

ModelBoardLink::~ModelBoardLink() {
    stop_pump();
    std::lock_guard<std::recursive_mutex> l(mu_);
    sim_.set_transition_listener(nullptr);
}

int64_t ModelBoardLink::ticks_to_ns(uint64_t ticks) const {
    const uint64_t k = SimSoc::kTicksPerUs;
    return t0_ + static_cast<int64_t>((ticks / k) * 1000 + (ticks % k) * 1000 / k);
}

void ModelBoardLink::on_transition(const Transition& t) {
    // Called inside the model's run, holding mu_.
    const rpio_pin_writer_v1& w = sink_->table();
    if (t.gpio >= w.num_gpios || t.gpio >= outputs_.size()) {
        ++errors_;
        return;
    }
    if (!outputs_[t.gpio]) {  // the model made it an output: so does the board (low first)
        if (w.make_output(sink_->ctx(), t.gpio, 0) != 0) {  // low first, as in the model
            ++errors_;
            return;
        }
        outputs_[t.gpio] = true;
    }
    if (w.write_at(sink_->ctx(), t.gpio, t.level, ticks_to_ns(t.t)) != 0)
        ++errors_;
    else
        ++forwarded_;
}

void ModelBoardLink::sync_to_now(uint64_t catchup) {
    std::lock_guard<std::recursive_mutex> l(mu_);
    const int64_t now = monotonic_now_ns();
    if (now <= t0_) return;
    const uint64_t target = mul_div(static_cast<uint64_t>(now - t0_), SimSoc::kTicksPerUs, 1000);
    const uint64_t cur = sim_.now();
    if (target <= cur) return;
    if (catchup && target - cur > catchup) sim_.skip_to(target - catchup);
    sim_.run_until(target);
}

void ModelBoardLink::start_pump(int64_t period_ns, uint64_t catchup_ticks) {
    stop_pump();
    period_ns_ = period_ns > 0 ? period_ns : 2000000;
    catchup_ = catchup_ticks;
    {
        std::lock_guard<std::mutex> l(pump_mu_);
        pump_stop_ = false;
    }
    pump_ = rpio_threads::signal_free_thread(&ModelBoardLink::pump, this);
}

void ModelBoardLink::stop_pump() {
    {
        std::lock_guard<std::mutex> l(pump_mu_);
        pump_stop_ = true;
    }
    pump_cv_.notify_all();
    if (pump_.joinable()) pump_.join();
}

void ModelBoardLink::pump() {
    ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    int64_t next = monotonic_now_ns();
    std::unique_lock<std::mutex> lk(pump_mu_);
    while (!pump_stop_) {
        lk.unlock();
        try {
            sync_to_now(catchup_);
        } catch (...) {
            ++errors_;  // a model fault: the Python side sees it on its next call
        }
        lk.lock();
        next += period_ns_;
        const int64_t now = monotonic_now_ns();
        if (next < now) next = now;  // never a burst of catch-up runs
        pump_cv_.wait_until(lk, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(next)),
                            [&] { return pump_stop_; });
    }
}

}  // namespace rpio_pwm
