// The board: net resolution (outputs, sources, pulls, floating, shorts), parts, and the shared
// segment (attach from another process, edges across processes, crash recovery, stale boards).
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "check.hpp"
#include "rpio/bcm2835.hpp"
#include "rpio/sim_chip.hpp"

using namespace rpio;

namespace {

std::vector<std::string> g_logged;
void capture_log(int, const std::string& message) { g_logged.push_back(message); }

std::string board_name(const char* what) { return std::string("ctest-") + std::to_string(::getpid()) + "-" + what; }

size_t pending_records(int fd) {
    size_t n = 0;
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
        LineEvent ev;
        if (::read(fd, &ev, sizeof ev) != static_cast<ssize_t>(sizeof ev)) break;
        ++n;
    }
    return n;
}

int run_child(void (*body)(const std::string&), const std::string& name) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        body(name);
        ::_exit(0);  // no destructors: the process leaves the board as a crash would
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
}

// The kernel walks a dead thread's robust futex list and hands its locks on (EOWNERDEAD). qemu-user
// cannot (get/set_robust_list are ENOSYS there): a crashed holder's lock stays held.
bool robust_futex_lists() {
    void* head = nullptr;
    size_t len = 0;
    return ::syscall(SYS_get_robust_list, 0, &head, &len) == 0;
}

}  // namespace

TEST(net_outputs_beat_sources_and_pulls) {
    auto chip = std::make_shared<SimBcm2711>();
    Bcm2711Driver d(chip);
    PinWorld& w = chip->world();
    w.add_wire((uint64_t{1} << 20) | (uint64_t{1} << 21));
    d.set_pull(21, Pull::Up);  // GPIO 20 is pulled down at reset: opposite pulls float, read 0
    CHECK(chip->pin_state(20).floating);
    CHECK_EQ(chip->level(21), 0);
    d.set_pull(20, Pull::Off);  // the pull-up on the other end decides
    CHECK_EQ(chip->level(20), 1);
    CHECK(!chip->pin_state(20).floating);
    chip->drive(21, 0);  // an outside source beats the pulls
    CHECK_EQ(chip->level(20), 0);
    d.set_function(20, Function::Output);
    d.write(20, true);  // an output beats the source
    CHECK_EQ(chip->level(21), 1);
    CHECK_EQ(chip->level(20), 1);
    d.write(20, false);
    CHECK_EQ(chip->level(21), 0);
    d.set_function(20, Function::Input);
    chip->drive(21, -1);
    CHECK_EQ(chip->level(20), 1);  // back to the pull-up
}

TEST(net_short_reads_zero_is_logged_once_and_recorded) {
    set_log_hook(&capture_log);
    g_logged.clear();
    auto chip = std::make_shared<SimBcm2711>();
    Bcm2711Driver d(chip);
    PinWorld& w = chip->world();
    d.set_function(5, Function::Output);
    d.set_function(6, Function::Output);
    d.write(5, true);
    const uint32_t id = w.add_wire((uint64_t{1} << 5) | (uint64_t{1} << 6));
    CHECK_EQ(chip->level(5), 0);  // 1 against 0: a short reads 0
    CHECK_EQ(w.shorted(), (uint64_t{1} << 5) | (uint64_t{1} << 6));
    d.write(6, false);  // still shorted: no second warning
    CHECK_EQ(g_logged.size(), 1u);
    CHECK(g_logged[0].find("short circuit on GPIO 5, 6") != std::string::npos);
    const auto h = chip->history();
    CHECK(!h.empty() && cause_text(h.back()) == "short");
    d.write(6, true);  // both high: the short is over
    CHECK_EQ(chip->level(5), 1);
    CHECK_EQ(w.shorted(), 0u);
    w.remove_wire(id);
    CHECK_THROWS(w.remove_wire(id), NotFound);
    set_log_hook(nullptr);
}

