// The outside world of one simulated board: pins, the wires joining them into nets, parts
// (buttons, LEDs, servos, square-wave generators), the history of level changes and the processes
// watching edges. Its state lives in one segment (board_segment.hpp): a named POSIX shared-memory
// segment that every process attached to the board maps (a shared board), or anonymous memory (a
// private board). Every change happens under the segment's robust process-shared mutex; the levels
// and output latches are also readable without it (the hot path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "rpio/board_segment.hpp"
#include "rpio/types.hpp"

namespace rpio {

constexpr size_t kDefaultHistoryCapacity = 65536;
constexpr unsigned kMaxSimGpios = seg::kMaxGpios;  // the levels are kept in one 64-bit word

struct PinState {
    Function function;
    int latch;   // output latch, 0/1
    Pull pull;   // Unknown on RP1 when PUE and PDE are both set
    int drive;   // outside-world drive: -1 none, 0 or 1
    int level;   // level shown: 0/1 (a floating pin reads 0)
    bool floating;

    bool operator==(const PinState& o) const {
        return function == o.function && latch == o.latch && pull == o.pull && drive == o.drive &&
               level == o.level && floating == o.floating;
    }
    bool operator!=(const PinState& o) const { return !(*this == o); }
};

struct HistoryEntry {
    int64_t t_ns;  // CLOCK_MONOTONIC
    uint32_t gpio;
    uint8_t level;     // the new level
    uint8_t floating;  // the pin floats from then on (so reads 0)
    uint8_t cause;     // seg::CauseKind
    int32_t pid;       // the process that made the change
    std::string part;  // the part's name for CauseKind::Part
};

// "pid 4242 output", "part doorbell", "drive pid 4242", "short", ...
std::string cause_text(const HistoryEntry& e);

int64_t monotonic_ns();

// While one exists, the level changes this thread makes are recorded (history, LED and servo parts,
// edge events) at t_ns instead of now: simulated PWM engines (rpio_pwm's DMA model and PIO
// emulator) write each edge at the time their model says it happened. Nests; 0 means now.
class ScopedEventTime {
public:
    explicit ScopedEventTime(int64_t t_ns);
    ~ScopedEventTime();
    ScopedEventTime(const ScopedEventTime&) = delete;
    ScopedEventTime& operator=(const ScopedEventTime&) = delete;

private:
    int64_t saved_;
};

const char* chip_kind_name(seg::ChipKind k);
seg::ChipKind parse_chip_kind(const std::string& name);  // std::invalid_argument if unknown
unsigned chip_kind_gpios(seg::ChipKind k);

struct PartSpec {
    seg::PartKind kind = seg::PartKind::None;
    std::string name;
    unsigned gpio = 0;
    bool active_low = false;
    double frequency = 0;  // generators
    double duty = 0.5;
};

struct PartInfo {
    uint32_t id;
    seg::PartKind kind;
    std::string name;
    unsigned gpio;
    bool active_low;
    int drive;  // what it drives onto its pin: -1 nothing
    int64_t created_ns;
    bool pressed;  // buttons
    bool on;       // LEDs: lit now
    double frequency, duty;  // generators
    bool running;
    int owner_pid;  // the process whose thread runs the generator, 0 if none
};

struct WireInfo {
    uint32_t id;
    uint64_t mask;
};

struct BoardListing {
    std::string name;
    std::string kind;   // "" when the segment is not a board of this layout
    std::string model;
    std::vector<int> pids;       // live attached processes
    std::vector<int> dead_pids;  // listed, but gone without detaching (the board is stale)
    int64_t created_ns;
    bool compatible;  // same layout version and ABI as this build
    std::string problem;  // why it cannot be used ("" if it can): not this user's file, damaged
};

// Logging: shorts and recoveries are reported through this hook (outside the board lock), once
// each. The default writes one line to stderr; the Python binding routes it to `logging`.
using LogHook = void (*)(int level, const std::string& message);  // level: 30 warning, 20 info
void set_log_hook(LogHook hook);

class PinWorld {
public:
    // A private board in anonymous memory, in the chip's reset state.
    static std::shared_ptr<PinWorld> create_private(seg::ChipKind kind, size_t history_capacity,
                                                    const std::string& model = "");
    // Attach to the shared board `name`, creating it (in the reset state of `kind`) if it does
    // not exist and create is true. kind 0 accepts the board's kind; another kind than the
    // board's is an error. A board whose listed processes all died is reset (logged). One object
    // per board per process: attaching twice returns the same one.
    // Trust: the file must be a regular file owned by this process's effective uid with mode
    // 0600 (else SystemError EACCES naming the file, its owner and mode: another user may have
    // planted it), and every header and state field must fit the layout (else BoardDamaged).
    static std::shared_ptr<PinWorld> open_shared(const std::string& name, uint32_t kind,
                                                 const std::string& model, size_t history_capacity,
                                                 bool create);
    static std::vector<BoardListing> list_shared();
    // Resets the shared board in place if processes are attached; removes it if none is.
    // Returns false if there is no such board.
    // A board whose file is not this user's own (see open_shared) is removed without being read;
    // so is a damaged one.
    static bool reset_shared(const std::string& name);
    // Stops every generator thread of this process and detaches from every board (atexit).
    static void shutdown_all();
    static void validate_board_name(const std::string& name);  // std::invalid_argument
    static std::string segment_path(const std::string& name);  // "/rpio-sim.<uid>.<name>"

