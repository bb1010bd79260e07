// Plain C++ tests of the engine (no Python): compiler, model, pacer, device tree, mailbox,
// the hardware platform over a file standing in for /dev/mem, and the fatal-signal guard.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "rpio_pwm/controller.hpp"
#include "rpio_pwm/hardware.hpp"
#include "rpio_pwm/model.hpp"
#include "rpio_pwm/pacer.hpp"
#include "rpio_pwm/soft_engine.hpp"
#include "rpio_pwm/pio.hpp"
#include "rpio_pwm/wide.hpp"
#include <thread>
#include <atomic>
#include <chrono>

using namespace rpio_pwm;

namespace {
int g_failed = 0, g_checks = 0;
std::vector<std::pair<std::string, std::function<void()>>>& registry() {
    static std::vector<std::pair<std::string, std::function<void()>>> r;
    return r;
}
struct Reg {
    Reg(const char* n, std::function<void()> f) { registry().emplace_back(n, std::move(f)); }
};
#define TEST(name)                         \
    static void name();                    \
    static Reg reg_##name(#name, &name);   \
    static void name()
#define CHECK(cond)                                                                  \
    do {                                                                             \
        ++g_checks;                                                                  \
        if (!(cond)) {                                                               \
            ++g_failed;                                                              \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)
template <class E, class F>
bool throws(F f, const char* needle = nullptr) {
    try {
        f();
    } catch (const E& e) {
        return !needle || std::strstr(e.what(), needle) != nullptr;
    } catch (...) {
        return false;
    }
    return false;
}
constexpr uint64_t T = SimSoc::kTicksPerUs;

std::vector<std::pair<uint64_t, uint64_t>> pulses(const SimSoc& sim, int gpio, uint64_t since = 0) {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    bool high = false;
    uint64_t rise = 0;
    for (const auto& t : sim.transitions()) {
        if (t.gpio != gpio || t.t < since) continue;
        if (t.level) {
            rise = t.t;
            high = true;
        } else if (high) {
            out.push_back({rise, t.t - rise});
            high = false;
        }
    }
    return out;
}
}  // namespace

TEST(ring_layout_and_blocks) {
    SimSoc sim(Soc::BCM2837);
    Controller c(sim);
    c.setup(10, 0);
    c.init_channel(14, 3000);
    const Ring& r = c.ring(14);
    CHECK(r.num_samples() == 300);
    CHECK(r.first_cb_bus() % 32 == 0);
    CHECK((r.first_cb_bus() & 0xC0000000u) == 0xC0000000u);
    ControlBlock set = r.cb(7, 0), clr = r.cb(7, 1), del = r.cb(7, 2);
    CHECK(set.dest_ad == kBusGpset0 && clr.dest_ad == kBusGpclr0 && del.dest_ad == kBusPwmFifo);
    CHECK((del.ti & ti::DEST_DREQ) && ((del.ti & ti::PERMAP_MASK) >> ti::PERMAP_SHIFT) == kDreqPwm);
    CHECK(r.cb(299, 2).nextconbk == r.first_cb_bus());
    CHECK(r.start_cb_bus() == r.first_cb_bus() + 299 * 96 + 64);
    c.add_pulse(14, 17, 0, 1);
    CHECK(r.set_mask(0) == (1u << 17) && r.clr_mask(1) == (1u << 17) && r.set_mask(1) == 0);
}

TEST(compiler_refuses_non_bus_addresses) {
    std::vector<uint8_t> mem(RingLayout::for_samples(10).total_bytes + 64);
    uint8_t* p = mem.data() + (32 - reinterpret_cast<uintptr_t>(mem.data()) % 32) % 32;
    const SocInfo& pi3 = soc_info(Soc::BCM2837);
    DmaBuffer phys{p, 0x0D000000u, mem.size() - 32, 0};  // an ARM physical address
    CHECK(throws<PwmError>([&] { Ring r(pi3, phys, 10, Pacing::PWM); }, "physical address"));
    DmaBuffer periph{p, 0x7E200000u, mem.size() - 32, 0};
    CHECK(throws<PwmError>([&] { Ring r(pi3, periph, 10, Pacing::PWM); }, "not SDRAM"));
    DmaBuffer odd{p, 0xC0000010u, mem.size() - 32, 0};
    CHECK(throws<PwmError>([&] { Ring r(pi3, odd, 10, Pacing::PWM); }, "aligned"));
    DmaBuffer ok{p, 0xCD000000u, mem.size() - 32, 0};
    Ring r(pi3, ok, 10, Pacing::PCM);
    CHECK(r.cb(0, 2).dest_ad == kBusPcmFifo && r.cb(9, 2).nextconbk == 0xCD000000u);
}

TEST(model_waveform_exact) {
    SimSoc sim(Soc::BCM2837);
    Controller c(sim);
    c.setup(10, 0);
    c.init_channel(14, 20000);
    sim.watch_cb(14, c.ring(14).first_cb_bus());
    c.add_pulse(14, 17, 0, 150);
    c.add_pulse(14, 18, 150, 1);
    sim.advance(60000 * T);
    auto st = sim.ring_starts(14);
    CHECK(st.size() == 3 && st[0] == 10 * T && st[1] == 20010 * T);
    auto p17 = pulses(sim, 17), p18 = pulses(sim, 18);
    CHECK(p17.size() >= 2 && p17[0] == std::make_pair(10 * T, 1500 * T) && p17[1].first == 20010 * T);
    CHECK(p18.size() >= 2 && p18[0] == std::make_pair(1510 * T, 10 * T));
}

TEST(two_channels_do_not_double) {
    SimSoc sim(Soc::BCM2711);
    Controller c(sim);
    c.setup(10, 0);
    c.init_channel(10, 20000);
    c.init_channel(9, 5000);
    sim.watch_cb(10, c.ring(10).first_cb_bus());
    sim.watch_cb(9, c.ring(9).first_cb_bus());
    c.add_pulse(10, 5, 0, 100);
    c.add_pulse(9, 6, 0, 100);
    CHECK(c.pacer()->channels == 2 && c.pacer()->source_hz == 750000000);
    sim.advance(45000 * T);
    auto a = sim.ring_starts(10), b = sim.ring_starts(9);
    CHECK(a.size() >= 2 && a[1] - a[0] == 20000 * T);
    CHECK(b.size() >= 3 && b[2] - b[1] == 5000 * T);
    auto pa = pulses(sim, 5), pb = pulses(sim, 6, b[1]);
    CHECK(!pa.empty() && pa[0].second == 1000 * T);
    CHECK(!pb.empty() && pb[0].second == 1000 * T);
}

TEST(model_faults) {
    SimSoc sim(Soc::BCM2837);
    DmaBuffer b = sim.alloc_dma(4096);
    ControlBlock cb{ti::NO_WIDE_BURSTS, b.bus + 0x100, kBusGpset0, 4, 0, 0, {0, 0}};
    std::memcpy(b.cpu + 64, &cb, 32);
    sim.write32(BusAddr{kBusDma + 0x500 + dmareg::CONBLK_AD}, b.bus + 72);  // misaligned
    CHECK(throws<ModelFault>([&] { sim.write32(BusAddr{kBusDma + 0x500}, 1); }, "32-byte aligned"));
    cb.dest_ad = 0x3F20001C;
    std::memcpy(b.cpu, &cb, 32);
    sim.write32(BusAddr{kBusDma + 0x400}, dmareg::CS_RESET);
    sim.write32(BusAddr{kBusDma + 0x400 + dmareg::CONBLK_AD}, b.bus);
    CHECK(throws<ModelFault>([&] { sim.write32(BusAddr{kBusDma + 0x400}, 1); }, "ARM physical"));
}

TEST(pacer_exactness) {
    const SocInfo& pi3 = soc_info(Soc::BCM2837);
    for (uint32_t k = 1; k <= 6; ++k) {
        PacerConfig p = compute_pacer(pi3, Pacing::PWM, 10, k);
        CHECK(static_cast<uint64_t>(p.range) * p.divi * 1000000ull * k == p.source_hz * 10);
    }
    CHECK(throws<PwmError>([&] { compute_pacer(pi3, Pacing::PWM, 10, 7); }, "cannot share"));
    PacerConfig p4 = compute_pacer(soc_info(Soc::BCM2711), Pacing::PWM, 10, 1);
    CHECK(p4.source_hz == 750000000 && p4.range * p4.divi == 7500u);
}

TEST(state_rules) {
    PwmState s(soc_info(Soc::BCM2711));
    CHECK(throws<PwmError>([&] { s.check_init_channel(3, 20000); }, "setup"));
    s.setup(10, Pacing::PWM);
    CHECK(throws<PwmArgumentError>([&] { s.check_init_channel(12, 20000); }, "DMA4"));
    CHECK(throws<PwmArgumentError>([&] { s.check_init_channel(15, 20000); }, "maximum channel is 14"));
    CHECK(throws<PwmArgumentError>([&] { s.check_init_channel(3, 2000); }, "too small"));
    s.init_channel(3, 3000);
    CHECK(throws<PwmArgumentError>([&] { s.check_add_pulse(3, 17, 299, 2); }, "start+width <= 300"));
    s.check_add_pulse(3, 17, 0, 300);
}

namespace {
std::string make_tmpdir() {
    char tmpl[] = "/tmp/rpio_pwm_test_XXXXXX";
    return mkdtemp(tmpl);
}
void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}
std::vector<uint8_t> be(std::initializer_list<uint32_t> words) {
    std::vector<uint8_t> out;
    for (uint32_t w : words) {
        out.push_back(w >> 24);
        out.push_back((w >> 16) & 0xFF);
        out.push_back((w >> 8) & 0xFF);
        out.push_back(w & 0xFF);
    }
    return out;
}
}  // namespace

