#include "rpio/pin_world.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>

#include "rpio/bcm2835.hpp"
#include "rpio/error.hpp"
#include "rpio/rp1.hpp"
#include "rpio/signal_free_thread.h"
#include "rpio/sim_events.hpp"

namespace rpio {

using seg::CauseKind;
using seg::ChipKind;
using seg::PartKind;

// ---------------------------------------------------------------------------------------------
// Process-wide helpers.

namespace {

int g_pid = 0;
std::once_flag g_pid_once;
void refresh_pid() { g_pid = static_cast<int>(::getpid()); }
int current_pid() {
    std::call_once(g_pid_once, [] {
        refresh_pid();
        ::pthread_atfork(nullptr, nullptr, &refresh_pid);
    });
    return g_pid;
}

void default_log(int level, const std::string& message) {
    std::cerr << "rpio-core " << (level >= 30 ? "warning" : "info") << ": " << message << "\n";
}
LogHook g_log = &default_log;

// Messages produced under a board lock, emitted once it is released (a hook may take other
// locks, such as Python's GIL, which must never be waited for while holding the board).
// Generator threads never call the hook (it may wait for the GIL while the thread that holds it
// joins them): their messages wait in a queue that the next other thread to release a board emits.
thread_local std::vector<std::pair<int, std::string>> t_pending;
thread_local bool t_defer_logs = false;
std::mutex g_deferred_mu;
std::vector<std::pair<int, std::string>> g_deferred;
bool g_has_deferred = false;

void log_later(int level, std::string message) { t_pending.emplace_back(level, std::move(message)); }

void flush_logs() {
    if (t_pending.empty() && !__atomic_load_n(&g_has_deferred, __ATOMIC_ACQUIRE)) return;
    std::vector<std::pair<int, std::string>> out;
    {
        std::lock_guard<std::mutex> lk(g_deferred_mu);
        if (t_defer_logs) {
            for (auto& m : t_pending) g_deferred.push_back(std::move(m));
            t_pending.clear();
            __atomic_store_n(&g_has_deferred, true, __ATOMIC_RELEASE);
            return;
        }
        out.swap(g_deferred);
        __atomic_store_n(&g_has_deferred, false, __ATOMIC_RELEASE);
    }
    for (auto& m : t_pending) out.push_back(std::move(m));
    t_pending.clear();
    if (g_log)
        for (auto& m : out) g_log(m.first, m.second);
}

struct ProcInfo {
    uint64_t start = 0;
    char state = 0;
};

// Start time (field 22) and state (field 3) of the process's main thread; zeros if unreadable.
// /proc/PID/task/PID/stat, not /proc/PID/stat: the same fields, but qemu-user (how the Pi wheels
// are tested) synthesizes a process's own /proc/PID/stat with a start time one tick off from
// what every other process reads, so a board would take its own attachment for a reused pid.
ProcInfo proc_info(int pid) {
    ProcInfo info;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, pid);
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return info;
    char buf[1024];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return info;
    buf[n] = 0;
    const char* p = std::strrchr(buf, ')');
    if (!p || p[1] != ' ') return info;
    p += 2;
    info.state = *p;
    for (int field = 3; field < 22 && p; ++field) {
        p = std::strchr(p, ' ');
        if (p) ++p;
    }
    if (p) info.start = std::strtoull(p, nullptr, 10);
    return info;
}

bool process_alive(int pid, uint64_t start) {
    if (pid <= 0) return false;
    if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
    const ProcInfo info = proc_info(pid);
    if (info.state == 'Z' || info.state == 'X') return false;  // exited, not yet reaped
    if (start && info.start && info.start != start) return false;  // the pid was reused
    return true;
}

long futex(uint32_t* addr, int op, uint32_t val, const timespec* ts) {
    // Not FUTEX_PRIVATE_FLAG: the word is in memory shared between processes.
    return ::syscall(SYS_futex, addr, op, val, ts, nullptr, FUTEX_BITSET_MATCH_ANY);
}
void futex_wake_all(uint32_t* addr) { futex(addr, FUTEX_WAKE, INT_MAX, nullptr); }
// Waits while *addr == val, until the CLOCK_MONOTONIC deadline (or forever if deadline < 0).
void futex_wait_until(uint32_t* addr, uint32_t val, int64_t deadline) {
    timespec ts{};
    if (deadline >= 0) {
        ts.tv_sec = deadline / 1000000000;
        ts.tv_nsec = deadline % 1000000000;
    }
    futex(addr, FUTEX_WAIT_BITSET, val, deadline >= 0 ? &ts : nullptr);
}

void sleep_until(int64_t deadline) {
    timespec ts{deadline / 1000000000, static_cast<long>(deadline % 1000000000)};
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

// Masked: a pin number read from a damaged segment can never shift past the word.
inline uint64_t bit(unsigned gpio) { return uint64_t{1} << (gpio & 63); }
inline unsigned ctz(uint64_t v) { return static_cast<unsigned>(__builtin_ctzll(v)); }
uint64_t all_pins(unsigned n) { return n >= 64 ? ~uint64_t{0} : bit(n) - 1; }

void copy_name(char* dst, size_t len, const std::string& src) {
    std::memset(dst, 0, len);
    std::memcpy(dst, src.data(), std::min(src.size(), len - 1));
}

const char* part_kind_name(uint8_t k) {
    switch (static_cast<PartKind>(k)) {
        case PartKind::Button: return "button";
        case PartKind::Led: return "led";
        case PartKind::Servo: return "servo";
        case PartKind::Generator: return "generator";
        default: return "?";
    }
}

std::string pin_list(uint64_t mask) {
    std::string out;
    for (; mask; mask &= mask - 1) {
        if (!out.empty()) out += ", ";
        out += std::to_string(ctz(mask));
    }
    return out;
}

// Registry of this process's boards: one object per shared board, and every board for atexit.
std::mutex g_reg_mu;
std::map<std::string, std::weak_ptr<PinWorld>> g_shared;
std::vector<std::weak_ptr<PinWorld>> g_all;

constexpr size_t kMaxHistory = size_t{1} << 26;
constexpr int kLockWaitSeconds = 10;  // a lock held longer is stuck or damaged

std::string board_label(const std::string& name) {
    return name.empty() ? std::string("the private simulated board") : "board '" + name + "'";
}

std::string damaged_text(const std::string& name, const std::string& what) {
    return board_label(name) + " is damaged: " + what +
           (name.empty() ? std::string("") : "; `rpio sim reset " + name + "` removes it");
}

// Where a shared board's segment lives: shm_open names are files in /dev/shm.
std::string shm_file(const std::string& shm_path) { return "/dev/shm" + shm_path; }

std::string uid_text(uid_t uid) {
    passwd pw{};
    passwd* found = nullptr;
    char buf[1024];
    const std::string number = "uid " + std::to_string(uid);
    if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found)
        return std::string(found->pw_name) + " (" + number + ")";
    return number;
}

std::string mode_text(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

// Why a board file may not be trusted, or "": only a regular file of this user (effective uid)
// with mode 0600 and a single name is one. Anything else may have been planted by another user.
std::string file_problem(const struct stat& st) {
    if (!S_ISREG(st.st_mode))
        return std::string("it is ") +
               (S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a directory"
                                                : S_ISLNK(st.st_mode) ? "a symbolic link"
                                                                      : "not a regular file") +
               " owned by " + uid_text(st.st_uid);
    if (st.st_uid != ::geteuid() || (st.st_mode & 07777) != 0600)
        return "it is owned by " + uid_text(st.st_uid) + " with mode " + mode_text(st.st_mode);
    if (st.st_nlink != 1) return "it has " + std::to_string(st.st_nlink) + " names (hard links)";
    return "";
}

[[noreturn]] void refuse_file(const std::string& name, const std::string& file,
                              const std::string& problem) {
    throw SystemError(EACCES, file,
                      "shared board '" + name + "' refused: " + problem +
                          "; RPIO attaches only to a regular file owned by its own user, " +
                          uid_text(::geteuid()) +
                          ", with mode 0600, as another user may have planted this one. Remove "
                          "it with `rpio sim reset " + name + "` (or `rm " + file +
                          "`, as root if another user owns it)");
}

// Opens a board file without following a symbolic link or blocking on a FIFO, and checks that
// it can be trusted (file_problem). Returns the fd; -1 if there is no such file (errno ENOENT);
// -2 if it may not be trusted (*problem says why; nothing was read from it).
int open_board_file(const std::string& file, int flags, struct stat* st, std::string* problem) {
    const int fd = ::open(file.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP) {
            *problem = "it is a symbolic link";
            return -2;
        }
        if (errno == ENOENT) return -1;
        throw SystemError(errno, file, "open");
    }
    if (::fstat(fd, st) != 0) {
        const int e = errno;
        ::close(fd);
        throw SystemError(e, file, "fstat");
    }
    *problem = file_problem(*st);
    if (!problem->empty()) {
        ::close(fd);
        return -2;
    }
    return fd;
}

// Removes a board file (never reading it). ENOENT is fine: someone removed it meanwhile.
void remove_board_file(const std::string& file, const struct stat* st) {
    if (::unlink(file.c_str()) == 0 || errno == ENOENT) return;
    const int e = errno;
    throw SystemError(e, file,
                      "remove" + (st ? " (owned by " + uid_text(st->st_uid) +
                                           ": only root or that user can remove it)"
                                     : std::string("")));
}

void init_board_mutex(pthread_mutex_t* m) {
    pthread_mutexattr_t attr;
    ::pthread_mutexattr_init(&attr);
    ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    ::pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    const int r = ::pthread_mutex_init(m, &attr);
    ::pthread_mutexattr_destroy(&attr);
    if (r != 0) throw SystemError(r, "", "pthread_mutex_init");
}

// "/proc/PID/status" Uid: real and effective uid; false if unreadable.
bool proc_uids(int pid, uid_t* real, uid_t* effective) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/status", pid);
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return false;
    buf[n] = 0;
    const char* p = std::strstr(buf, "\nUid:");
    unsigned long r = 0, e = 0;
    if (!p || std::sscanf(p + 5, "%lu %lu", &r, &e) != 2) return false;
    *real = static_cast<uid_t>(r);
    *effective = static_cast<uid_t>(e);
    return true;
}

bool part_name_ok(const char* name) {
    const size_t n = strnlen(name, seg::kNameLen);
    if (n == 0 || n == seg::kNameLen) return false;
    for (size_t i = 0; i < n; ++i) {
        const unsigned char c = static_cast<unsigned char>(name[i]);
        if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.')) return false;
    }
    return true;
}

std::string part_name(const seg::Part& p) { return std::string(p.name, strnlen(p.name, sizeof p.name)); }

