// Software-timed PWM in C++: one thread of its own plays every pin's periodic waveform, with
// absolute deadlines (CLOCK_MONOTONIC), no Python and no GIL in its loop. Python-free.
//
// Scheduling: each edge's due time comes from the pin's origin (lateness never accumulates). The
// thread waits on a condition variable until 1 ms before an edge (so edits wake it), sleeps with
// clock_nanosleep(TIMER_ABSTIME) to `spin` before it, then spins to the edge. The thread's timer
// slack is 1 ns. A pin more than one whole period late skips the missed periods (counted) and goes
// on with the current one, so a frequency the thread cannot keep runs as closely as it can and the
// loop never falls behind for good. Callers never wait for an edge: set_pin/remove_pin/stop take
// the state lock (held only for bookkeeping) and the write lock (held for one pin write).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "rpio_pwm/pin_writer_abi.h"

namespace rpio_pwm {

// Where levels go. write() is called by one thread at a time (the engine's write lock).
class PinSink {
public:
    virtual ~PinSink() = default;
    virtual bool write(int gpio, int level) = 0;  // false: the write failed (the pin is dropped)
    virtual bool make_output(int /*gpio*/) { return true; }  // low, then an output (if the sink can)
};

// rpio_core's pin writer table (the umbrella's driver): retains its own reference.
class TableSink final : public PinSink {
public:
    explicit TableSink(const rpio_pin_writer_v1* table);  // PwmError if the ABI does not match
    ~TableSink() override;
    bool write(int gpio, int level) override;
    bool make_output(int gpio) override;
    const rpio_pin_writer_v1& table() const { return t_; }
    void* ctx() const { return ctx_; }

private:
    rpio_pin_writer_v1 t_{};
    void* ctx_ = nullptr;
};

// GPIO character-device lines (uAPI v2), one line request fd per pin, given by the caller (who
// requested the line). Used when rpio_pwm runs without rpio_core.
class LineFdSink final : public PinSink {
public:
    void set_fd(int gpio, int fd);  // fd < 0 forgets the pin; the caller owns the fd
    bool write(int gpio, int level) override;

private:
    std::mutex mu_;
    std::map<int, int> fds_;
};

// A sink that records (t_ns, gpio, level) in memory: the C++ tests and the Python tests' fake.
class RecordingSink final : public PinSink {
public:
    struct Entry {
        int64_t t_ns;
        int gpio;
        int level;
    };
    bool write(int gpio, int level) override;
    std::vector<Entry> entries();
    void clear();

private:
    std::mutex mu_;
    std::vector<Entry> e_;
};

struct EdgeRecord {
    int64_t due_ns;      // when the schedule wanted it
    int64_t written_ns;  // when the write returned
    int32_t gpio;
    int32_t level;
};

struct SoftEngineStats {
    uint64_t writes = 0;
    uint64_t edges = 0;            // scheduled edges written (not counting set/remove writes)
    uint64_t skipped_periods = 0;  // whole periods dropped because the thread was too late
    int64_t max_late_ns = 0;
    uint64_t write_errors = 0;
};

int64_t monotonic_now_ns();

class SoftEngine {
public:
    // threaded=false: no thread; run_until() emits the due edges (deterministic tests).
    explicit SoftEngine(std::shared_ptr<PinSink> sink, bool threaded = true);
    ~SoftEngine();
    SoftEngine(const SoftEngine&) = delete;
    SoftEngine& operator=(const SoftEngine&) = delete;

    // High during runs (start, end) of every period (0 <= start < end <= period). A pin whose period
    // does not change keeps its phase. The level due now is written before this returns.
    // now_ns < 0: the clock.
    void set_pin(int gpio, int64_t period_ns, const std::vector<std::pair<int64_t, int64_t>>& runs,
                 int64_t now_ns = -1);
    // Stops driving gpio; writes level last (-1: leaves the pin as it is). No write of the old
    // waveform can land after it.
    void remove_pin(int gpio, int level, int64_t now_ns = -1);
    std::vector<int> pins() const;
    void make_output(int gpio);  // PwmError if the sink fails
    bool has_pin(int gpio) const;
    // Stops the thread (pins keep their level). Idempotent; the destructor calls it.
    void stop();