TEST(net_sources_in_conflict_short_and_wires_validate) {
    set_log_hook(&capture_log);
    auto chip = std::make_shared<SimBcm2835>();
    PinWorld& w = chip->world();
    w.add_wire((uint64_t{1} << 30) | (uint64_t{1} << 31) | (uint64_t{1} << 32));
    CHECK(chip->pin_state(32).floating);
    chip->drive(30, 1);
    CHECK_EQ(chip->level(32), 1);
    chip->drive(31, 0);
    CHECK_EQ(chip->level(32), 0);
    CHECK(w.shorted() != 0);
    chip->drive(30, -1);
    CHECK_EQ(w.shorted(), 0u);
    CHECK_THROWS(w.add_wire(uint64_t{1} << 3), std::invalid_argument);
    CHECK_THROWS(w.add_wire(uint64_t{1} << 60 | 1), std::out_of_range);
    set_log_hook(nullptr);
}

TEST(edges_follow_the_net) {
    auto chip = std::make_shared<SimBcm2711>();
    Bcm2711Driver d(chip);
    chip->world().add_wire((uint64_t{1} << 17) | (uint64_t{1} << 27));
    auto line = chip->request_events(27, true, true);
    d.set_function(17, Function::Output);
    d.write(17, true);
    d.write(17, false);
    CHECK_EQ(pending_records(line->fileno()), 2u);
    const auto h = chip->history();
    CHECK(cause_text(h.back()) == "pid " + std::to_string(::getpid()) + " output");
}

TEST(parts_button_led_and_generator) {
    auto chip = std::make_shared<SimBcm2711>();
    PinWorld& w = chip->world();
    PartSpec b;
    b.kind = seg::PartKind::Button;
    b.name = "bell";
    b.gpio = 4;  // pulled up at reset
    b.active_low = true;
    w.add_part(b);
    CHECK_THROWS(w.add_part(b), std::invalid_argument);
    w.button_set("bell", true);
    CHECK_EQ(chip->level(4), 0);
    w.button_bounce("bell", false, 2, 2.0);  // 5 transitions over 2 ms, ends released
    CHECK_EQ(chip->level(4), 1);
    const auto h = chip->history();
    CHECK(h.size() >= 6);
    CHECK(cause_text(h.back()) == "part bell");
    PartSpec led;
    led.kind = seg::PartKind::Led;
    led.name = "lamp";
    led.gpio = 12;
    w.add_part(led);
    PartSpec gen;
    gen.kind = seg::PartKind::Generator;
    gen.name = "clk";
    gen.gpio = 12;
    gen.frequency = 2000;
    gen.duty = 0.5;
    w.add_part(gen);
    const int64_t before = monotonic_ns();
    w.generator_start("clk");
    const int64_t returned = monotonic_ns();
    CHECK_THROWS(w.generator_start("clk"), std::runtime_error);
    const int64_t deadline = monotonic_ns() + 5000000000LL;
    while (w.led_history("lamp").size() <= 60 && monotonic_ns() < deadline) ::usleep(5000);
    w.generator_stop("clk");
    CHECK_EQ(chip->level(12), 0);  // let go: GPIO 12 is pulled down
    const auto lh = w.led_history("lamp");
    CHECK(lh.size() > 60);
    CHECK(lh[1].second == 1 && lh[1].first >= before && lh[1].first <= returned);  // high at once
    const double bright = w.led_brightness("lamp", -1);
    CHECK(bright > 0.2 && bright < 0.8);
    CHECK_THROWS(w.button_set("lamp", true), std::invalid_argument);
    CHECK_THROWS(w.part("nothing"), NotFound);
    w.remove_part("clk");
    CHECK_EQ(w.parts().size(), 2u);
}