void register_world(const std::shared_ptr<PinWorld>& w) {
    std::lock_guard<std::mutex> lk(g_reg_mu);
    g_all.erase(std::remove_if(g_all.begin(), g_all.end(),
                               [](const std::weak_ptr<PinWorld>& p) { return p.expired(); }),
                g_all.end());
    g_all.push_back(w);
    if (w->shared()) g_shared[w->name()] = w;
}

}  // namespace

int64_t monotonic_ns() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

namespace {
thread_local int64_t t_event_time = 0;  // ScopedEventTime: 0 = the clock
}

ScopedEventTime::ScopedEventTime(int64_t t_ns) : saved_(t_event_time) { t_event_time = t_ns; }
ScopedEventTime::~ScopedEventTime() { t_event_time = saved_; }

void set_log_hook(LogHook hook) { g_log = hook ? hook : &default_log; }

const char* chip_kind_name(ChipKind k) {
    switch (k) {
        case ChipKind::Bcm2835: return "bcm2835";
        case ChipKind::Bcm2836: return "bcm2836";
        case ChipKind::Bcm2837: return "bcm2837";
        case ChipKind::Bcm2711: return "bcm2711";
        case ChipKind::Rp1: return "rp1";
    }
    return "?";
}

ChipKind parse_chip_kind(const std::string& name) {
    for (uint32_t k = 1; k <= 5; ++k)
        if (name == chip_kind_name(static_cast<ChipKind>(k))) return static_cast<ChipKind>(k);
    throw std::invalid_argument("unknown chip kind '" + name +
                                "'; expected one of bcm2835, bcm2836, bcm2837, bcm2711, rp1");
}

unsigned chip_kind_gpios(ChipKind k) {
    return k == ChipKind::Bcm2711 ? 58 : k == ChipKind::Rp1 ? rp1::kNumGpios : 54;
}

// ---------------------------------------------------------------------------------------------
// Validating a segment against the layout: every field a process uses as a size, an index, a
// count or an enum is checked before the board is used (a damaged board gives one error, never a
// signal).

std::string segment_header_problem(const seg::Segment& m, size_t mapped,
                                   const std::string& expected_name) {
    const seg::Header& h = m.h;
    const auto num = [](uint64_t v) { return std::to_string(v); };
    if (h.history_alloc > kMaxHistory)
        return "history_alloc " + num(h.history_alloc) + " is more than " + num(kMaxHistory);
    if (h.total_size != seg::segment_size(h.history_alloc) || h.total_size > mapped)
        return "total_size " + num(h.total_size) + " does not match history_alloc " +
               num(h.history_alloc) + " (" + num(seg::segment_size(h.history_alloc)) +
               " bytes) and the file's " + num(mapped) + " bytes";
    if (h.ready != 1) return "ready is " + num(h.ready) + ", not 1";
    if (h.kind < 1 || h.kind > 5) return "kind " + num(h.kind) + " is not a chip";
    const ChipKind kind = static_cast<ChipKind>(h.kind);
    if (h.num_gpios != chip_kind_gpios(kind))
        return "num_gpios " + num(h.num_gpios) + " is not the " + chip_kind_name(kind) + "'s " +
               num(chip_kind_gpios(kind));
    if (strnlen(h.kind_name, sizeof h.kind_name) == sizeof h.kind_name ||
        std::strcmp(h.kind_name, chip_kind_name(kind)) != 0)
        return "kind_name does not name its kind, " + std::string(chip_kind_name(kind));
    if (strnlen(h.model, sizeof h.model) == sizeof h.model) return "model is not terminated";
    if (strnlen(h.name, sizeof h.name) == sizeof h.name) return "name is not terminated";
    if (!expected_name.empty() && expected_name != h.name)
        return "its name field is not '" + expected_name + "'";
    for (const seg::Attached& a : h.attached)
        if (a.pid < 0) return "an attached process has pid " + std::to_string(a.pid);
#if defined(__GLIBC__)
    // The lock: the mutex kind this build makes (robust, process-shared, error-checking), and an
    // owner that exists (a dead owner's robust list hands the lock on; a made-up one never).
    pthread_mutex_t ref;
    init_board_mutex(&ref);
    const int want_kind = ref.__data.__kind;
    ::pthread_mutex_destroy(&ref);
    if (h.lock.__data.__kind != want_kind)
        return "its lock is not the robust shared mutex this build makes (kind " +
               std::to_string(h.lock.__data.__kind) + ", not " + std::to_string(want_kind) + ")";
    const int word = __atomic_load_n(&h.lock.__data.__lock, __ATOMIC_ACQUIRE);
    const int tid = word & FUTEX_TID_MASK;
    if (tid && ::kill(tid, 0) != 0 && errno == ESRCH &&
        __atomic_load_n(&h.lock.__data.__lock, __ATOMIC_ACQUIRE) == word)
        return "its lock is held by thread " + std::to_string(tid) + ", which does not exist";
#endif
    return "";
}

std::string segment_state_problem(const seg::Segment& m) {
    const seg::Header& h = m.h;
    const seg::State& s = m.s;
    const auto num = [](uint64_t v) { return std::to_string(v); };
    const unsigned n = h.num_gpios;
    const uint64_t all = all_pins(n);
    if (s.hist_capacity > h.history_alloc)
        return "hist_capacity " + num(s.hist_capacity) + " is more than history_alloc " +
               num(h.history_alloc);
    if (s.hist_capacity ? s.hist_head >= s.hist_capacity : s.hist_head != 0)
        return "hist_head " + num(s.hist_head) + " is outside the history (" + num(s.hist_capacity) +
               " slots)";
    if (s.hist_count > s.hist_capacity)
        return "hist_count " + num(s.hist_count) + " is more than hist_capacity " + num(s.hist_capacity);
    for (unsigned g = 0; g < seg::kMaxGpios; ++g) {
        const seg::Pin& p = s.pins[g];
        if (p.function < 0 || p.function > static_cast<int8_t>(Function::None))
            return "pin " + num(g) + " has function " + std::to_string(p.function);
        if (p.pull < static_cast<int8_t>(Pull::Unknown) || p.pull > static_cast<int8_t>(Pull::Up))
            return "pin " + num(g) + " has pull " + std::to_string(p.pull);
        if (p.drive < -1 || p.drive > 1) return "pin " + num(g) + " has drive " + std::to_string(p.drive);
    }
    const std::pair<const char*, uint64_t> masks[] = {
        {"levels", s.levels},   {"floating", s.floating}, {"latch", s.latch},
        {"drives", s.drives},   {"pull_up", s.pull_up},   {"pull_down", s.pull_down},
        {"src_hi", s.src_hi},   {"src_lo", s.src_lo},     {"watched", s.watched},
        {"part_pins", s.part_pins}, {"shorted", s.shorted}};
    for (const auto& mk : masks)
        if (mk.second & ~all) return std::string(mk.first) + " has bits past gpio " + num(n - 1);
    uint64_t net[seg::kMaxGpios];
    for (unsigned g = 0; g < seg::kMaxGpios; ++g) net[g] = bit(g);
    for (unsigned i = 0; i < seg::kMaxWires; ++i) {
        const seg::Wire& w = s.wires[i];
        if (!w.id) continue;
        if ((w.mask & ~all) || __builtin_popcountll(w.mask) < 2)
            return "wire " + num(w.id) + " joins pins " + pin_list(w.mask);
        uint64_t u = 0;
        for (uint64_t mm = w.mask; mm; mm &= mm - 1) u |= net[ctz(mm)];
        for (uint64_t mm = u; mm; mm &= mm - 1) net[ctz(mm)] = u;
    }
    for (unsigned g = 0; g < seg::kMaxGpios; ++g)
        if (s.net[g] != net[g]) return "the net of pin " + num(g) + " does not match the wires";
    for (const seg::Part& p : s.parts) {
        if (!p.id) continue;
        const std::string which = "part " + num(p.id);
        if (p.kind < 1 || p.kind > 4) return which + " has kind " + num(p.kind);
        if (p.gpio >= n) return which + " is on gpio " + num(p.gpio);
        if (!part_name_ok(p.name)) return which + " has no valid name";
        if (p.drive < -1 || p.drive > 1) return which + " drives " + std::to_string(p.drive);
        if (p.active_low > 1 || p.pressed > 1 || p.level_at_attach > 1 || p.last_level > 1 ||
            p.running > 1)
            return which + " has a flag that is not 0 or 1";
        if (p.kind == static_cast<uint8_t>(PartKind::Generator) &&
            !(p.frequency > 0 && p.frequency <= 20000 && p.duty >= 0 && p.duty <= 1))
            return which + " has frequency " + std::to_string(p.frequency) + " and duty " +
                   std::to_string(p.duty);
    }
    for (const seg::Subscriber& sb : s.subs) {
        if (!sb.id) continue;
        const std::string which = "event line " + num(sb.id);
        if (sb.gpio >= n) return which + " watches gpio " + num(sb.gpio);
        if (sb.pid <= 0 || sb.read_fd < 0) return which + " has pid " + std::to_string(sb.pid) +
                                                   " and fd " + std::to_string(sb.read_fd);
        if (sb.rising > 1 || sb.falling > 1) return which + " has a flag that is not 0 or 1";
    }
    if (static_cast<ChipKind>(h.kind) == ChipKind::Rp1) {
        const seg::Rp1Regs& r = s.regs.rp1;
        if (r.ie & ~all) return "the pads' IE bits go past gpio " + num(n - 1);
        for (unsigned b = 0; b < 3; ++b)
            if (r.voltage[b] > 1) return "bank " + num(b) + " has voltage select " + num(r.voltage[b]);
    } else if (s.regs.bcm.pud > 3) {
        return "GPPUD holds " + num(s.regs.bcm.pud);
    }
    return "";
}

std::string cause_text(const HistoryEntry& e) {
    const std::string pid = std::to_string(e.pid);
    switch (static_cast<CauseKind>(e.cause)) {
        case CauseKind::Output: return "pid " + pid + " output";
        case CauseKind::Function: return "pid " + pid + " function";
        case CauseKind::Pull: return "pid " + pid + " pull";
        case CauseKind::Pad: return "pid " + pid + " pad";
        case CauseKind::Drive: return "drive pid " + pid;
        case CauseKind::Part: return "part " + e.part;
        case CauseKind::Wire: return "wire pid " + pid;
        case CauseKind::Short: return "short";
        case CauseKind::Reset: return "reset pid " + pid;
        case CauseKind::Recovery: return "recovery";
        default: return "";
    }
}

// ---------------------------------------------------------------------------------------------
// Creation, attaching, the lock.

void PinWorld::validate_board_name(const std::string& name) {
    if (name.empty() || name.size() >= seg::kBoardNameLen)
        throw std::invalid_argument("a board name has 1 to 63 characters");
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
            throw std::invalid_argument("board name '" + name +
                                        "': use letters, digits, '_', '-' and '.' only");
    if (name[0] == '.') throw std::invalid_argument("a board name may not start with '.'");
}