TEST(device_tree) {
    std::string root = make_tmpdir();
    mkdir((root + "/soc").c_str(), 0755);
    mkdir((root + "/soc/dma@7e007000").c_str(), 0755);
    std::string compat = "raspberrypi,4-model-b";
    compat.push_back('\0');
    compat += "brcm,bcm2711";
    compat.push_back('\0');
    write_file(root + "/compatible", std::vector<uint8_t>(compat.begin(), compat.end()));
    write_file(root + "/soc/ranges", be({0x7E000000, 0x0, 0xFE000000, 0x01800000}));
    std::string dc = std::string("brcm,bcm2835-dma") + '\0';
    write_file(root + "/soc/dma@7e007000/compatible", std::vector<uint8_t>(dc.begin(), dc.end()));
    write_file(root + "/soc/dma@7e007000/brcm,dma-channel-mask", be({0x07F5}));
    DeviceTreeInfo i = read_device_tree(root);
    CHECK(i.soc == Soc::BCM2711 && i.periph_base == 0xFE000000u && i.dma_channel_mask == 0x07F5u);
    CHECK(default_dma_channel(Soc::BCM2711, i.dma_channel_mask) == 10);
    CHECK(default_dma_channel(Soc::BCM2837, std::nullopt) == 14);
    CHECK(*parse_soc_ranges(be({0x7E000000, 0x3F000000, 0x01000000}), nullptr) == 0x3F000000u);
    std::system(("rm -rf " + root).c_str());
}