namespace {
void child_drives(const std::string& name) {
    auto w = PinWorld::open_shared(name, 0, "", 0, false);
    w->set_drive(22, 1);
}
// The children leak their board objects: like a crashed process, they never detach.
void child_holds_lock(const std::string& name) {
    auto* w = new std::shared_ptr<PinWorld>(PinWorld::open_shared(name, 0, "", 0, false));
    new PinWorld::Guard(**w);  // dies holding it
}
void child_builds_and_dies(const std::string& name) {
    auto* w = new std::shared_ptr<PinWorld>(
        PinWorld::open_shared(name, static_cast<uint32_t>(seg::ChipKind::Rp1), "d04170", 64, true));
    (*w)->add_wire(0x3);
    (*w)->set_drive(7, 1);
}
}  // namespace

TEST(shared_board_edges_cross_processes) {
    const std::string name = board_name("edges");
    auto w = PinWorld::open_shared(name, static_cast<uint32_t>(seg::ChipKind::Bcm2711), "c03111", 128, true);
    CHECK(PinWorld::open_shared(name, 0, "", 0, false) == w);  // one object per board per process
    CHECK_THROWS(PinWorld::open_shared(name, static_cast<uint32_t>(seg::ChipKind::Rp1), "", 0, true),
                 std::invalid_argument);
    auto chip = SimChip::for_world(w);
    auto line = chip->request_events(22, true, true);
    CHECK_EQ(run_child(&child_drives, name), 0);
    CHECK_EQ(chip->level(22), 1);
    CHECK_EQ(pending_records(line->fileno()), 1u);
    const auto h = chip->history();
    CHECK(!h.empty() && h.back().pid != ::getpid());
    bool listed = false;
    for (const auto& b : PinWorld::list_shared()) listed = listed || (b.name == name && b.kind == "bcm2711");
    CHECK(listed);
    line->close();
    chip.reset();
    w->detach();
    w.reset();
    CHECK(PinWorld::reset_shared(name));   // nobody attached: removed
    CHECK(!PinWorld::reset_shared(name));  // gone
}

TEST(shared_board_recovers_from_a_dead_lock_holder) {
    if (!robust_futex_lists()) SKIP("no robust futex lists here (qemu-user): a dead holder's lock is never handed on");
    set_log_hook(&capture_log);
    g_logged.clear();
    const std::string name = board_name("lock");
    auto w = PinWorld::open_shared(name, static_cast<uint32_t>(seg::ChipKind::Bcm2835), "2", 128, true);
    w->set_drive(40, 1);
    CHECK_EQ(run_child(&child_holds_lock, name), 0);
    w->set_drive(41, 1);  // EOWNERDEAD: recovered, state kept
    CHECK_EQ(w->level(40), 1);
    CHECK_EQ(w->level(41), 1);
    bool said = false;
    for (const auto& m : g_logged) said = said || m.find("died holding its lock") != std::string::npos;
    CHECK(said);
    w->detach();
    w.reset();
    PinWorld::reset_shared(name);
    set_log_hook(nullptr);
}

TEST(stale_shared_board_is_reset_on_attach) {
    set_log_hook(&capture_log);
    g_logged.clear();
    const std::string name = board_name("stale");
    CHECK_EQ(run_child(&child_builds_and_dies, name), 0);
    bool dead_listed = false;
    for (const auto& b : PinWorld::list_shared())
        dead_listed = dead_listed || (b.name == name && b.pids.empty() && b.dead_pids.size() == 1);
    CHECK(dead_listed);
    auto w = PinWorld::open_shared(name, 0, "", 0, false);
    CHECK(w->wires().empty());
    CHECK_EQ(w->level(7), 0);
    CHECK_EQ(w->resets(), 1u);
    bool said = false;
    for (const auto& m : g_logged) said = said || m.find("starts again from reset") != std::string::npos;
    CHECK(said);
    w->detach();
    w.reset();
    PinWorld::reset_shared(name);
    set_log_hook(nullptr);
}

TEST(private_boards_are_not_listed) {
    const auto before = PinWorld::list_shared().size();
    auto chip = std::make_shared<SimRp1>();
    chip->drive(3, 1);
    CHECK(!chip->world().shared());
    CHECK_EQ(PinWorld::list_shared().size(), before);
}
