#include <signal.h>

#include <atomic>
#include <cstring>

#include "rpio_pwm/hardware.hpp"

namespace rpio_pwm {
namespace signal_guard {

namespace {
// Signals whose default action ends the process (SIGKILL and SIGSTOP cannot be caught).
const std::vector<int> kSignals = {SIGHUP,  SIGINT,  SIGQUIT, SIGILL,  SIGTRAP, SIGABRT,   SIGBUS, SIGFPE,
                                   SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM,   SIGXCPU, SIGXFSZ,
                                   SIGVTALRM, SIGPROF, SIGSYS, SIGPWR, SIGIO,
#ifdef SIGSTKFLT
                                   SIGSTKFLT,
#endif
};
constexpr int kMaxSig = 65;
std::atomic<volatile uint32_t*> g_cs[kDmaChannels];
std::atomic<StopHook> g_hook{nullptr};
struct sigaction g_prev[kMaxSig];
bool g_have_prev[kMaxSig];
std::atomic<bool> g_installed{false};

void handler(int sig, siginfo_t* info, void* ctx) {
    const struct sigaction& prev = g_prev[sig];
    const bool had_handler = (prev.sa_flags & SA_SIGINFO) ? prev.sa_sigaction != nullptr
                                                           : (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN);
    if (had_handler) {
        // Someone (Python, for SIGINT) handles this signal: it keeps its meaning, untouched.
        if (prev.sa_flags & SA_SIGINFO)
            prev.sa_sigaction(sig, info, ctx);
        else
            prev.sa_handler(sig);
        return;
    }
    if (prev.sa_handler == SIG_IGN) return;
    // The default action ends the process: stop the DMA first, then die the same way.
    stop_all_now();
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(SIG_UNBLOCK, &s, nullptr);
    raise(sig);
}
}  // namespace

const std::vector<int>& guarded_signals() { return kSignals; }

void stop_all_now() {
    for (auto& slot : g_cs) {
        volatile uint32_t* cs = slot.load();
        if (cs) {
            *cs = dmareg::CS_ABORT;
            *cs = dmareg::CS_RESET;
        }
    }
    if (StopHook h = g_hook.load()) h();
}

void install(StopHook extra_hook) {
    if (extra_hook) g_hook.store(extra_hook);
    if (g_installed.exchange(true)) return;
    for (int sig : kSignals) {
        struct sigaction sa;
        std::memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = handler;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        g_have_prev[sig] = sigaction(sig, &sa, &g_prev[sig]) == 0;
    }
}

void uninstall() {
    if (!g_installed.exchange(false)) return;
    for (int sig : kSignals) {
        if (!g_have_prev[sig]) continue;
        // Only restore what we still own: a handler installed after us (e.g. by Python) stays.
        struct sigaction cur;
        if (sigaction(sig, nullptr, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == handler)
            sigaction(sig, &g_prev[sig], nullptr);
        g_have_prev[sig] = false;
    }
    g_hook.store(nullptr);
}

bool installed() { return g_installed.load(); }

void arm(int channel, volatile uint32_t* cs_register) {
    if (channel >= 0 && channel < kDmaChannels) g_cs[channel].store(cs_register);
}

void disarm(int channel) {
    if (channel >= 0 && channel < kDmaChannels) g_cs[channel].store(nullptr);
}

}  // namespace signal_guard
}  // namespace rpio_pwm