namespace {
// A mailbox that hands out memory at fake physical addresses inside the /dev/mem stand-in file.
struct FakeMailbox : MailboxTransport {
    uint32_t next_phys = 0x300000;
    std::map<uint32_t, std::pair<uint32_t, uint32_t>> mem;  // handle -> (phys, size)
    std::vector<uint32_t> tags;
    uint32_t next_handle = 1;
    void property(uint32_t* m) override {
        uint32_t tag = m[2];
        tags.push_back(tag);
        m[1] = 0x80000000u;
        m[4] = 0x80000000u | 4;
        if (tag == Mailbox::TAG_MEM_ALLOC) {
            uint32_t h = next_handle++;
            mem[h] = {next_phys, m[5]};
            next_phys += (m[5] + 4095) & ~4095u;
            m[5] = h;
        } else if (tag == Mailbox::TAG_MEM_LOCK) {
            m[5] = 0xC0000000u | mem.at(m[5]).first;
        } else if (tag == Mailbox::TAG_MEM_RELEASE) {
            mem.erase(m[5]);
            m[5] = 0;
        } else {
            m[5] = 0;
        }
    }
};
}  // namespace

TEST(hardware_platform_over_a_file) {
    std::string dir = make_tmpdir();
    std::string devmem = dir + "/mem";
    int fd = open(devmem.c_str(), O_RDWR | O_CREAT, 0600);
    CHECK(fd >= 0 && ftruncate(fd, 0x400000) == 0);
    close(fd);
    auto fake = std::make_unique<FakeMailbox>();
    FakeMailbox* mb = fake.get();
    HardwareOptions o;
    o.devmem = devmem;
    o.periph_base = 0;  // peripherals at file offset 0 (+0x7000 DMA, +0x20C000 PWM, ...)
    o.signal_guard = false;
    {
        HardwarePlatform hw(Soc::BCM2837, o, std::move(fake));
        Controller c(hw);
        c.setup(10, 0);
        c.init_channel(5, 3000);
        c.add_pulse(5, 17, 0, 1);
        const Ring& r = c.ring(5);
        CHECK(r.first_cb_bus() == 0xC0300000u);
        CHECK(hw.read32(BusAddr{kBusDma + 0x500}) == dmareg::CS_GO);
        CHECK(hw.read32(BusAddr{kBusDma + 0x500 + dmareg::CONBLK_AD}) == r.start_cb_bus());
        CHECK(hw.read32(BusAddr{kBusPwm + pwmreg::RNG1}) == 250);
        CHECK(hw.read32(BusAddr{kBusClock + cmreg::PWMDIV}) == (cmreg::PASSWD | (20u << 12)));
        CHECK(hw.read32(BusAddr{kBusClock + cmreg::PWMCTL}) == (cmreg::PASSWD | 6u | cmreg::CTL_ENAB));
        CHECK(((hw.read32(BusAddr{kBusGpio + 4}) >> 21) & 7u) == 1);  // GPIO17 is an output
        CHECK(throws<PwmError>([&] { hw.read32(BusAddr{0x3F007000}); }, "ARM physical"));
        // the ring in "physical memory" (the file) holds the control blocks
        std::ifstream f(devmem, std::ios::binary);
        f.seekg(0x300000);
        ControlBlock cb0;
        f.read(reinterpret_cast<char*>(&cb0), 32);
        CHECK(cb0.dest_ad == kBusGpset0 && cb0.nextconbk == 0xC0300020u);
        uint32_t set0 = 0;
        f.seekg(0x300000 + r.layout().set_offset(0));
        f.read(reinterpret_cast<char*>(&set0), 4);
        CHECK(set0 == (1u << 17));
        c.cleanup();
        CHECK(hw.read32(BusAddr{kBusDma + 0x500}) == dmareg::CS_RESET);
        CHECK(mb->mem.empty());  // unlocked and released
    }
    std::system(("rm -rf " + dir).c_str());
}

namespace {
int g_pipe = -1;
void hook() {
    ssize_t r = write(g_pipe, "S", 1);
    (void)r;
}
volatile sig_atomic_t g_usr1 = 0;
void on_usr1(int) { g_usr1 = 1; }
}  // namespace