    ~PinWorld();
    PinWorld(const PinWorld&) = delete;
    PinWorld& operator=(const PinWorld&) = delete;

    // Holds the board lock. Recovers the board if its last holder died holding it.
    class Guard {
    public:
        explicit Guard(PinWorld& w);
        ~Guard();
        Guard(const Guard&) = delete;
        Guard& operator=(const Guard&) = delete;

    private:
        PinWorld& w_;
    };

    // ---- identity
    seg::ChipKind kind() const { return static_cast<seg::ChipKind>(m_->h.kind); }
    const char* kind_name() const { return m_->h.kind_name; }
    unsigned num_gpios() const { return num_gpios_; }
    bool shared() const { return shared_; }
    const std::string& name() const { return name_; }  // "" for a private board
    std::string model() const;
    std::vector<int> attached_pids();
    uint64_t resets() const { return m_->s.resets; }

    // ---- register side: the chip models call these holding a Guard.
    seg::BcmRegs& bcm() { return m_->s.regs.bcm; }
    seg::Rp1Regs& rp1() { return m_->s.regs.rp1; }
    void set_function_l(unsigned gpio, Function f, bool drives, seg::CauseKind cause);
    void set_latch_l(unsigned gpio, bool v);
    void set_latch_mask_l(unsigned first, uint32_t mask, bool v);
    void set_pull_l(unsigned gpio, Pull p, seg::CauseKind cause = seg::CauseKind::Pull);

    // ---- read without the lock
    int level(unsigned gpio) const { return static_cast<int>((levels() >> gpio) & 1); }
    uint64_t levels() const { return __atomic_load_n(&m_->s.levels, __ATOMIC_ACQUIRE); }
    uint64_t latches() const { return __atomic_load_n(&m_->s.latch, __ATOMIC_ACQUIRE); }

    // ---- outside world (each takes the lock)
    void set_drive(unsigned gpio, int drive);  // -1 releases
    PinState state(unsigned gpio);
    uint64_t shorted();  // pins in a short right now

    // History ring, oldest first. The ring is allocated with the board; its capacity can be set
    // anywhere from 0 to that allocation (std::invalid_argument beyond), which clears it.
    std::vector<HistoryEntry> history();
    void clear_history();
    size_t history_capacity() const { return m_->s.hist_capacity; }
    size_t history_allocation() const { return ring_slots(); }
    void set_history_capacity(size_t capacity);

    // ---- wires: a wire joins two or more pins; joined pins form a net with one level.
    uint32_t add_wire(uint64_t mask);  // std::invalid_argument: fewer than 2 pins, out of range
    void remove_wire(uint32_t id);     // NotFound (std::out_of_range subclass) if unknown
    std::vector<WireInfo> wires();
    uint64_t net_of(unsigned gpio);

    // ---- parts
    uint32_t add_part(const PartSpec& spec);
    void remove_part(const std::string& name);
    std::vector<PartInfo> parts();
    PartInfo part(const std::string& name);
    void button_set(const std::string& name, bool pressed);
    // Pressed (or released) with n bounces spread over ms milliseconds, in real time: the pin
    // makes 2n+1 transitions and the last one is at ms. Blocks the calling thread meanwhile.
    void button_bounce(const std::string& name, bool pressed, unsigned n, double ms);
    void generator_start(const std::string& name);
    void generator_stop(const std::string& name);
    void generator_set(const std::string& name, double frequency, double duty);
    std::vector<std::pair<int64_t, int>> led_history(const std::string& name);
    double led_brightness(const std::string& name, int64_t since_ns);  // since_ns < 0: since attach
    // (t_ns of the pulse's falling edge, pulse width us, degrees) for every pulse that moved the
    // servo: widths 500-2500 us count as servo pulses; 1000-2000 us map to 0-180 degrees (clamped
    // outside), rounded to 0.1; a move of less than 1 degree (its dead band) is not one.
    struct ServoPulse {
        int64_t t_ns;
        double width_us;
        double degrees;
    };
    std::vector<ServoPulse> servo_angles(const std::string& name);