std::string PinWorld::segment_path(const std::string& name) {
    return "/rpio-sim." + std::to_string(::getuid()) + "." + name;
}

void PinWorld::map_new(size_t history_capacity) {
    map_size_ = seg::segment_size(history_capacity);
    void* p = ::mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw SystemError(errno, "", "mmap");
    m_ = static_cast<seg::Segment*>(p);
}

void PinWorld::init_l(ChipKind kind, size_t history_capacity, const std::string& model) {
    seg::Header& h = m_->h;
    h.layout_version = seg::kLayoutVersion;
    h.abi = seg::kAbi;
    h.total_size = map_size_;
    h.kind = static_cast<uint32_t>(kind);
    h.num_gpios = chip_kind_gpios(kind);
    h.history_alloc = static_cast<uint32_t>(history_capacity);
    h.creator_pid = current_pid();
    h.created_ns = monotonic_ns();
    copy_name(h.kind_name, sizeof h.kind_name, chip_kind_name(kind));
    copy_name(h.model, sizeof h.model, model);
    copy_name(h.name, sizeof h.name, name_);
    init_board_mutex(&h.lock);
    num_gpios_ = h.num_gpios;
    m_->s.hist_capacity = history_capacity;
    reset_state_l();
    m_->s.hist_total = 0;
    __atomic_store_n(&h.ready, 1u, __ATOMIC_RELEASE);
    __atomic_store_n(&h.magic, seg::kMagic, __ATOMIC_RELEASE);
}

std::shared_ptr<PinWorld> PinWorld::create_private(ChipKind kind, size_t history_capacity,
                                                   const std::string& model) {
    if (history_capacity > (size_t{1} << 26))
        throw std::invalid_argument("history_capacity is at most 67108864");
    std::shared_ptr<PinWorld> w(new PinWorld());
    w->pid_ = current_pid();
    w->start_ = proc_info(w->pid_).start;
    w->map_new(history_capacity);
    w->init_l(kind, history_capacity, model);
    w->fds_.resize(seg::kMaxSubscribers);
    seg::Attached& a = w->m_->h.attached[0];
    a.pid = w->pid_;
    a.refs = 1;
    a.start = w->start_;
    register_world(w);
    return w;
}

namespace {

// Maps an open shm fd once its creator has finished; returns nullptr (with why) when the
// segment is not a usable board. Waits up to 3 s for a creator that is still initialising.
seg::Segment* map_ready(int fd, const std::string& name, size_t* size, std::string* why,
                        int* creator, bool* damaged) {
    *damaged = false;
    const int64_t deadline = monotonic_ns() + 3000000000LL;
    *creator = 0;
    for (;;) {
        struct stat st;
        if (::fstat(fd, &st) != 0) throw SystemError(errno, name, "fstat");
        if (static_cast<size_t>(st.st_size) >= sizeof(seg::Header)) {
            void* p = ::mmap(nullptr, sizeof(seg::Header), PROT_READ, MAP_SHARED, fd, 0);
            if (p == MAP_FAILED) throw SystemError(errno, name, "mmap");
            const seg::Header* h = static_cast<const seg::Header*>(p);
            *creator = h->creator_pid;
            const uint64_t magic = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);
            const uint32_t version = h->layout_version, abi = h->abi;
            const uint64_t total = h->total_size;
            const uint32_t history_alloc = h->history_alloc;
            ::munmap(p, sizeof(seg::Header));
            if (magic == seg::kMagic) {
                if (version != seg::kLayoutVersion || abi != seg::kAbi) {
                    *why = "it was made by an incompatible build of RPIO (layout " +
                           std::to_string(version) + ", this build uses " +
                           std::to_string(seg::kLayoutVersion) + ")";
                    return nullptr;
                }
                if (total != seg::segment_size(history_alloc) || history_alloc > kMaxHistory ||
                    static_cast<uint64_t>(st.st_size) < total) {
                    *why = "total_size " + std::to_string(total) + " does not match history_alloc " +
                           std::to_string(history_alloc) + " and the file's " +
                           std::to_string(st.st_size) + " bytes";
                    *damaged = true;
                    return nullptr;
                }
                void* full = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                if (full == MAP_FAILED) throw SystemError(errno, name, "mmap");
                *size = total;
                return static_cast<seg::Segment*>(full);
            }
            if (magic != 0) {
                *why = "it is not an RPIO board (magic " + std::to_string(magic) + ")";
                *damaged = true;
                return nullptr;
            }
        }
        if (monotonic_ns() > deadline) {
            *why = "its creator (pid " + std::to_string(*creator) + ") never finished making it";
            return nullptr;
        }
        ::usleep(1000);
    }
}

}  // namespace

std::shared_ptr<PinWorld> PinWorld::open_shared(const std::string& name, uint32_t kind,
                                                const std::string& model, size_t history_capacity,
                                                bool create) {
    validate_board_name(name);
    if (kind > 5) throw std::invalid_argument("invalid chip kind");
    if (history_capacity > (size_t{1} << 26))
        throw std::invalid_argument("history_capacity is at most 67108864");
    std::shared_ptr<PinWorld> w;
    {
        std::lock_guard<std::mutex> lk(g_reg_mu);
        auto it = g_shared.find(name);
        if (it != g_shared.end()) w = it->second.lock();
    }
    if (!w) {
        w.reset(new PinWorld());
        w->pid_ = current_pid();
        w->start_ = proc_info(w->pid_).start;
        w->shared_ = true;
        w->name_ = name;
        w->detached_ = true;  // until attach_l: a failed attach leaves the board alone
        const std::string path = segment_path(name);
        const std::string file = shm_file(path);
        bool made = false;
        for (int attempt = 0; attempt < 3 && !w->m_; ++attempt) {
            if (create && kind != 0) {
                // Made here: this user's own, mode 0600 whatever the umask.
                const int fd = ::open(file.c_str(),
                                      O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd >= 0) {
                    const size_t size = seg::segment_size(history_capacity);
                    if (::fchmod(fd, 0600) != 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) {
                        const int e = errno;
                        ::close(fd);
                        ::unlink(file.c_str());
                        throw SystemError(e, file, "fchmod/ftruncate");
                    }
                    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                    const int e = errno;
                    ::close(fd);
                    if (p == MAP_FAILED) {
                        ::unlink(file.c_str());
                        throw SystemError(e, file, "mmap");
                    }
                    w->m_ = static_cast<seg::Segment*>(p);
                    w->map_size_ = size;
                    // The header's creator pid first, so that a waiter can tell a dead creator.
                    w->m_->h.creator_pid = w->pid_;
                    w->init_l(static_cast<ChipKind>(kind), history_capacity, model);
                    made = true;
                    break;
                }
                if (errno != EEXIST) throw SystemError(errno, file, "open");
            }
            struct stat st;
            std::string problem;
            const int fd = open_board_file(file, O_RDWR, &st, &problem);
            if (fd == -2) refuse_file(name, file, problem);
            if (fd < 0) {
                if (create && kind != 0) continue;  // removed meanwhile: make it
                throw NotFound("no shared board named '" + name + "'" +
                               (create ? " (name a chip kind to make one)" : ""));
            }
            std::string why;
            int creator = 0;
            size_t size = 0;
            bool damaged = false;
            seg::Segment* s = nullptr;
            try {
                s = map_ready(fd, file, &size, &why, &creator, &damaged);
            } catch (...) {
                ::close(fd);
                throw;
            }
            ::close(fd);
            if (s) {
                w->m_ = s;
                w->map_size_ = size;
                why = segment_header_problem(*s, size, name);
                if (!why.empty()) throw BoardDamaged(damaged_text(name, why));  // ~PinWorld unmaps
                break;
            }
            if (damaged) throw BoardDamaged(damaged_text(name, why));
            // Not usable. A half-made board whose creator died is removed and made again;
            // anything else is the user's to remove.
            const bool half_made = why.rfind("its creator", 0) == 0;
            if (half_made && !process_alive(creator, 0) && create && kind != 0) {
                ::unlink(file.c_str());
                log_later(30, "shared board '" + name + "' was left half-made by pid " +
                                  std::to_string(creator) + "; made again");
                flush_logs();
                continue;
            }
            throw std::runtime_error("shared board '" + name + "' cannot be used: " + why +
                                     ". `rpio sim reset " + name + "` removes it.");
        }
        if (!w->m_) throw std::runtime_error("shared board '" + name + "' could not be opened");
        w->num_gpios_ = w->m_->h.num_gpios;
        w->fds_.resize(seg::kMaxSubscribers);
        (void)made;
    }
    if (kind != 0 && kind != w->m_->h.kind)
        throw std::invalid_argument("shared board '" + name + "' is a simulated " +
                                    w->m_->h.kind_name + ", not a " +
                                    chip_kind_name(static_cast<ChipKind>(kind)));
    {
        Guard g(*w);
        const std::string problem = segment_state_problem(*w->m_);
        if (!problem.empty()) w->damaged(problem);
        w->attach_l();
    }
    register_world(w);
    return w;
}

bool PinWorld::attached_self_l() const {
    for (const seg::Attached& a : m_->h.attached)
        if (a.pid == pid_ && a.start == start_ && a.refs) return true;
    return false;
}

void PinWorld::attach_l() {
    detached_ = false;
    if (attached_self_l()) return;
    if (shared_) {
        const std::vector<int> dead = prune_dead_l();
        bool live = false;
        for (const seg::Attached& a : m_->h.attached) live = live || a.pid != 0;
        if (!dead.empty() && !live) {
            std::string pids;
            for (int p : dead) pids += (pids.empty() ? "" : ", ") + std::to_string(p);
            log_later(30, "shared board '" + name_ + "' was left by process(es) " + pids +
                              " that ended without detaching: it starts again from reset");
            reset_state_l();
            ++m_->s.resets;
        }
    }
    for (seg::Attached& a : m_->h.attached) {
        if (a.pid == 0) {
            a.pid = pid_;
            a.refs = 1;
            a.start = start_;
            return;
        }
    }
    throw std::runtime_error("shared board '" + name_ + "' has " +
                             std::to_string(seg::kMaxAttached) + " processes attached already");
}

PinWorld::~PinWorld() {
    if (!m_) return;
    try {
        detach();
        // Generators this object started after a detach() still run: stop them before unmapping.
        std::vector<uint32_t> ids;
        {
            std::lock_guard<std::mutex> lk(gens_mu_);
            for (const auto& kv : gens_) ids.push_back(kv.first);
        }
        if (!ids.empty()) {
            {
                Guard g(*this);
                for (uint32_t id : ids) {
                    seg::Part* p = find_part_id_l(id);
                    if (p && __atomic_load_n(&p->running, __ATOMIC_ACQUIRE) && p->owner_pid == pid_)
                        stop_generator_l(*p);
                }
            }
            join_generators(0);
        }
    } catch (...) {
    }
    for (LocalFd& l : fds_)
        if (l.fd >= 0 && !l.own) ::close(l.fd);
    ::munmap(m_, map_size_);
}

