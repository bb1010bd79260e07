// A std::thread that never takes the process's asynchronous signals (SIGTERM, SIGINT, SIGHUP...).
// The kernel hands a process-directed signal to any thread that does not block it. Python runs its
// handlers in the main thread only after that thread wakes: a SIGTERM taken by a C++ worker leaves
// a main thread sleeping in time.sleep() asleep, and the program does not end (seen under
// qemu-user, which delivers to whichever thread the host picked). Workers created through this
// start with those signals blocked, so they reach a thread that acts on them. Faults (SIGSEGV,
// SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT) stay unblocked: they belong to the thread that
// raised them. rpio-core and rpio-pwm each carry this header (each builds alone); a test checks
// that the copies are identical.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace rpio_threads {

template <class... Args>
std::thread signal_free_thread(Args&&... args) {
    sigset_t blocked, previous;
    sigfillset(&blocked);
    for (int sync : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT}) sigdelset(&blocked, sync);
    pthread_sigmask(SIG_BLOCK, &blocked, &previous);  // the new thread inherits this mask
    struct Restore {
        const sigset_t* mask;
        ~Restore() { pthread_sigmask(SIG_SETMASK, mask, nullptr); }
    } restore{&previous};
    return std::thread(std::forward<Args>(args)...);
}

}  // namespace rpio_threads