    // ---- edge subscribers (SimEventLine). write_fd is this process's end of the pipe.
    uint32_t subscribe(unsigned gpio, bool rising, bool falling, int read_fd, int write_fd);
    void unsubscribe(uint32_t id);
    std::pair<uint32_t, uint64_t> subscriber_counts(uint32_t id);  // (seqno, dropped)
    // (gpio, pid) of every edge subscription on the board: who holds a pin for edge detection
    std::vector<std::pair<unsigned, int32_t>> edge_holders();

    // ---- lifecycle
    void reset();   // back to the chip's reset state: wires and parts removed, history cleared
    void detach();  // leaves the board: this process's lines and generators go; idempotent

private:
    PinWorld() = default;
    friend class Guard;
    struct LocalFd {
        uint32_t id = 0;
        int fd = -1;
        bool own = false;
    };
    struct Cause {
        seg::CauseKind kind;
        const char* part;  // CauseKind::Part
    };

    void map_new(size_t history_capacity);
    void init_l(seg::ChipKind kind, size_t history_capacity, const std::string& model);
    void lock();
    void unlock();
    void recover_l();
    void attach_l();
    bool attached_self_l() const;
    void reset_state_l();
    void recompute_masks_l();
    void recompute_nets_l();
    void recompute_sources_l();
    void resolve_l(uint64_t mask, const Cause& cause);
    void resolve_net_l(uint64_t net, const Cause& cause);
    void changed_l(unsigned gpio, int level, bool floating, int64_t t, const Cause& cause);
    void append_l(int64_t t, unsigned gpio, int level, bool floating, const Cause& cause);
    void publish_l(unsigned gpio, int level, int64_t t);
    int subscriber_fd_l(unsigned slot);
    void drop_subscriber_l(unsigned slot);
    bool subscriber_trusted_l(unsigned slot, std::string* why);
    void drop_stale_subscribers_l();
    void check_history_l() const;  // BoardDamaged unless the ring's indices fit
    // The ring's slots: the header's history_alloc, but never more than this process mapped
    // (another process could change the field after the board was checked).
    size_t ring_slots() const {
        const size_t mapped = (map_size_ - offsetof(seg::Segment, ring)) / sizeof(seg::HistoryRecord);
        const size_t alloc = __atomic_load_n(&m_->h.history_alloc, __ATOMIC_RELAXED);
        return alloc < mapped ? alloc : mapped;
    }
    [[noreturn]] void damaged(const std::string& what) const;
    std::vector<int> prune_dead_l();
    seg::Part* find_part_l(const std::string& name);
    seg::Part* find_part_id_l(uint32_t id);
    seg::Part& part_l(const std::string& name);
    void stop_generator_l(seg::Part& p);
    void generator_thread(uint32_t part_id, uint64_t run_id);
    void generator_loop(uint32_t part_id, uint64_t run_id);
    void join_generators(uint32_t id);  // 0: every one
    PartInfo info_l(const seg::Part& p);
    std::vector<std::pair<int64_t, int>> led_history_l(const seg::Part& p, int64_t* covered_from);

    seg::Segment* m_ = nullptr;
    size_t map_size_ = 0;
    bool shared_ = false;
    bool detached_ = false;
    std::string name_;
    unsigned num_gpios_ = 0;
    int pid_ = 0;
    uint64_t start_ = 0;
    std::vector<LocalFd> fds_;  // per subscriber slot, used under the board lock
    std::mutex gens_mu_;
    std::map<uint32_t, std::unique_ptr<std::thread>> gens_;  // generator threads of this process, by part id
};

// A shared board whose segment does not fit the layout: "board X is damaged: <what>; `rpio sim
// reset X` removes it". Raised when attaching and wherever a field is used that another process
// may have left out of range.
class BoardDamaged : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What is wrong with a mapped segment's header (constant after creation), or "" when it fits.
// mapped: the bytes mapped; expected_name: the shared name ("" to skip that check).
std::string segment_header_problem(const seg::Segment& m, size_t mapped,
                                   const std::string& expected_name);
// What is wrong with the state (call holding the lock), or "".
std::string segment_state_problem(const seg::Segment& m);

// A part or wire that does not exist (the binding raises KeyError).
class NotFound : public std::out_of_range {
public:
    using std::out_of_range::out_of_range;
};

}  // namespace rpio