void PinWorld::lock() {
    int r = ::pthread_mutex_trylock(&m_->h.lock);
    if (r == EBUSY) {
        // Held: wait, but not forever. Holders keep it for microseconds; one that keeps it for
        // seconds is stuck, or the lock word is damaged.
        timespec deadline;
        ::clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += kLockWaitSeconds;
        r = ::pthread_mutex_clocklock(&m_->h.lock, CLOCK_MONOTONIC, &deadline);
    }
    if (r == 0) return;
    if (r == EOWNERDEAD) {
        try {
            recover_l();
        } catch (...) {
            ::pthread_mutex_consistent(&m_->h.lock);
            ::pthread_mutex_unlock(&m_->h.lock);
            throw;
        }
        ::pthread_mutex_consistent(&m_->h.lock);
        return;
    }
    if (r == ETIMEDOUT)
        damaged("its lock has been held for " + std::to_string(kLockWaitSeconds) +
                " s (a process holding it is stuck, or the lock is damaged)");
    damaged(std::string("its lock cannot be taken (") + std::strerror(r) + ")");
}

void PinWorld::damaged(const std::string& what) const { throw BoardDamaged(damaged_text(name_, what)); }

void PinWorld::check_history_l() const {
    const seg::State& s = m_->s;
    const uint64_t cap = s.hist_capacity;
    if (cap > ring_slots() || (cap ? s.hist_head >= cap : s.hist_head != 0) ||
        s.hist_count > cap)
        damaged("hist_capacity " + std::to_string(cap) + ", hist_head " + std::to_string(s.hist_head) +
                " and hist_count " + std::to_string(s.hist_count) + " do not fit a history of " +
                std::to_string(ring_slots()) + " slots");
}

void PinWorld::unlock() { ::pthread_mutex_unlock(&m_->h.lock); }

PinWorld::Guard::Guard(PinWorld& w) : w_(w) {
    w.lock();
    if (w.pid_ != current_pid()) {
        // A forked child: it is a process of its own on the board. The generator threads of
        // the parent do not exist here; their std::thread objects must not be joined.
        try {
            w.pid_ = current_pid();
            w.start_ = proc_info(w.pid_).start;
            {
                std::lock_guard<std::mutex> lk(w.gens_mu_);
                for (auto& kv : w.gens_) kv.second.release();
                w.gens_.clear();
            }
            if (!w.detached_ && w.shared_) w.attach_l();
        } catch (...) {
            w.unlock();
            throw;
        }
    }
}

PinWorld::Guard::~Guard() {
    w_.unlock();
    flush_logs();
}

void PinWorld::recover_l() {
    seg::State& s = m_->s;
    log_later(30, std::string("simulated board") + (shared_ ? " '" + name_ + "'" : "") +
                      ": a process died holding its lock; its state was checked and rebuilt");
    if (s.hist_capacity > ring_slots()) s.hist_capacity = ring_slots();
    if (s.hist_capacity == 0 || s.hist_head >= s.hist_capacity) s.hist_head = 0;
    for (seg::Subscriber& sb : s.subs)
        if (sb.id && sb.gpio >= num_gpios_) sb = seg::Subscriber{};
    if (s.hist_count > s.hist_capacity) s.hist_count = s.hist_capacity;
    recompute_masks_l();
    recompute_nets_l();
    prune_dead_l();
    recompute_sources_l();
    resolve_l(all_pins(num_gpios_), Cause{CauseKind::Recovery, nullptr});
}

void PinWorld::detach() {
    if (detached_ || !m_) return;
    {
        Guard g(*this);
        detached_ = true;
        seg::State& s = m_->s;
        for (unsigned i = 0; i < seg::kMaxSubscribers; ++i)
            if (s.subs[i].id && s.subs[i].pid == pid_) drop_subscriber_l(i);
        for (seg::Part& p : s.parts)
            if (p.id && p.kind == static_cast<uint8_t>(PartKind::Generator) &&
                __atomic_load_n(&p.running, __ATOMIC_ACQUIRE) && p.owner_pid == pid_)
                stop_generator_l(p);
        for (seg::Attached& a : m_->h.attached) {
            if (a.pid == pid_ && a.start == start_) {
                a = seg::Attached{};
                break;
            }
        }
    }
    join_generators(0);
}

void PinWorld::shutdown_all() {
    std::vector<std::shared_ptr<PinWorld>> worlds;
    {
        std::lock_guard<std::mutex> lk(g_reg_mu);
        for (auto& w : g_all)
            if (auto p = w.lock()) worlds.push_back(p);
    }
    for (auto& w : worlds) w->detach();
}

std::string PinWorld::model() const { return std::string(m_->h.model, strnlen(m_->h.model, seg::kModelLen)); }

std::vector<int> PinWorld::attached_pids() {
    Guard g(*this);
    std::vector<int> out;
    for (const seg::Attached& a : m_->h.attached)
        if (a.pid) out.push_back(a.pid);
    return out;
}

std::vector<int> PinWorld::prune_dead_l() {
    std::vector<int> dead;
    seg::State& s = m_->s;
    for (seg::Attached& a : m_->h.attached) {
        if (a.pid && a.pid != pid_ && !process_alive(a.pid, a.start)) {
            dead.push_back(a.pid);
            a = seg::Attached{};
        }
    }
    for (unsigned i = 0; i < seg::kMaxSubscribers; ++i)
        if (s.subs[i].id && s.subs[i].pid != pid_ && !process_alive(s.subs[i].pid, s.subs[i].start))
            drop_subscriber_l(i);
    for (seg::Part& p : s.parts)
        if (p.id && p.kind == static_cast<uint8_t>(PartKind::Generator) &&
            __atomic_load_n(&p.running, __ATOMIC_ACQUIRE) && p.owner_pid != pid_ &&
            !process_alive(p.owner_pid, p.owner_start))
            stop_generator_l(p);
    return dead;
}

// ---------------------------------------------------------------------------------------------
// Listing and resetting shared boards.

std::vector<BoardListing> PinWorld::list_shared() {
    std::vector<BoardListing> out;
    const std::string prefix = "rpio-sim." + std::to_string(::getuid()) + ".";
    DIR* d = ::opendir("/dev/shm");
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        const std::string file = e->d_name;
        if (file.compare(0, prefix.size(), prefix) != 0) continue;
        BoardListing b{file.substr(prefix.size()), "", "", {}, {}, 0, false, ""};
        // Only a file this user can trust is read; anything else is listed as unusable.
        struct stat st;
        std::string problem;
        int fd = -1;
        try {
            fd = open_board_file("/dev/shm/" + file, O_RDONLY, &st, &problem);
        } catch (const SystemError&) {
            fd = -1;
        }
        if (fd == -1) continue;  // gone meanwhile, or unreadable
        if (fd == -2) b.problem = "refused: " + problem;
        if (fd >= 0 && static_cast<size_t>(st.st_size) >= sizeof(seg::Header)) {
            void* p = ::mmap(nullptr, sizeof(seg::Header), PROT_READ, MAP_SHARED, fd, 0);
            if (p != MAP_FAILED) {
                const seg::Header* h = static_cast<const seg::Header*>(p);
                if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) == seg::kMagic) {
                    b.compatible = h->layout_version == seg::kLayoutVersion && h->abi == seg::kAbi;
                    const std::string damage =
                        b.compatible ? segment_header_problem(*reinterpret_cast<const seg::Segment*>(h),
                                                              static_cast<size_t>(st.st_size), b.name)
                                     : "";
                    if (!damage.empty()) {
                        b.problem = "damaged: " + damage;
                    } else if (b.compatible) {
                        b.kind = std::string(h->kind_name, strnlen(h->kind_name, sizeof h->kind_name));
                        b.model = std::string(h->model, strnlen(h->model, sizeof h->model));
                        b.created_ns = h->created_ns;
                        for (const seg::Attached& a : h->attached) {
                            if (a.pid <= 0) continue;
                            (process_alive(a.pid, a.start) ? b.pids : b.dead_pids).push_back(a.pid);
                        }
                    }
                }
                ::munmap(p, sizeof(seg::Header));
            }
        }
        if (fd >= 0) ::close(fd);
        out.push_back(std::move(b));
    }
    ::closedir(d);
    std::sort(out.begin(), out.end(),
              [](const BoardListing& a, const BoardListing& b) { return a.name < b.name; });
    return out;
}

bool PinWorld::reset_shared(const std::string& name) {
    validate_board_name(name);
    std::shared_ptr<PinWorld> mine;
    {
        std::lock_guard<std::mutex> lk(g_reg_mu);
        auto it = g_shared.find(name);
        if (it != g_shared.end()) mine = it->second.lock();
    }
    if (mine && !mine->detached_) {  // this process is attached: reset in place, if it is sound
        std::string problem = segment_header_problem(*mine->m_, mine->map_size_, name);
        if (problem.empty()) {
            try {
                Guard g(*mine);
                problem = segment_state_problem(*mine->m_);
            } catch (const BoardDamaged& e) {
                problem = e.what();
            }
        }
        if (problem.empty()) {
            mine->reset();
            return true;
        }
        // Damaged: its file is removed below (this process keeps its mapping until it detaches).
    }
    const std::string file = shm_file(segment_path(name));
    struct stat st;
    std::string problem;
    const int fd = open_board_file(file, O_RDWR, &st, &problem);
    if (fd == -1) return false;
    if (fd == -2) {  // not this user's own file: removed unread
        remove_board_file(file, &st);
        return true;
    }
    std::string why;
    int creator = 0;
    size_t size = 0;
    bool damaged = false;
    seg::Segment* s = nullptr;
    if (static_cast<size_t>(st.st_size) >= sizeof(seg::Header)) {
        // A ready board maps at once; one that is not ready is removed without waiting.
        void* p = ::mmap(nullptr, sizeof(seg::Header), PROT_READ, MAP_SHARED, fd, 0);
        bool ready = false;
        if (p != MAP_FAILED) {
            const seg::Header* h = static_cast<const seg::Header*>(p);
            ready = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) == seg::kMagic;
            ::munmap(p, sizeof(seg::Header));
        }
        try {
            if (ready) s = map_ready(fd, file, &size, &why, &creator, &damaged);
        } catch (...) {
            ::close(fd);
            throw;
        }
    }
    ::close(fd);
    if (s && !segment_header_problem(*s, size, name).empty()) {
        ::munmap(s, size);
        s = nullptr;
    }
    if (!s) {  // not a usable board of this build, or damaged: nothing to keep
        remove_board_file(file, nullptr);
        return true;
    }
    std::shared_ptr<PinWorld> w(new PinWorld());
    w->m_ = s;
    w->map_size_ = size;
    w->shared_ = true;
    w->detached_ = true;  // not attached: its destructor leaves the process table alone
    w->name_ = name;
    w->pid_ = current_pid();
    w->start_ = proc_info(w->pid_).start;
    w->num_gpios_ = s->h.num_gpios;
    w->fds_.resize(seg::kMaxSubscribers);
    bool unlink = false;
    try {
        Guard g(*w);
        if (!segment_state_problem(*s).empty()) {
            unlink = true;
        } else {
            w->prune_dead_l();
            bool live = false;
            for (const seg::Attached& a : s->h.attached) live = live || a.pid != 0;
            if (live) {
                w->reset_state_l();
                ++s->s.resets;
            } else {
                unlink = true;
            }
        }
    } catch (const BoardDamaged&) {
        unlink = true;
    }
    if (unlink) remove_board_file(file, nullptr);
    return true;
}