TEST(signal_guard_stops_then_dies) {
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        g_pipe = p[1];
        signal(SIGUSR1, on_usr1);  // a program's own handler: passed on, no stop
        signal_guard::install(&hook);
        raise(SIGUSR1);
        if (!g_usr1) _exit(3);
        raise(SIGTERM);  // default action: stop, then die by SIGTERM
        _exit(4);
    }
    close(p[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    char buf[8] = {};
    ssize_t n = read(p[0], buf, sizeof buf);
    close(p[0]);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    CHECK(n == 1 && buf[0] == 'S');
}

TEST(busy_channel_is_refused_never_taken_over) {
    for (bool active : {true, false}) {
        SimSoc sim(Soc::BCM2837);
        Controller c(sim);
        c.setup(10, 0);
        sim.occupy_channel(14, active, 0xCD100000u);  // pigpio (active) or a paused transfer
        CHECK(c.channel_busy(14) && !c.channel_busy(13));
        CHECK(throws<DmaChannelBusy>([&] { c.init_channel(14, 20000); }, "DMA channel 14 is in use"));
        CHECK(throws<DmaChannelBusy>([&] { c.init_channel(14, 20000); }, "RPIO_PWM_DMA_CHANNEL"));
        CHECK(throws<DmaChannelBusy>([&] { c.init_channel(14, 20000); }, "free now: 13, 12"));
        CHECK(sim.takeovers() == 0 && sim.channel_foreign(14));  // not one register write to it
        CHECK(!c.state().is_channel_initialized(14) && !c.pacer().has_value());
        c.init_channel(13, 20000);  // another channel works, and leaves 14 alone
        c.add_pulse(13, 17, 0, 10);
        sim.advance(30000 * T);
        CHECK(sim.takeovers() == 0 && sim.channel_foreign(14) && !pulses(sim, 17).empty());
        c.cleanup();
        CHECK(sim.takeovers() == 0 && sim.channel_foreign(14));
    }
    // Our own channel, released, is free again (RESET leaves CONBLK_AD 0).
    SimSoc sim(Soc::BCM2711);
    Controller c(sim);
    c.setup(10, 0);
    c.init_channel(10, 20000);
    CHECK(c.channel_busy(10));
    c.release_channel(10);
    CHECK(!c.channel_busy(10));
    c.init_channel(10, 10000);
    CHECK(c.state().is_channel_initialized(10));
}

// Every store into a ring's mask words, replayed in order: after each one, no sample may have a
// pin in both its SET and its CLR word (the DMA could read that state at any moment: a spike).
TEST(ring_edits_never_put_a_pin_in_set_and_clr) {
    SimSoc sim(Soc::BCM2837);
    Controller c(sim);
    c.setup(10, 0);
    c.init_channel(14, 3000);
    Ring& ring = const_cast<Ring&>(c.ring(14));
    const RingLayout& l = ring.layout();
    std::vector<uint32_t> set(ring.num_samples(), 0), clr(ring.num_samples(), 0);
    size_t stores = 0, bad = 0;
    ring.set_store_observer([&](size_t off, uint32_t v) {
        ++stores;
        const size_t s = (off - l.masks_offset) / 8;
        ((off - l.masks_offset) % 8 ? clr : set)[s] = v;
        if (set[s] & clr[s]) ++bad;
    });
    uint32_t seed = 12345;
    auto rnd = [&](uint32_t n) { seed = seed * 1103515245u + 12345u; return (seed >> 8) % n; };
    for (int i = 0; i < 400; ++i) {
        const int g = 4 + static_cast<int>(rnd(4));
        const uint32_t start = rnd(300), width = 1 + rnd(300 - start);
        if (rnd(5) == 0)
            c.clear_channel_gpio(14, g);
        else
            c.set_pulses(14, g, {{start, width}});
    }
    CHECK(stores > 1000);
    CHECK(bad == 0);
    // The mirror the observer kept is what the buffer holds.
    for (uint32_t s = 0; s < ring.num_samples(); ++s) CHECK(set[s] == ring.set_mask(s) && clr[s] == ring.clr_mask(s));
}

TEST(soft_engine_schedule_is_exact_in_manual_mode) {
    auto sink = std::make_shared<RecordingSink>();
    SoftEngine e(sink, false);
    e.set_edge_log(100);
    e.set_pin(17, 1000, {{0, 250}}, 0);  // the level due now is written at once
    CHECK(sink->entries().size() == 1 && sink->entries()[0].level == 1);
    CHECK(e.run_until(2999) == 5);       // 250 fall, 1000 rise, 1250 fall, 2000 rise, 2250 fall
    auto log = e.edge_log();
    CHECK(log.size() == 5 && log[0].due_ns == 250 && log[0].level == 0 && log[1].due_ns == 1000 &&
          log[1].level == 1 && log[4].due_ns == 2250);
    // A duty change keeps the phase: the next rise is still at 3000, the fall moves to 3600.
    e.set_pin(17, 1000, {{0, 600}}, 2999);
    CHECK(e.run_until(4000) == 3);
    log = e.edge_log();
    CHECK(log[5].due_ns == 3000 && log[6].due_ns == 3600 && log[7].due_ns == 4000);
    // A new period restarts the phase at the edit.
    e.set_pin(17, 500, {{0, 100}}, 4200);  // level at 4200 is 1 (origin 4200): written
    CHECK(e.next_event_ns().value() == 4300);
    // 0 % and 100 % are constant levels: no edges.
    e.set_pin(18, 1000, {}, 4200);
    e.set_pin(19, 1000, {{0, 1000}}, 4200);
    auto ents = sink->entries();
    CHECK(ents.back().gpio == 19 && ents.back().level == 1);
    e.remove_pin(17, 0);
    e.remove_pin(19, 0);
    CHECK(e.pins() == std::vector<int>{18});
    CHECK(sink->entries().back().gpio == 19 && sink->entries().back().level == 0);
    CHECK(throws<PwmArgumentError>([&] { e.set_pin(5, 1000, {{0, 1001}}); }, "outside the period"));
    CHECK(throws<PwmArgumentError>([&] { e.set_pin(5, 0, {}); }, "positive"));
}

TEST(soft_engine_never_hangs_and_removes_cleanly) {
    // 1 MHz: faster than any thread can follow. Every call returns; after remove_pin nothing of
    // the old waveform lands (the last write is the LOW of remove_pin).
    auto sink = std::make_shared<RecordingSink>();
    auto e = std::make_unique<SoftEngine>(sink, true);
    e->set_pin(23, 1000, {{0, 500}});
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    e->set_pin(23, 1000, {{0, 100}});  // an edit
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    e->remove_pin(23, 0);
    const size_t n = sink->entries().size();
    CHECK(n >= 3);
    CHECK(sink->entries().back().level == 0 && sink->entries().back().gpio == 23);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(sink->entries().size() == n);
    e->set_pin(24, 1000, {{0, 500}});
    e.reset();  // the destructor stops the thread with a pin running
    CHECK(true);
}

TEST(soft_engine_threaded_edges_follow_the_schedule) {
    // The thread writes each edge at or after its due time, in order, alternating.
    auto sink = std::make_shared<RecordingSink>();
    SoftEngine e(sink, true);
    e.set_edge_log(1000);
    e.set_pin(4, 2000000, {{0, 500000}});  // 500 Hz, 25 %
    while (e.edge_log().size() < 10) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    e.stop();
    auto log = e.edge_log();
    for (size_t i = 0; i < log.size(); ++i) {
        CHECK(log[i].written_ns >= log[i].due_ns);
        if (i) CHECK(log[i].level != log[i - 1].level);
        if (i >= 2) CHECK(log[i].due_ns - log[i - 2].due_ns == 2000000 || e.stats().skipped_periods > 0);
    }
}

namespace {
struct SlowSink final : PinSink {
    std::atomic<int> writes{0};
    bool write(int, int) override {
        std::this_thread::sleep_for(std::chrono::microseconds(500));  // a writer far slower than the PWM
        ++writes;
        return true;
    }
};
}  // namespace

TEST(soft_engine_skips_periods_it_cannot_keep) {
    // 10 kHz with a writer taking >= 500 us a write: the engine must drop the periods it missed and
    // stay with the present, not work through an ever-growing backlog of past edges.
    auto sink = std::make_shared<SlowSink>();
    SoftEngine e(sink, true);
    e.set_edge_log(100000);
    const int64_t start = monotonic_now_ns();
    e.set_pin(7, 100000, {{0, 50000}});
    while (sink->writes.load() < 60) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    e.remove_pin(7, 0);
    const int64_t end = monotonic_now_ns();
    auto log = e.edge_log();
    CHECK(e.stats().skipped_periods > 0);
    // 60 writes took >= 30 ms; without skipping, their due times would span only 60 x 50 us = 3 ms.
    CHECK(!log.empty() && log.back().due_ns - start > (end - start) / 2);
}

namespace {
using namespace rpio_pwm::pio;
using EvP = std::pair<uint64_t, int>;
// pinctrl: sideset count, set count, out count, in base, sideset base, set base, out base
uint32_t pinctrl(uint32_t ss, uint32_t setc, uint32_t outc, uint32_t in_base, uint32_t ss_base, uint32_t set_base,
                 uint32_t out_base) {
    return (ss << 29) | (setc << 26) | (outc << 20) | (in_base << 15) | (ss_base << 10) | (set_base << 5) | out_base;
}
uint32_t execctrl(uint32_t top, uint32_t bottom, bool side_en = false, uint32_t jmp_pin = 0) {
    return (side_en ? exec::SIDE_EN : 0) | (jmp_pin << 24) | (top << 12) | (bottom << 7);
}
std::vector<std::pair<uint64_t, int>> evs(const Block& b, int gpio) {
    std::vector<std::pair<uint64_t, int>> out;
    for (const auto& e : b.events())
        if (e.gpio == gpio) out.push_back({e.cycle, e.level});
    return out;
}
Block one_sm(const std::vector<uint16_t>& prog, SmConfig cfg, int pin = 3) {
    Block b;
    b.load(0, prog);
    b.sm_init(0, 0, cfg);
    b.set_pio_function(pin, true);
    return b;
}
}  // namespace

TEST(pio_set_and_delays) {
    SmConfig c;
    c.execctrl = execctrl(1, 0);
    c.pinctrl = pinctrl(0, 1, 0, 0, 0, 3, 0);
    Block b = one_sm({enc_set(0, 1, 3), enc_set(0, 0, 1)}, c);  // set pins 1 [3]; set pins 0 [1]
    b.sm_exec_now(0, enc_set(4, 1));                            // set pindirs, 1
    b.sm_set_enabled(0, true);
    b.run_until(20);
    // pindir at cycle 0 (pin low, now driven); steps at 1, 2, ...: high 4 cycles, low 2
    auto e = evs(b, 3);
    CHECK(e.size() >= 6 && e[0] == EvP(0, 0) && e[1] == EvP(1, 1) &&
          e[2] == EvP(5, 0) && e[3] == EvP(7, 1) &&
          e[4] == EvP(11, 0));
}

TEST(pio_sideset_mandatory_and_optional) {
    SmConfig c;  // side-set 1 bit, mandatory: nop side 1; nop side 0 [2]
    c.execctrl = execctrl(1, 0);
    c.pinctrl = pinctrl(1, 0, 0, 0, 3, 0, 0);
    Block b = one_sm({enc_mov(2, 0, 2, delay_side(1, false, 1, 0)), enc_mov(2, 0, 2, delay_side(1, false, 0, 2))}, c);
    b.sm_exec_now(0, enc_set(4, 0));  // no SET pins: dirs through side-set's PINDIR would need SIDE_PINDIR
    SmConfig d = c;
    d.pinctrl = pinctrl(1, 1, 0, 0, 3, 3, 0);
    b.sm_set_config(0, d);
    b.sm_exec_now(0, enc_set(4, 1));
    b.sm_set_enabled(0, true);
    b.run_until(12);
    auto e = evs(b, 3);  // high at 1, low at 2 (held 3 cycles: 2,3,4), high at 5, low at 6
    CHECK(e.size() >= 5 && e[1].first == 1 && e[1].second == 1 && e[2].first == 2 && e[2].second == 0 &&
          e[3].first == 5 && e[4].first == 6);
    // optional side-set: only instructions that assert it touch the pin
    SmConfig o;
    o.execctrl = execctrl(2, 0, true);
    o.pinctrl = pinctrl(2, 1, 0, 0, 3, 3, 0);
    Block b2 = one_sm({enc_mov(2, 0, 2, delay_side(1, true, 1, 0)), enc_mov(2, 0, 2, delay_side(1, true, -1, 1)),
                       enc_mov(2, 0, 2, delay_side(1, true, 0, 0))}, o);
    b2.sm_exec_now(0, enc_set(4, 1));
    b2.sm_set_enabled(0, true);
    b2.run_until(10);
    auto e2 = evs(b2, 3);  // high at 1; the plain nop (2 cycles: 2,3) leaves it; low at 4; high at 5
    CHECK(e2.size() >= 4 && e2[1] == EvP(1, 1) && e2[2] == EvP(4, 0) &&
          e2[3] == EvP(5, 1));
}

TEST(pio_jmp_conditions) {
    SmConfig c;
    c.execctrl = execctrl(31, 0, false, 7);
    Block b;
    b.sm_init(0, 0, c);
    auto run1 = [&](uint16_t ins, uint32_t x, uint32_t y) {
        b.load(0, {ins});
        b.sm_init(0, 0, c);
        b.sm_exec_now(0, enc_set(1, x));
        b.sm_exec_now(0, enc_set(2, y));
        b.sm_set_enabled(0, true);
        b.run_until(b.now() + 1);
        b.sm_set_enabled(0, false);
        return b.pc(0);
    };
    CHECK(run1(enc_jmp(0, 9), 0, 0) == 9);
    CHECK(run1(enc_jmp(1, 9), 0, 0) == 9 && run1(enc_jmp(1, 9), 1, 0) == 1);    // !x
    CHECK(run1(enc_jmp(2, 9), 3, 0) == 9 && b.x(0) == 2);                         // x-- (taken, then --)
    CHECK(run1(enc_jmp(2, 9), 0, 0) == 1 && b.x(0) == 0xFFFFFFFFu);               // x-- falls through at 0
    CHECK(run1(enc_jmp(3, 9), 0, 0) == 9 && run1(enc_jmp(3, 9), 0, 5) == 1);      // !y
    CHECK(run1(enc_jmp(4, 9), 0, 1) == 9 && b.y(0) == 0);                         // y--
    CHECK(run1(enc_jmp(5, 9), 1, 2) == 9 && run1(enc_jmp(5, 9), 2, 2) == 1);      // x!=y
    b.set_input(7, 1);
    CHECK(run1(enc_jmp(6, 9), 0, 0) == 9);                                        // pin (JMP_PIN 7)
    b.set_input(7, 0);
    CHECK(run1(enc_jmp(6, 9), 0, 0) == 1);
    CHECK(run1(enc_jmp(7, 9), 0, 0) == 1);  // !osre: OSR empty after init
}

TEST(pio_fifos_stall_autopull_push_in_out_mov) {
    SmConfig c;
    c.execctrl = execctrl(1, 0);
    c.pinctrl = pinctrl(0, 0, 4, 0, 0, 0, 0) | 0;  // OUT pins 0..3
    Block b = one_sm({enc_pull(false, true), enc_out(0, 4)}, c, 0);
    for (int g = 1; g < 4; ++g) b.set_pio_function(g, true);
    b.sm_exec_now(0, enc_set(1, 0));
    SmConfig d = c;
    d.pinctrl |= 4u << 26;  // SET_COUNT 4 at base 0: make the 4 pins outputs
    b.sm_set_config(0, d);
    b.sm_exec_now(0, enc_set(4, 15));
    b.sm_set_config(0, c);
    b.sm_set_enabled(0, true);
    b.run_until(10);
    CHECK(b.stalled(0) && b.pc(0) == 0 && b.sm_steps(0) == 10);  // blocking PULL on an empty FIFO
    CHECK(b.sm_put(0, 0xA));
    b.run_until(12);  // pull at 11, out at 12: pins 0..3 = 1010
    CHECK(!b.stalled(0) && b.level(0) == 0 && b.level(1) == 1 && b.level(2) == 0 && b.level(3) == 1);
    for (int i = 0; i < 4; ++i) CHECK(b.sm_put(0, i));
    CHECK(!b.sm_put(0, 99));  // 4 deep
    // autopull with threshold 8, shift left: OUT x, 4 twice takes the top nibbles, then refills
    SmConfig a;
    a.execctrl = execctrl(0, 0);
    a.shiftctrl = (1u << 17) | (8u << 25);  // autopull, pull threshold 8, shift left
    Block b2 = one_sm({enc_out(1, 4)}, a);
    b2.sm_set_enabled(0, true);
    b2.run_until(3);
    CHECK(b2.stalled(0));  // autopull on an empty FIFO stalls OUT
    b2.sm_put(0, 0xAB000000u);
    b2.sm_put(0, 0xCD000000u);
    b2.run_until(4);
    CHECK(b2.x(0) == 0xA);
    b2.run_until(5);
    CHECK(b2.x(0) == 0xB);
    b2.run_until(6);
    CHECK(b2.x(0) == 0xC);
    // IN + autopush (threshold 8, shift left), MOV invert / bit-reverse, PUSH/RX FIFO
    SmConfig p;
    p.execctrl = execctrl(3, 0);
    p.shiftctrl = (1u << 16) | (8u << 20);
    Block b3 = one_sm({enc_set(1, 5), enc_in(1, 4), enc_mov(2, 1, 1), enc_mov(6, 2, 1)}, p);
    b3.sm_set_enabled(0, true);
    b3.run_until(4);
    CHECK(b3.y(0) == ~5u && b3.isr(0) == 0xA0000000u);  // mov y, ~x; mov isr, ::x
    b3.sm_set_enabled(0, false);
    Block b4 = one_sm({enc_set(1, 5), enc_in(1, 4), enc_in(1, 4), enc_push(false, true)}, p);
    b4.sm_set_enabled(0, true);
    b4.run_until(3);
    uint32_t w = 0;
    CHECK(b4.sm_get(0, &w) && w == 0x55);  // autopush after 8 bits
}

TEST(pio_wrap_irq_exec_and_divider) {
    // wrap: instructions 1..2 loop, 0 runs once
    SmConfig c;
    c.execctrl = execctrl(2, 1);
    Block b = one_sm({enc_set(1, 7), enc_jmp(2, 1), enc_set(2, 1)}, c);  // jmp x-- 1 ; set y 1
    b.sm_set_enabled(0, true);
    b.run_until(30);
    CHECK(b.pc(0) == 1 || b.pc(0) == 2);
    CHECK(b.y(0) == 1);
    // IRQ: SM0 raises 0 and waits; SM1 waits for it (clearing it); SM0 then goes on
    Block q;
    q.load(0, {enc_irq(false, true, 0), enc_set(1, 9)});
    q.load(2, {enc_wait(true, 2, 0), enc_set(1, 4)});
    SmConfig s0, s1;
    s0.execctrl = execctrl(1, 1);
    s1.execctrl = execctrl(3, 3);
    q.sm_init(0, 0, s0);
    q.sm_init(1, 2, s1);
    q.sm_set_enabled(0, true);
    q.run_until(5);
    CHECK(q.stalled(0) && q.irq_flags() == 1 && q.x(0) == 0);
    q.sm_set_enabled(1, true);
    q.run_until(10);
    CHECK(q.x(1) == 4 && q.irq_flags() == 0 && q.x(0) == 9);
    // forced instruction and OUT EXEC
    Block e = one_sm({enc_jmp(0, 0)}, SmConfig{});
    e.sm_set_enabled(0, true);
    e.sm_exec(0, enc_set(2, 21));
    e.run_until(2);
    CHECK(e.y(0) == 21 && e.pc(0) == 0);
    // divider 3: steps on cycles 3, 6, 9; 2.5 (INT 2, FRAC 128): 3, 5, 8, 10 (alternating 3 and 2)
    Block d = one_sm({enc_jmp(0, 0)}, SmConfig{});
    d.set_clkdiv(0, 3, 0);
    d.sm_set_enabled(0, true);
    d.run_until(9);
    CHECK(d.sm_steps(0) == 3);
    Block f = one_sm({enc_jmp(0, 0)}, SmConfig{});
    f.set_clkdiv(0, 2, 128);
    f.sm_set_enabled(0, true);
    f.run_until(10);
    CHECK(f.sm_steps(0) == 4);
}

TEST(pio_pwm_program_exact_widths_and_period_boundary) {
    for (bool fast : {true, false}) {
        const PwmPlan plan = plan_pwm(20000000, 1500000);  // 50 Hz servo, 1500 us
        CHECK(plan.exact && plan.constant == -1 && plan.div_int == 100);  // 0.5 us cycles
        Block b;
        b.set_fast_forward(fast);
        b.load(0, PwmProgram::instructions());
        b.sm_init(0, 0, PwmProgram::config(0, 4, plan.div_int));
        b.set_pio_function(4, true);
        b.sm_exec_now(0, enc_set(0, 0));
        b.sm_exec_now(0, enc_set(4, 1));
        b.sm_put(0, plan.word);
        b.sm_set_enabled(0, true);
        const uint64_t ms = kRp1ClockHz / 1000;
        b.run_until(50 * ms);
        // then a new width: it lands at the next period boundary, never mid-period
        const PwmPlan p2 = plan_pwm(20000000, 1000000);
        b.sm_put(0, p2.word);
        b.run_until(120 * ms);
        auto e = evs(b, 4);
        std::vector<uint64_t> rises, widths;
        for (size_t i = 1; i + 1 < e.size(); ++i)
            if (e[i].second == 1 && e[i + 1].second == 0) {
                rises.push_back(e[i].first);
                widths.push_back(e[i + 1].first - e[i].first);
            }
        CHECK(rises.size() >= 5);
        for (size_t i = 1; i < rises.size(); ++i) CHECK(rises[i] - rises[i - 1] == 20 * ms);
        size_t changed = 0;
        for (size_t i = 0; i < widths.size(); ++i) {
            CHECK(widths[i] == 300000 || widths[i] == 200000);  // 1500 us / 1000 us, exactly
            if (widths[i] == 200000) {
                if (!changed) changed = i;
                CHECK(rises[i] > 50 * ms);
            } else {
                CHECK(!changed);  // once changed, it stays changed
            }
        }
        CHECK(changed > 0 && rises[changed] - rises[changed - 1] == 20 * ms);
        if (fast) CHECK(b.sm_steps(0) > 0);
    }
    CHECK(plan_pwm(1000, 0).constant == 0 && plan_pwm(1000, 1000).constant == 1);
    const PwmPlan f1m = plan_pwm(1000, 500);  // 1 MHz: 200 cycles at 200 MHz, 100 high
    CHECK(f1m.exact && f1m.div_int == 1 && f1m.period_cycles == 200 && f1m.high_cycles == 100);
}

TEST(wide_products_and_divisions_are_exact) {
    // the 128-bit maths of the timing code, without unsigned __int128 (absent on 32-bit ARM)
    const Wide m = mul_wide(UINT64_MAX, UINT64_MAX);  // (2^64 - 1)^2 = 2^128 - 2^65 + 1
    CHECK(m.hi == UINT64_MAX - 1 && m.lo == 1);
    const WideDivision q = div_wide(m, UINT64_MAX);
    CHECK(q.quotient.hi == 0 && q.quotient.lo == UINT64_MAX && q.remainder == 0);
    CHECK(mul_div(20000000000ull, 200000000ull, 1000000000u) == 4000000000ull);  // 20 s at 200 MHz
    CHECK(mul_mod(1000, 200000000ull, 3000000000ull) == 2000000000ull);
    CHECK(mul_div(UINT64_MAX, 4, 2) == UINT64_MAX);  // a quotient past 64 bits saturates
#ifdef __SIZEOF_INT128__
    uint64_t x = 0x9E3779B97F4A7C15ull;  // against the compiler's own 128-bit integers, where it has them
    for (int i = 0; i < 2000; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const uint64_t a = x, b = (x * 0x2545F4914F6CDD1Dull) >> (i % 64), d = (x >> (i % 61)) | 1u;
        const unsigned __int128 n = static_cast<unsigned __int128>(a) * b;
        const Wide w = mul_wide(a, b);
        CHECK(w.hi == static_cast<uint64_t>(n >> 64) && w.lo == static_cast<uint64_t>(n));
        const WideDivision r = div_wide(w, d);
        const unsigned __int128 nq = n / d;
        CHECK(r.remainder == static_cast<uint64_t>(n % d));
        CHECK(r.quotient.hi == static_cast<uint64_t>(nq >> 64) && r.quotient.lo == static_cast<uint64_t>(nq));
    }
#endif
}

int main() {
    for (auto& t : registry()) {
        int before = g_failed;
        t.second();
        std::printf("%s %s\n", g_failed == before ? "ok  " : "FAIL", t.first.c_str());
    }
    std::printf("%d checks, %d failed\n", g_checks, g_failed);
    return g_failed ? 1 : 0;
}