    // Manual mode: writes every edge due at or before t_ns; returns how many.
    size_t run_until(int64_t t_ns);
    std::optional<int64_t> next_event_ns() const;

    SoftEngineStats stats() const;
    // The last `n` scheduled edges with their due and written times (0 turns the log off).
    void set_edge_log(size_t n);
    std::vector<EdgeRecord> edge_log() const;
    void set_spin_ns(int64_t ns) { spin_ns_ = ns < 0 ? 0 : ns; }
    bool threaded() const { return threaded_; }
    // While a write is in progress: the time it was due (the edge's, or now for set/remove writes).
    int64_t due_ns() const { return due_.load(std::memory_order_relaxed); }
    // Edges closer together than this cannot be kept by a thread (written as closely as it can).
    static constexpr int64_t kMinEdgeGapNs = 20000;
    // After a skip (the thread fell a whole period behind) it pauses this long, so an impossible
    // frequency costs a bounded share of a core instead of a spinning thread.
    static constexpr int64_t kBackoffNs = 200000;
    // SCHED_FIFO priority the thread asks for (0: none). Granted only where the process may
    // (root, CAP_SYS_NICE or RLIMIT_RTPRIO); otherwise it runs as a normal thread. It holds the
    // priority only while every pin's period is at least kRealtimeMinPeriodNs: a real-time thread
    // that spins before each edge must never eat a core (a Pi Zero has one) for a fast PWM, which
    // software timing cannot keep anyway; faster pins put the thread back to normal priority.
    void set_realtime_priority(int prio) { rt_prio_ = prio; }
    static constexpr int64_t kRealtimeMinPeriodNs = 500000;  // 2 kHz
    bool realtime() const { return realtime_.load(); }

private:
    struct Pin {
        int gpio = 0;
        int64_t period = 0;
        int64_t origin = 0;
        std::vector<std::pair<int64_t, int>> edges;  // (offset, level), sorted by offset
        int constant = -1;                           // 0/1 when there are no edges
        int level = -1;                              // last written, -1 unknown
        int64_t cursor = 0;                          // edges at or before it are done
        uint64_t gen = 0;
        int level_at(int64_t t) const;
        std::pair<int64_t, int> next_edge(int64_t after) const;  // strictly after
    };
    struct Due {
        int64_t t;
        int gpio;
        int level;
        uint64_t gen;
    };

    std::optional<Due> earliest_l() const;
    bool realtime_wanted_l() const;  // rt_prio_ > 0 and no pin faster than kRealtimeMinPeriodNs
    void apply_priority(bool realtime);
    void loop();
    // Catches up a pin more than a period late; returns the edge to write now (or none).
    bool emit(const Due& d, bool manual);  // called holding write_mu_, not mu_
    void record(const Due& d, int64_t written);

    std::shared_ptr<PinSink> sink_;
    const bool threaded_;
    mutable std::mutex mu_;        // the pins and stats
    std::mutex write_mu_;          // one write at a time; lock order: write_mu_, then mu_
    std::condition_variable cv_;
    std::map<int, Pin> pins_;
    uint64_t next_gen_ = 1;
    bool stopping_ = false;
    bool changed_ = false;
    std::thread thread_;
    SoftEngineStats stats_;
    size_t log_cap_ = 0;
    std::deque<EdgeRecord> log_;
    int64_t spin_ns_ = 30000;
    std::atomic<int64_t> due_{0};
    int rt_prio_ = 0;
    std::atomic<bool> realtime_{false};
    bool backoff_ = false;  // set by emit() after a skip, cleared by the loop
};

}  // namespace rpio_pwm