// ---------------------------------------------------------------------------------------------
// State: reset, derived masks, nets, sources, resolution.

void PinWorld::reset_state_l() {
    seg::State& s = m_->s;
    const ChipKind kind = this->kind();
    drop_stale_subscribers_l();
    for (seg::Part& p : s.parts) {
        if (p.id && p.kind == static_cast<uint8_t>(PartKind::Generator)) {
            __atomic_store_n(&p.running, 0u, __ATOMIC_RELEASE);
            ++p.run_id;
            futex_wake_all(&p.running);
        }
    }
    std::memset(s.parts, 0, sizeof s.parts);
    std::memset(s.wires, 0, sizeof s.wires);
    std::memset(&s.regs, 0, sizeof s.regs);
    __atomic_store_n(&s.latch, uint64_t{0}, __ATOMIC_RELEASE);
    s.drives = s.src_hi = s.src_lo = s.part_pins = s.shorted = 0;
    for (unsigned g = 0; g < seg::kMaxGpios; ++g) {
        s.pins[g] = seg::Pin{static_cast<int8_t>(Function::Input), static_cast<int8_t>(Pull::Off), -1, 0};
        s.net[g] = bit(g);
    }
    if (kind == ChipKind::Rp1) {
        seg::Rp1Regs& r = s.regs.rp1;
        for (unsigned g = 0; g < rp1::kNumGpios; ++g) {
            r.ctrl[g] = rp1::FUNCSEL_NULL;
            const bool bank0 = g < rp1::kBankBase[1];
            r.pads[g] = rp1::PAD_IE | rp1::PAD_DRIVE_4MA | rp1::PAD_SCHMITT | (bank0 ? rp1::PAD_PDE : 0);
            r.ie |= bit(g);
            s.pins[g].function = static_cast<int8_t>(Function::None);
            s.pins[g].pull = static_cast<int8_t>(bank0 ? Pull::Down : Pull::Off);
        }
    } else {
        for (unsigned g = 0; g <= 27; ++g) {
            const Pull p = g <= 8 ? Pull::Up : Pull::Down;
            s.pins[g].pull = static_cast<int8_t>(p);
            if (kind == ChipKind::Bcm2711)
                s.regs.bcm.pup_pdn[g / 16] |= bcm::pup_pdn_code(p) << ((g % 16) * 2);
        }
    }
    recompute_masks_l();
    resolve_l(all_pins(num_gpios_), Cause{CauseKind::Reset, nullptr});
    s.hist_head = s.hist_count = 0;
}

void PinWorld::recompute_masks_l() {
    seg::State& s = m_->s;
    uint64_t up = 0, down = 0, watched = 0, leds = 0;
    for (unsigned g = 0; g < num_gpios_; ++g) {
        if (s.pins[g].pull == static_cast<int8_t>(Pull::Up)) up |= bit(g);
        if (s.pins[g].pull == static_cast<int8_t>(Pull::Down)) down |= bit(g);
    }
    for (const seg::Subscriber& sb : s.subs)
        if (sb.id) watched |= bit(sb.gpio);
    for (const seg::Part& p : s.parts)
        if (p.id && p.kind == static_cast<uint8_t>(PartKind::Led)) leds |= bit(p.gpio);
    s.pull_up = up;
    s.pull_down = down;
    s.watched = watched;
    s.part_pins = leds;
}

void PinWorld::recompute_nets_l() {
    seg::State& s = m_->s;
    for (unsigned g = 0; g < seg::kMaxGpios; ++g) s.net[g] = bit(g);
    // Each pass joins the nets a wire touches; nets stay closed, so one pass over wires is enough.
    for (const seg::Wire& w : s.wires) {
        if (!w.id) continue;
        uint64_t u = 0;
        for (uint64_t m = w.mask; m; m &= m - 1) u |= s.net[ctz(m)];
        for (uint64_t m = u; m; m &= m - 1) s.net[ctz(m)] = u;
    }
}

void PinWorld::recompute_sources_l() {
    seg::State& s = m_->s;
    uint64_t hi = 0, lo = 0;
    for (unsigned g = 0; g < num_gpios_; ++g) {
        if (s.pins[g].drive == 1) hi |= bit(g);
        if (s.pins[g].drive == 0) lo |= bit(g);
    }
    for (const seg::Part& p : s.parts) {
        if (!p.id) continue;
        if (p.drive == 1) hi |= bit(p.gpio);
        if (p.drive == 0) lo |= bit(p.gpio);
    }
    s.src_hi = hi;
    s.src_lo = lo;
}

void PinWorld::resolve_l(uint64_t mask, const Cause& cause) {
    while (mask) {
        // The pin itself is always in its net (a peer may have damaged the table: never loop).
        const unsigned first = ctz(mask);
        const uint64_t net = m_->s.net[first] | bit(first);
        resolve_net_l(net, cause);
        mask &= ~net;
    }
}

// A net's level: its outputs; else its outside sources (drives, buttons, generators); else its
// pulls; else it floats and reads 0. Outputs (or, without outputs, sources) at opposite levels
// are a short: the net reads 0. Opposite pulls without anything driving read 0, floating.
void PinWorld::resolve_net_l(uint64_t net, const Cause& cause) {
    seg::State& s = m_->s;
    const uint64_t d = s.drives & net;
    const uint64_t hi = d & s.latch, lo = d & ~s.latch;
    int level = 0;
    bool floating = false, shorted = false;
    if (hi && lo) {
        shorted = true;
    } else if (d) {
        level = hi ? 1 : 0;
    } else {
        const uint64_t sh = s.src_hi & net, sl = s.src_lo & net;
        if (sh && sl) {
            shorted = true;
        } else if (sh || sl) {
            level = sh ? 1 : 0;
        } else {
            const uint64_t pu = s.pull_up & net, pd = s.pull_down & net;
            if (pu && !pd) {
                level = 1;
            } else if (!pu && pd) {
                level = 0;
            } else {
                floating = true;
            }
        }
    }
    s.floating = floating ? (s.floating | net) : (s.floating & ~net);
    const uint64_t now_levels = level ? net : 0;
    const uint64_t old_levels = s.levels;
    const uint64_t diff = (old_levels ^ now_levels) & net;
    const bool was_shorted = (s.shorted & net) != 0;
    s.shorted = shorted ? (s.shorted | net) : (s.shorted & ~net);
    const bool new_short = shorted && !was_shorted;
    if (!diff && !new_short) return;
    if (diff) __atomic_store_n(&s.levels, (old_levels & ~net) | now_levels, __ATOMIC_RELEASE);
    const Cause c = shorted ? Cause{CauseKind::Short, nullptr} : cause;
    // One clock read: the history entries and the event records carry the same timestamp.
    const bool timed = s.hist_capacity || (diff & (s.watched | s.part_pins)) || new_short;
    const int64_t t = timed ? (t_event_time ? t_event_time : monotonic_ns()) : 0;
    if (new_short) {
        ++s.shorts;
        const bool outputs = hi && lo;
        log_later(30, std::string("short circuit on GPIO ") + pin_list(net) + ": " +
                          (outputs ? "outputs " + pin_list(hi) + " drive 1 against outputs " + pin_list(lo)
                                   : std::string("outside sources drive 1 and 0 at once")) +
                          " (pid " + std::to_string(pid_) + "); the net reads 0 while it lasts");
        if (s.hist_capacity)
            for (uint64_t m = net & ~diff; m; m &= m - 1) append_l(t, ctz(m), level, false, c);
    }
    for (uint64_t m = diff; m; m &= m - 1) changed_l(ctz(m), level, floating, t, c);
}

void PinWorld::changed_l(unsigned gpio, int level, bool floating, int64_t t, const Cause& cause) {
    seg::State& s = m_->s;
    const uint64_t b = bit(gpio);
    if (s.hist_capacity) append_l(t, gpio, level, floating, cause);
    if (kind() != ChipKind::Rp1) {  // BCM event detect latches
        seg::BcmRegs& r = s.regs.bcm;
        const unsigned bank = gpio >> 5;
        const uint32_t m = 1u << (gpio & 31);
        r.eds[bank] |= m & (level ? (r.ren[bank] | r.aren[bank] | r.hen[bank])
                                  : (r.fen[bank] | r.afen[bank] | r.len[bank]));
    }
    if (s.part_pins & b) {
        for (seg::Part& p : s.parts) {
            if (!p.id || p.gpio != gpio || p.kind != static_cast<uint8_t>(PartKind::Led)) continue;
            const uint8_t on = static_cast<uint8_t>(level ^ p.active_low);
            if (on == p.last_level) continue;
            if (p.last_level) p.on_ns += t - p.last_change_ns;
            p.last_change_ns = t;
            p.last_level = on;
        }
    }
    if (s.watched & b) publish_l(gpio, level, t);
}

void PinWorld::append_l(int64_t t, unsigned gpio, int level, bool floating, const Cause& cause) {
    seg::State& s = m_->s;
    check_history_l();  // another process may have left the indices out of range
    seg::HistoryRecord& r = m_->ring[s.hist_head];
    r.t_ns = t;
    r.gpio = static_cast<uint8_t>(gpio);
    r.level = static_cast<uint8_t>(level);
    r.floating = floating;
    r.cause = static_cast<uint8_t>(cause.kind);
    r.pid = pid_;
    if (cause.part) {
        std::strncpy(r.name, cause.part, sizeof r.name - 1);
        r.name[sizeof r.name - 1] = 0;
    } else {
        r.name[0] = 0;
    }
    s.hist_head = s.hist_head + 1 == s.hist_capacity ? 0 : s.hist_head + 1;
    if (s.hist_count < s.hist_capacity) ++s.hist_count;
    ++s.hist_total;
}

