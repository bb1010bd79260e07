// The DMA model drives a simulated board: every pin change the model makes (its GPSET/GPCLR
// writes, executed from the control blocks) is written to the board through rpio_core's pin writer
// table, stamped with the model's own time, so the board's history, parts, edge events and page
// show DMA PWM like any other output. Model tick 0 is t0_ns on CLOCK_MONOTONIC.
//
// With a wall clock, a pump thread (its own, no GIL) brings the model up to now every period_ns,
// absolute deadlines; the model's edges are therefore recorded at their exact times and reach the
// board at most one period later. Everything touching the model holds mutex() (Python does too).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "rpio_pwm/model.hpp"
#include "rpio_pwm/soft_engine.hpp"

namespace rpio_pwm {

class ModelBoardLink {
public:
    ModelBoardLink(SimSoc& sim, std::shared_ptr<TableSink> sink, int64_t t0_ns);
    ~ModelBoardLink();
    ModelBoardLink(const ModelBoardLink&) = delete;
    ModelBoardLink& operator=(const ModelBoardLink&) = delete;

    std::recursive_mutex& mutex() { return mu_; }
    int64_t t0_ns() const { return t0_; }
    int64_t ticks_to_ns(uint64_t ticks) const;
    // Wall clock: run the model up to now (skipping gaps longer than catchup_ticks, pins held).
    void sync_to_now(uint64_t catchup_ticks);
    void start_pump(int64_t period_ns, uint64_t catchup_ticks);
    void stop_pump();
    uint64_t forwarded() const { return forwarded_.load(); }
    uint64_t errors() const { return errors_.load(); }

private:
    void on_transition(const Transition& t);
    void pump();

    SimSoc& sim_;
    std::shared_ptr<TableSink> sink_;
    int64_t t0_;
    std::recursive_mutex mu_;
    std::vector<bool> outputs_;  // board pins made outputs
    std::atomic<uint64_t> forwarded_{0}, errors_{0};
    std::mutex pump_mu_;
    std::condition_variable pump_cv_;
    bool pump_stop_ = false;
    int64_t period_ns_ = 2000000;
    uint64_t catchup_ = 0;
    std::thread pump_;
};

}  // namespace rpio_pwm