// ---------------------------------------------------------------------------------------------
// Register side.

void PinWorld::set_function_l(unsigned gpio, Function f, bool drives, CauseKind cause) {
    seg::State& s = m_->s;
    s.pins[gpio].function = static_cast<int8_t>(f);
    s.drives = drives ? (s.drives | bit(gpio)) : (s.drives & ~bit(gpio));
    resolve_l(bit(gpio), Cause{cause, nullptr});
}

void PinWorld::set_latch_mask_l(unsigned first, uint32_t mask, bool v) {
    seg::State& s = m_->s;
    const uint64_t m = static_cast<uint64_t>(mask) << first;
    const uint64_t old = s.latch;
    const uint64_t now = v ? (old | m) : (old & ~m);
    if (now == old) return;
    __atomic_store_n(&s.latch, now, __ATOMIC_RELEASE);
    const uint64_t changed = (old ^ now) & s.drives;
    if (changed) resolve_l(changed, Cause{CauseKind::Output, nullptr});
}

void PinWorld::set_latch_l(unsigned gpio, bool v) { set_latch_mask_l(gpio, 1u, v); }

void PinWorld::set_pull_l(unsigned gpio, Pull p, CauseKind cause) {
    seg::State& s = m_->s;
    s.pins[gpio].pull = static_cast<int8_t>(p);
    s.pull_up = p == Pull::Up ? (s.pull_up | bit(gpio)) : (s.pull_up & ~bit(gpio));
    s.pull_down = p == Pull::Down ? (s.pull_down | bit(gpio)) : (s.pull_down & ~bit(gpio));
    resolve_l(bit(gpio), Cause{cause, nullptr});
}

// ---------------------------------------------------------------------------------------------
// Outside world.

void PinWorld::set_drive(unsigned gpio, int drive) {
    Guard g(*this);
    m_->s.pins[gpio].drive = static_cast<int8_t>(drive < 0 ? -1 : drive != 0);
    recompute_sources_l();
    resolve_l(bit(gpio), Cause{CauseKind::Drive, nullptr});
}

PinState PinWorld::state(unsigned gpio) {
    Guard g(*this);
    const seg::State& s = m_->s;
    const seg::Pin& p = s.pins[gpio];
    return PinState{static_cast<Function>(p.function), static_cast<int>((s.latch >> gpio) & 1),
                    static_cast<Pull>(p.pull), p.drive, static_cast<int>((s.levels >> gpio) & 1),
                    ((s.floating >> gpio) & 1) != 0};
}

uint64_t PinWorld::shorted() {
    Guard g(*this);
    return m_->s.shorted;
}

std::vector<HistoryEntry> PinWorld::history() {
    std::vector<HistoryEntry> out;
    Guard g(*this);
    check_history_l();
    const seg::State& s = m_->s;
    out.reserve(s.hist_count);
    const size_t cap = s.hist_capacity;
    const size_t start = cap ? (s.hist_head + cap - s.hist_count) % cap : 0;
    for (size_t i = 0; i < s.hist_count; ++i) {
        const seg::HistoryRecord& r = m_->ring[(start + i) % cap];
        out.push_back(HistoryEntry{r.t_ns, r.gpio, r.level, r.floating, r.cause, r.pid,
                                   std::string(r.name, strnlen(r.name, sizeof r.name))});
    }
    return out;
}

void PinWorld::clear_history() {
    Guard g(*this);
    m_->s.hist_head = m_->s.hist_count = 0;
}

void PinWorld::set_history_capacity(size_t capacity) {
    if (capacity > ring_slots())
        throw std::invalid_argument("history_capacity " + std::to_string(capacity) +
                                    " is more than this board's history holds (" +
                                    std::to_string(ring_slots()) +
                                    ", fixed when the board was made)");
    Guard g(*this);
    m_->s.hist_capacity = capacity;
    m_->s.hist_head = m_->s.hist_count = 0;
}

// ---------------------------------------------------------------------------------------------
// Wires.

uint32_t PinWorld::add_wire(uint64_t mask) {
    if (mask & ~all_pins(num_gpios_))
        throw std::out_of_range("a wire's pins must be gpios 0-" + std::to_string(num_gpios_ - 1));
    if (__builtin_popcountll(mask) < 2) throw std::invalid_argument("a wire joins at least two pins");
    Guard g(*this);
    seg::State& s = m_->s;
    for (seg::Wire& w : s.wires) {
        if (w.id) continue;
        w.id = ++s.next_id ? s.next_id : ++s.next_id;
        w.mask = mask;
        recompute_nets_l();
        resolve_l(mask, Cause{CauseKind::Wire, nullptr});
        return w.id;
    }
    throw std::runtime_error("the board holds at most " + std::to_string(seg::kMaxWires) + " wires");
}

void PinWorld::remove_wire(uint32_t id) {
    Guard g(*this);
    seg::State& s = m_->s;
    for (seg::Wire& w : s.wires) {
        if (!w.id || w.id != id) continue;
        uint64_t affected = 0;
        for (uint64_t m = w.mask; m; m &= m - 1) affected |= s.net[ctz(m)];
        w = seg::Wire{};
        recompute_nets_l();
        resolve_l(affected, Cause{CauseKind::Wire, nullptr});
        return;
    }
    throw NotFound("no wire " + std::to_string(id) + " on this board");
}

std::vector<WireInfo> PinWorld::wires() {
    Guard g(*this);
    std::vector<WireInfo> out;
    for (const seg::Wire& w : m_->s.wires)
        if (w.id) out.push_back(WireInfo{w.id, w.mask});
    std::sort(out.begin(), out.end(), [](const WireInfo& a, const WireInfo& b) { return a.id < b.id; });
    return out;
}

uint64_t PinWorld::net_of(unsigned gpio) {
    Guard g(*this);
    return m_->s.net[gpio];
}

// ---------------------------------------------------------------------------------------------
// Parts.

seg::Part* PinWorld::find_part_l(const std::string& name) {
    for (seg::Part& p : m_->s.parts)
        if (p.id && name == part_name(p)) return &p;
    return nullptr;
}

seg::Part* PinWorld::find_part_id_l(uint32_t id) {
    for (seg::Part& p : m_->s.parts)
        if (p.id == id) return &p;
    return nullptr;
}

seg::Part& PinWorld::part_l(const std::string& name) {
    seg::Part* p = find_part_l(name);
    if (!p) throw NotFound("no part named '" + name + "' on this board");
    return *p;
}

namespace {
seg::Part& expect_kind(seg::Part& p, PartKind k) {
    if (p.kind != static_cast<uint8_t>(k))
        throw std::invalid_argument("part '" + part_name(p) + "' is a " + part_kind_name(p.kind) +
                                    ", not a " + part_kind_name(static_cast<uint8_t>(k)));
    return p;
}

void validate_generator(double frequency, double duty) {
    if (!(frequency > 0 && frequency <= 20000))
        throw std::invalid_argument("a generator's frequency is above 0 and at most 20000 Hz");
    if (!(duty >= 0 && duty <= 1)) throw std::invalid_argument("a generator's duty is 0 to 1");
}
}  // namespace

PartInfo PinWorld::info_l(const seg::Part& p) {
    const bool running = __atomic_load_n(&p.running, __ATOMIC_ACQUIRE) != 0;
    return PartInfo{p.id, static_cast<PartKind>(p.kind), part_name(p), p.gpio, p.active_low != 0,
                    p.drive, p.created_ns, p.pressed != 0, p.last_level != 0, p.frequency, p.duty,
                    running, running ? p.owner_pid : 0};
}

uint32_t PinWorld::add_part(const PartSpec& spec) {
    if (spec.name.empty() || spec.name.size() >= seg::kNameLen)
        throw std::invalid_argument("a part's name has 1 to 31 characters");
    for (char c : spec.name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
            throw std::invalid_argument("part name '" + spec.name +
                                        "': use letters, digits, '_', '-' and '.' only");
    if (spec.gpio >= num_gpios_)
        throw std::out_of_range("gpio " + std::to_string(spec.gpio) + " out of range (0-" +
                                std::to_string(num_gpios_ - 1) + ")");
    if (spec.kind == PartKind::None || static_cast<uint8_t>(spec.kind) > 4)
        throw std::invalid_argument("unknown part kind");
    if (spec.kind == PartKind::Generator) validate_generator(spec.frequency, spec.duty);
    Guard g(*this);
    seg::State& s = m_->s;
    if (find_part_l(spec.name))
        throw std::invalid_argument("a part named '" + spec.name + "' is already on this board");
    for (seg::Part& p : s.parts) {
        if (p.id) continue;
        std::memset(&p, 0, sizeof p);
        p.id = ++s.next_id ? s.next_id : ++s.next_id;
        p.kind = static_cast<uint8_t>(spec.kind);
        p.gpio = static_cast<uint8_t>(spec.gpio);
        p.active_low = spec.active_low;
        p.drive = -1;
        copy_name(p.name, sizeof p.name, spec.name);
        p.created_ns = monotonic_ns();
        p.frequency = spec.frequency;
        p.duty = spec.duty;
        if (spec.kind == PartKind::Led) {
            p.level_at_attach = static_cast<uint8_t>(((s.levels >> spec.gpio) & 1) ^ spec.active_low);
            p.last_level = p.level_at_attach;
            p.last_change_ns = p.created_ns;
            s.part_pins |= bit(spec.gpio);
        }
        return p.id;
    }
    throw std::runtime_error("the board holds at most " + std::to_string(seg::kMaxParts) + " parts");
}

void PinWorld::remove_part(const std::string& name) {
    uint32_t id = 0;
    {
        Guard g(*this);
        seg::Part& p = part_l(name);
        id = p.id;
        if (p.kind == static_cast<uint8_t>(PartKind::Generator) &&
            __atomic_load_n(&p.running, __ATOMIC_ACQUIRE))
            stop_generator_l(p);
        const unsigned gpio = p.gpio;
        const bool source = p.drive >= 0;
        ++p.run_id;
        futex_wake_all(&p.running);
        const std::string copy = part_name(p);
        std::memset(&p, 0, sizeof p);
        recompute_masks_l();
        if (source) {
            recompute_sources_l();
            resolve_l(bit(gpio), Cause{CauseKind::Part, copy.c_str()});
        }
    }
    join_generators(id);
}

std::vector<PartInfo> PinWorld::parts() {
    Guard g(*this);
    prune_dead_l();
    std::vector<PartInfo> out;
    for (const seg::Part& p : m_->s.parts)
        if (p.id) out.push_back(info_l(p));
    std::sort(out.begin(), out.end(), [](const PartInfo& a, const PartInfo& b) { return a.id < b.id; });
    return out;
}

PartInfo PinWorld::part(const std::string& name) {
    Guard g(*this);
    seg::Part& p = part_l(name);
    if (p.kind == static_cast<uint8_t>(PartKind::Generator) && p.owner_pid != pid_) prune_dead_l();
    return info_l(p);
}

void PinWorld::button_set(const std::string& name, bool pressed) {
    Guard g(*this);
    seg::Part& p = expect_kind(part_l(name), PartKind::Button);
    p.pressed = pressed;
    const int8_t drive = pressed ? static_cast<int8_t>(p.active_low ? 0 : 1) : -1;
    if (p.drive == drive) return;
    p.drive = drive;
    recompute_sources_l();
    resolve_l(bit(p.gpio), Cause{CauseKind::Part, p.name});
}

void PinWorld::button_bounce(const std::string& name, bool pressed, unsigned n, double ms) {
    if (!(ms >= 0 && ms <= 10000)) throw std::invalid_argument("bounce time is 0 to 10000 ms");
    if (n > 1000) throw std::invalid_argument("at most 1000 bounces");
    {
        Guard g(*this);
        expect_kind(part_l(name), PartKind::Button);
    }
    if (n == 0) {
        if (ms > 0) sleep_until(monotonic_ns() + static_cast<int64_t>(ms * 1e6));
        button_set(name, pressed);
        return;
    }
    // States pressed, released, pressed, ... (2n+1 of them), evenly spread from now to ms.
    const int64_t t0 = monotonic_ns();
    const double step = ms * 1e6 / (2.0 * n);
    for (unsigned k = 0; k <= 2 * n; ++k) {
        if (k) sleep_until(t0 + static_cast<int64_t>(step * k));
        button_set(name, (k % 2 == 0) == pressed);
    }
}

void PinWorld::stop_generator_l(seg::Part& p) {
    __atomic_store_n(&p.running, 0u, __ATOMIC_RELEASE);
    if (p.drive >= 0) {
        p.drive = -1;
        recompute_sources_l();
        resolve_l(bit(p.gpio), Cause{CauseKind::Part, p.name});
    }
    futex_wake_all(&p.running);
}

void PinWorld::generator_start(const std::string& name) {
    uint32_t id = 0;
    uint64_t run = 0;
    {
        Guard g(*this);
        seg::Part& p = expect_kind(part_l(name), PartKind::Generator);
        if (__atomic_load_n(&p.running, __ATOMIC_ACQUIRE)) {
            if (p.owner_pid == pid_ || process_alive(p.owner_pid, p.owner_start))
                throw std::runtime_error("generator '" + name + "' is already running (pid " +
                                         std::to_string(p.owner_pid) + ")");
            stop_generator_l(p);  // its process died: take it over
        }
        id = p.id;
        run = ++p.run_id;
        p.owner_pid = pid_;
        p.owner_start = start_;
        __atomic_store_n(&p.running, 1u, __ATOMIC_RELEASE);
        futex_wake_all(&p.running);  // a thread of an earlier run sees the new run id and ends
        // Synchronous start: the pin is high (or at its constant level) when start() returns.
        p.drive = static_cast<int8_t>(p.duty <= 0 ? 0 : 1);
        recompute_sources_l();
        resolve_l(bit(p.gpio), Cause{CauseKind::Part, p.name});
    }
    join_generators(id);
    std::unique_ptr<std::thread> t(new std::thread(rpio_threads::signal_free_thread(&PinWorld::generator_thread, this, id, run)));
    std::lock_guard<std::mutex> lk(gens_mu_);
    gens_[id] = std::move(t);
}

void PinWorld::generator_stop(const std::string& name) {
    uint32_t id = 0;
    {
        Guard g(*this);
        seg::Part& p = expect_kind(part_l(name), PartKind::Generator);
        id = p.id;
        if (__atomic_load_n(&p.running, __ATOMIC_ACQUIRE)) stop_generator_l(p);
    }
    join_generators(id);
}

void PinWorld::generator_set(const std::string& name, double frequency, double duty) {
    validate_generator(frequency, duty);
    Guard g(*this);
    seg::Part& p = expect_kind(part_l(name), PartKind::Generator);
    p.frequency = frequency;
    p.duty = duty;
    futex_wake_all(&p.running);  // the thread re-reads them now
}

// The generator's thread: toggles the part's drive in real time. Every step re-checks, under the
// lock, that the part still exists, still runs and still belongs to this run.
void PinWorld::generator_thread(uint32_t part_id, uint64_t run_id) {
    t_defer_logs = true;
    try {
        generator_loop(part_id, run_id);
    } catch (const std::exception& e) {  // a damaged board: this thread ends, the process lives
        log_later(30, std::string("generator thread stopped: ") + e.what());
        flush_logs();
    }
}

void PinWorld::generator_loop(uint32_t part_id, uint64_t run_id) {
    uint32_t* word = nullptr;
    int level = 1;
    bool constant = false;
    int64_t last = monotonic_ns();
    for (;;) {
        double frequency, duty;
        {
            Guard g(*this);
            seg::Part* p = find_part_id_l(part_id);
            if (!p || p->run_id != run_id || !__atomic_load_n(&p->running, __ATOMIC_ACQUIRE)) return;
            word = &p->running;
            frequency = p->frequency;
            duty = p->duty;
            if (!(frequency > 0 && frequency <= 20000 && duty >= 0 && duty <= 1))
                damaged("generator '" + part_name(*p) + "' has frequency " + std::to_string(frequency) +
                        " and duty " + std::to_string(duty));
            const bool now_constant = duty <= 0 || duty >= 1;
            if (now_constant || constant != now_constant) {
                level = duty <= 0 ? 0 : 1;
                last = monotonic_ns();
                if (p->drive != level) {
                    p->drive = static_cast<int8_t>(level);
                    recompute_sources_l();
                    resolve_l(bit(p->gpio), Cause{CauseKind::Part, p->name});
                }
            }
            constant = now_constant;
        }
        if (constant) {
            futex_wait_until(word, 1, -1);  // until stopped or changed
            continue;
        }
        const double period = 1e9 / frequency;
        const int64_t high = static_cast<int64_t>(period * duty);
        const int64_t deadline = last + (level ? high : static_cast<int64_t>(period) - high);
        if (monotonic_ns() < deadline) {
            futex_wait_until(word, 1, deadline);  // woken early: loop and look again
            continue;
        }
        {
            Guard g(*this);
            seg::Part* p = find_part_id_l(part_id);
            if (!p || p->run_id != run_id || !__atomic_load_n(&p->running, __ATOMIC_ACQUIRE)) return;
            level ^= 1;
            p->drive = static_cast<int8_t>(level);
            recompute_sources_l();
            resolve_l(bit(p->gpio), Cause{CauseKind::Part, p->name});
        }
        last = deadline;
        const int64_t now = monotonic_ns();
        if (now - last > static_cast<int64_t>(period)) last = now;  // fell behind: no catch-up burst
    }
}

void PinWorld::join_generators(uint32_t id) {
    std::vector<std::unique_ptr<std::thread>> threads;
    {
        std::lock_guard<std::mutex> lk(gens_mu_);
        for (auto it = gens_.begin(); it != gens_.end();) {
            if (id == 0 || it->first == id) {
                threads.push_back(std::move(it->second));
                it = gens_.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (auto& t : threads) {
        if (!t || !t->joinable()) continue;
        if (t->get_id() == std::this_thread::get_id())
            t->detach();
        else
            t->join();
    }
}

std::vector<std::pair<int64_t, int>> PinWorld::led_history_l(const seg::Part& p, int64_t* covered_from) {
    check_history_l();
    const seg::State& s = m_->s;
    std::vector<std::pair<int64_t, int>> out;
    const size_t cap = s.hist_capacity;
    const size_t start = cap ? (s.hist_head + cap - s.hist_count) % cap : 0;
    const bool wrapped = s.hist_total > s.hist_count;
    const int64_t oldest = s.hist_count ? m_->ring[start].t_ns : INT64_MAX;
    *covered_from = p.created_ns;
    bool first = true;
    if (wrapped && oldest > p.created_ns) {
        // The ring lost the first changes after the LED was attached: the timeline starts at the
        // oldest entry kept, with the level that the pin's first kept change left.
        *covered_from = oldest;
        first = false;
        int before = -1;
        for (size_t i = 0; i < s.hist_count; ++i) {
            const seg::HistoryRecord& r = m_->ring[(start + i) % cap];
            if (r.gpio == p.gpio) {
                before = r.level ^ 1;
                break;
            }
        }
        if (before < 0) before = p.last_level ^ p.active_low;
        out.emplace_back(oldest, before ^ p.active_low);
    }
    if (first) out.emplace_back(p.created_ns, p.level_at_attach);
    for (size_t i = 0; i < s.hist_count; ++i) {
        const seg::HistoryRecord& r = m_->ring[(start + i) % cap];
        if (r.gpio != p.gpio || r.t_ns < p.created_ns) continue;
        const int on = r.level ^ p.active_low;
        if (on != out.back().second) out.emplace_back(r.t_ns, on);
    }
    // The LED's own bookkeeping is exact even with the history off.
    if (p.last_change_ns > out.back().first && p.last_level != out.back().second)
        out.emplace_back(p.last_change_ns, p.last_level);
    return out;
}

std::vector<std::pair<int64_t, int>> PinWorld::led_history(const std::string& name) {
    Guard g(*this);
    int64_t covered;
    return led_history_l(expect_kind(part_l(name), PartKind::Led), &covered);
}

double PinWorld::led_brightness(const std::string& name, int64_t since_ns) {
    Guard g(*this);
    const seg::Part& p = expect_kind(part_l(name), PartKind::Led);
    const int64_t now = monotonic_ns();
    if (since_ns < 0) {  // since attach: exact, from the LED's running total
        const int64_t total = now - p.created_ns;
        const int64_t on = p.on_ns + (p.last_level ? now - p.last_change_ns : 0);
        return total > 0 ? static_cast<double>(on) / static_cast<double>(total) : p.last_level;
    }
    int64_t covered;
    const auto points = led_history_l(p, &covered);
    const int64_t from = std::max(since_ns, p.created_ns);
    if (from < covered)
        throw std::invalid_argument("the history no longer reaches back to since_ns (it starts at " +
                                    std::to_string(covered) + ")");
    if (from >= now) return p.last_level;
    int64_t on = 0;
    for (size_t i = 0; i < points.size(); ++i) {
        const int64_t a = std::max(points[i].first, from);
        const int64_t b = i + 1 < points.size() ? points[i + 1].first : now;
        if (b > a && points[i].second) on += b - a;
    }
    return static_cast<double>(on) / static_cast<double>(now - from);
}

std::vector<PinWorld::ServoPulse> PinWorld::servo_angles(const std::string& name) {
    Guard g(*this);
    const seg::Part& p = expect_kind(part_l(name), PartKind::Servo);
    check_history_l();
    const seg::State& s = m_->s;
    std::vector<ServoPulse> out;
    const size_t cap = s.hist_capacity;
    const size_t start = cap ? (s.hist_head + cap - s.hist_count) % cap : 0;
    int64_t rise = -1;
    int level = -1;
    for (size_t i = 0; i < s.hist_count; ++i) {
        const seg::HistoryRecord& r = m_->ring[(start + i) % cap];
        if (r.gpio != p.gpio || r.t_ns < p.created_ns || r.level == level) continue;
        level = r.level;
        if (level) {
            rise = r.t_ns;
            continue;
        }
        if (rise < 0) continue;
        const double width = static_cast<double>(r.t_ns - rise) / 1000.0;
        rise = -1;
        if (width < 500 || width > 2500) continue;
        double degrees = std::min(180.0, std::max(0.0, (width - 1000.0) / 1000.0 * 180.0));
        degrees = std::round(degrees * 10.0) / 10.0;
        // A servo's dead band: a move of less than a degree (about 5.6 us of pulse) is no move.
        if (out.empty() || std::fabs(out.back().degrees - degrees) >= 1.0)
            out.push_back(ServoPulse{r.t_ns, width, degrees});
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Edge subscribers.

uint32_t PinWorld::subscribe(unsigned gpio, bool rising, bool falling, int read_fd, int write_fd) {
    struct stat st;
    if (::fstat(read_fd, &st) != 0) throw SystemError(errno, "pipe", "fstat");
    if (!S_ISFIFO(st.st_mode)) throw std::invalid_argument("an event line's read end must be a pipe");
    if (gpio >= num_gpios_) throw std::out_of_range("gpio " + std::to_string(gpio) + " out of range");
    Guard g(*this);
    seg::State& s = m_->s;
    for (int pass = 0; pass < 2; ++pass) {
        for (unsigned i = 0; i < seg::kMaxSubscribers; ++i) {
            seg::Subscriber& sb = s.subs[i];
            if (sb.id) continue;
            sb = seg::Subscriber{};
            sb.id = ++s.next_id ? s.next_id : ++s.next_id;
            sb.pid = pid_;
            sb.start = start_;
            sb.read_fd = read_fd;
            sb.gpio = gpio;
            sb.ino = st.st_ino;
            sb.dev = st.st_dev;
            sb.rising = rising;
            sb.falling = falling;
            s.watched |= bit(gpio);
            LocalFd& l = fds_[i];
            if (l.fd >= 0 && !l.own) ::close(l.fd);
            l = LocalFd{sb.id, write_fd, true};
            return sb.id;
        }
        prune_dead_l();
    }
    throw std::runtime_error("the board holds at most " + std::to_string(seg::kMaxSubscribers) +
                             " event lines");
}

void PinWorld::unsubscribe(uint32_t id) {
    Guard g(*this);
    for (unsigned i = 0; i < seg::kMaxSubscribers; ++i)
        if (m_->s.subs[i].id == id) drop_subscriber_l(i);
}

std::pair<uint32_t, uint64_t> PinWorld::subscriber_counts(uint32_t id) {
    Guard g(*this);
    for (const seg::Subscriber& sb : m_->s.subs)
        if (sb.id == id) return {sb.seqno, sb.dropped};
    throw NotFound("no event line " + std::to_string(id));
}

std::vector<std::pair<unsigned, int32_t>> PinWorld::edge_holders() {
    struct Held { unsigned gpio; int32_t pid; uint64_t start; };
    std::vector<Held> held;
    {
        Guard g(*this);
        for (const seg::Subscriber& sb : m_->s.subs)
            if (sb.id && sb.gpio < num_gpios_) held.push_back({sb.gpio, sb.pid, sb.start});
    }
    // outside the lock (it reads /proc): a subscriber whose process ended, or whose pid now
    // belongs to another process, holds nothing
    std::vector<std::pair<unsigned, int32_t>> out;
    for (const Held& h : held)
        if (process_alive(h.pid, h.start)) out.emplace_back(h.gpio, h.pid);
    return out;
}

void PinWorld::drop_subscriber_l(unsigned slot) {
    seg::State& s = m_->s;
    const unsigned gpio = s.subs[slot].gpio;
    s.subs[slot] = seg::Subscriber{};
    if (slot < fds_.size()) {
        LocalFd& l = fds_[slot];
        if (l.fd >= 0 && !l.own) ::close(l.fd);
        l = LocalFd{};
    }
    bool still = false;
    for (const seg::Subscriber& sb : s.subs) still = still || (sb.id && sb.gpio == gpio);
    if (!still) s.watched &= ~bit(gpio);
}

// Whether edge records may be written for another process's subscriber: only into the pipe it
// registered, held by a live process that is attached to this board and runs as this user. A
// record that fails this (planted, or left by a process that ended) is refused; *why says why.
bool PinWorld::subscriber_trusted_l(unsigned slot, std::string* why) {
    const seg::Subscriber& sb = m_->s.subs[slot];
    bool attached = false;
    for (const seg::Attached& a : m_->h.attached)
        attached = attached || (a.pid > 0 && a.pid == sb.pid && a.start == sb.start);
    if (!attached) {
        *why = "its process is not attached to this board";
        return false;
    }
    if (!process_alive(sb.pid, sb.start)) {
        *why = "its process has ended";
        return false;
    }
    uid_t real = 0, effective = 0;
    const uid_t me = ::geteuid();
    if (!proc_uids(sb.pid, &real, &effective) || real != me || effective != me) {
        *why = "its process does not run as " + uid_text(me);
        return false;
    }
    // The descriptor must name the pipe it registered: "pipe:[inode]".
    char path[64], target[128];
    std::snprintf(path, sizeof path, "/proc/%d/fd/%d", sb.pid, sb.read_fd);
    const ssize_t n = ::readlink(path, target, sizeof target - 1);
    if (n < 0) {
        *why = "its descriptor is gone";
        return false;
    }
    target[n] = 0;
    const std::string want = "pipe:[" + std::to_string(sb.ino) + "]";
    if (want != target) {
        *why = std::string("its descriptor is not its pipe but ") + target;
        return false;
    }
    return true;
}

void PinWorld::drop_stale_subscribers_l() {
    seg::State& s = m_->s;
    for (unsigned i = 0; i < seg::kMaxSubscribers; ++i) {
        const seg::Subscriber& sb = s.subs[i];
        if (!sb.id || sb.pid == pid_) continue;
        bool attached = false;
        for (const seg::Attached& a : m_->h.attached)
            attached = attached || (a.pid > 0 && a.pid == sb.pid && a.start == sb.start);
        if (!attached || !process_alive(sb.pid, sb.start)) drop_subscriber_l(i);
    }
}

// This process's write end for a subscriber: its own pipe, or the pipe of another process opened
// through /proc/PID/fd/N once subscriber_trusted_l allows it, checked after opening to be a FIFO
// and the same pipe (inode and device). -2: the subscriber is gone or refused, and was removed;
// -1: unreachable right now (the record is dropped).
int PinWorld::subscriber_fd_l(unsigned slot) {
    seg::Subscriber& sb = m_->s.subs[slot];
    LocalFd& l = fds_[slot];
    if (l.id == sb.id && l.fd >= 0) return l.fd;
    if (l.fd >= 0 && !l.own) ::close(l.fd);
    l = LocalFd{};
    std::string why;
    if (!subscriber_trusted_l(slot, &why)) {
        if (why != "its process has ended" && why != "its descriptor is gone")
            log_later(30, board_label(name_) + ": event line " + std::to_string(sb.id) + " of pid " +
                              std::to_string(sb.pid) + " refused and removed: " + why);
        drop_subscriber_l(slot);
        return -2;
    }
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/fd/%d", sb.pid, sb.read_fd);
    // Not O_NOFOLLOW: /proc/PID/fd/N is a link to be followed; what it opened is checked below.
    const int fd = ::open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        const int e = errno;
        if (e == ENOENT || e == ESRCH || e == ENXIO || !process_alive(sb.pid, sb.start)) {
            drop_subscriber_l(slot);
            return -2;
        }
        return -1;
    }
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) || st.st_ino != sb.ino || st.st_dev != sb.dev) {
        ::close(fd);
        log_later(30, board_label(name_) + ": event line " + std::to_string(sb.id) + " of pid " +
                          std::to_string(sb.pid) + " refused and removed: its descriptor changed");
        drop_subscriber_l(slot);
        return -2;
    }
    l = LocalFd{sb.id, fd, false};
    return fd;
}

void PinWorld::publish_l(unsigned gpio, int level, int64_t t) {
    seg::State& s = m_->s;
    bool masked = false, epipe = false, pending_before = false;
    sigset_t pipe_set, old_set;
    for (unsigned i = 0; i < seg::kMaxSubscribers; ++i) {
        seg::Subscriber& sb = s.subs[i];
        if (!sb.id || sb.gpio != gpio || !(level ? sb.rising : sb.falling)) continue;
        ++sb.seqno;
        LineEvent ev{};
        ev.timestamp_ns = static_cast<uint64_t>(t);
        ev.id = level ? kEventRising : kEventFalling;
        ev.offset = gpio;
        ev.seqno = sb.seqno;
        ev.line_seqno = sb.seqno;
        const int fd = subscriber_fd_l(i);
        if (fd == -2) continue;
        if (fd < 0) {
            ++sb.dropped;
            continue;
        }
        if (!fds_[i].own && !masked) {
            // A reader that died leaves a pipe without readers: write() then raises SIGPIPE.
            // Block it around these writes and swallow one that was not pending before.
            sigemptyset(&pipe_set);
            sigaddset(&pipe_set, SIGPIPE);
            ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
            sigset_t pending;
            sigpending(&pending);
            pending_before = sigismember(&pending, SIGPIPE) == 1;
            masked = true;
        }
        // A pipe write of <= PIPE_BUF bytes is all or nothing.
        const ssize_t n = ::write(fd, &ev, sizeof ev);
        if (n == static_cast<ssize_t>(sizeof ev)) continue;
        if (n < 0 && errno == EPIPE) {
            epipe = true;
            drop_subscriber_l(i);
            continue;
        }
        ++sb.dropped;
    }
    if (masked) {
        if (epipe && !pending_before) {
            const timespec zero{0, 0};
            ::sigtimedwait(&pipe_set, nullptr, &zero);
        }
        ::pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
    }
}

// ---------------------------------------------------------------------------------------------

void PinWorld::reset() {
    {
        Guard g(*this);
        reset_state_l();
        ++m_->s.resets;
    }
    join_generators(0);
}

}  // namespace rpio
