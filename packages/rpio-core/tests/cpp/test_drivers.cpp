// The drivers over simulated chips and over a file-backed MmapBus.
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "check.hpp"
#include "rpio/bcm2835.hpp"
#include "rpio/error.hpp"
#include "rpio/mmap_bus.hpp"
#include "rpio/rp1.hpp"
#include "rpio/sim_chip.hpp"

using namespace rpio;

namespace {
const Function kBcmFunctions[] = {Function::Input, Function::Output, Function::Alt0, Function::Alt1,
                                  Function::Alt2,  Function::Alt3,   Function::Alt4, Function::Alt5};
}

TEST(bcm2835_fsel_round_trip_every_code) {
    auto chip = std::make_shared<SimBcm2835>();
    Bcm2835Driver d(chip);
    for (unsigned g : {0u, 9u, 17u, 29u, 53u}) {
        for (Function f : kBcmFunctions) {
            d.set_function(g, f);
            CHECK(d.get_function(g) == f);
            CHECK(chip->pin_state(g).function == f);
            const uint32_t code = (chip->read32(4 * (g / 10)) >> (3 * (g % 10))) & 7;
            CHECK_EQ(code, bcm::encode_fsel(f));
        }
    }
}

TEST(bcm_fsel_codes_match_the_datasheet) {
    CHECK_EQ(bcm::encode_fsel(Function::Input), 0u);
    CHECK_EQ(bcm::encode_fsel(Function::Output), 1u);
    CHECK_EQ(bcm::encode_fsel(Function::Alt0), 4u);
    CHECK_EQ(bcm::encode_fsel(Function::Alt1), 5u);
    CHECK_EQ(bcm::encode_fsel(Function::Alt2), 6u);
    CHECK_EQ(bcm::encode_fsel(Function::Alt3), 7u);
    CHECK_EQ(bcm::encode_fsel(Function::Alt4), 3u);
    CHECK_EQ(bcm::encode_fsel(Function::Alt5), 2u);
    for (uint32_t c = 0; c < 8; ++c) CHECK_EQ(bcm::encode_fsel(bcm::decode_fsel(c)), c);
}

TEST(bcm_set_function_keeps_neighbours) {
    auto chip = std::make_shared<SimBcm2835>();
    Bcm2835Driver d(chip);
    d.set_function(10, Function::Alt0);
    d.set_function(12, Function::Output);
    d.set_function(11, Function::Alt4);
    CHECK_EQ(chip->read32(4), (4u << 0) | (3u << 3) | (1u << 6));
}

TEST(bcm_invalid_functions_throw_and_change_nothing) {
    auto chip = std::make_shared<SimBcm2835>();
    Bcm2835Driver d(chip);
    d.set_function(5, Function::Output);
    CHECK_THROWS(d.validate_function(static_cast<int>(Function::Alt6)), std::invalid_argument);
    CHECK_THROWS(d.validate_function(static_cast<int>(Function::None)), std::invalid_argument);
    CHECK_THROWS(d.validate_function(12), std::invalid_argument);
    CHECK_THROWS(d.set_function(5, Function::Alt8), std::invalid_argument);
    CHECK(d.get_function(5) == Function::Output);
    CHECK_THROWS(d.validate_gpio(54), std::out_of_range);
    CHECK_THROWS(d.validate_gpio(-1), std::out_of_range);
    d.validate_gpio(53);
}

TEST(bcm_write_uses_set_and_clear_and_read_uses_lev) {
    auto chip = std::make_shared<SimBcm2835>();
    Bcm2835Driver d(chip);
    for (unsigned g : {4u, 17u, 40u}) {
        d.set_function(g, Function::Output);
        d.write(g, true);
        CHECK_EQ(d.read(g), 1);
        CHECK_EQ(chip->level(g), 1);
        CHECK_EQ(d.latch(g), 1);
        CHECK_EQ((chip->read32(bcm::GPLEV0 + 4 * (g / 32)) >> (g % 32)) & 1, 1u);
        d.write(g, false);
        CHECK_EQ(d.read(g), 0);
        CHECK_EQ(d.latch(g), 0);
    }
    CHECK_EQ(chip->read32(bcm::GPSET0), 0u);  // write-only registers read 0
    d.set_function(4, Function::Input);
    CHECK_EQ(d.latch(4), -1);  // an input's latch is hidden on BCM chips
}

TEST(bcm_latch_survives_input_mode) {
    auto chip = std::make_shared<SimBcm2835>();
    Bcm2835Driver d(chip);
    d.write(20, true);  // written while an input: shows the pull-down
    CHECK_EQ(d.read(20), 0);
    CHECK_EQ(chip->pin_state(20).latch, 1);
    d.set_function(20, Function::Output);
    CHECK_EQ(d.read(20), 1);
}

TEST(bcm2835_pull_sequence_and_unknown_readback) {
    auto chip = std::make_shared<SimBcm2835>();
    Bcm2835Driver d(chip);
    CHECK(chip->pin_state(30).pull == Pull::Off);
    d.set_pull(30, Pull::Up);
    CHECK(chip->pin_state(30).pull == Pull::Up);
    CHECK_EQ(chip->level(30), 1);
    CHECK_EQ(chip->read32(bcm::GPPUD), 0u);
    CHECK_EQ(chip->read32(bcm::GPPUDCLK0 + 4), 0u);
    d.set_pull(30, Pull::Down);
    CHECK(chip->pin_state(30).pull == Pull::Down);
    CHECK_EQ(chip->level(30), 0);
    d.set_pull(30, Pull::Off);
    CHECK(chip->pin_state(30).floating);
    CHECK(d.get_pull(30) == Pull::Unknown);
    CHECK_THROWS(d.set_pull(30, Pull::Unknown), std::invalid_argument);
}

namespace {
// A bus that records every write and every settle() in order, and forwards to a real bus (a
// simulated chip or an MmapBus), so a test sees the exact register sequence a driver makes.
struct RecordingBus final : Bus {
    struct Op {
        char kind;  // 'W' write, 'S' settle
        size_t off;
        uint32_t value;
        int64_t settle_ns;  // how long the inner settle() took (CLOCK_MONOTONIC)
    };
    explicit RecordingBus(std::shared_ptr<Bus> inner) : inner_(std::move(inner)) {}
    uint32_t read32(size_t off) override { return inner_->read32(off); }
    void write32(size_t off, uint32_t value) override {
        ops.push_back(Op{'W', off, value, 0});
        inner_->write32(off, value);
    }
    size_t size() const override { return inner_->size(); }
    void settle() override {
        const int64_t t0 = mono_ns();
        inner_->settle();
        ops.push_back(Op{'S', 0, 0, mono_ns() - t0});
    }
    static int64_t mono_ns() {
        timespec ts;
        ::clock_gettime(CLOCK_MONOTONIC, &ts);
        return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    }
    std::vector<Op> ops;

private:
    std::shared_ptr<Bus> inner_;
};

// The datasheet's sequence (BCM2835 ARM Peripherals, GPPUDCLKn): control in GPPUD, wait 150
// cycles, clock the pin, wait 150 cycles, then release GPPUD and the clock.
void check_pull_sequence(const std::vector<RecordingBus::Op>& ops, unsigned gpio, uint32_t code) {
    const size_t clk = bcm::GPPUDCLK0 + 4 * (gpio / 32);
    CHECK_EQ(ops.size(), 6u);
    if (ops.size() != 6) return;
    CHECK(ops[0].kind == 'W' && ops[0].off == bcm::GPPUD && ops[0].value == code);
    CHECK(ops[1].kind == 'S');
    CHECK(ops[2].kind == 'W' && ops[2].off == clk && ops[2].value == (1u << (gpio % 32)));
    CHECK(ops[3].kind == 'S');
    CHECK(ops[4].kind == 'W' && ops[4].off == bcm::GPPUD && ops[4].value == 0u);
    CHECK(ops[5].kind == 'W' && ops[5].off == clk && ops[5].value == 0u);
}
}  // namespace

TEST(bcm2835_pull_sequence_writes_waits_and_releases_in_order) {
    const struct { unsigned gpio; Pull pull; uint32_t code; } cases[] = {
        {4, Pull::Up, 2}, {30, Pull::Down, 1}, {35, Pull::Off, 0}, {53, Pull::Up, 2}};
    for (const auto& c : cases) {
        auto chip = std::make_shared<SimBcm2835>();
        auto bus = std::make_shared<RecordingBus>(chip);
        Bcm2835Driver d(bus);
        d.set_pull(c.gpio, c.pull);
        check_pull_sequence(bus->ops, c.gpio, c.code);
        CHECK(chip->pin_state(c.gpio).pull == c.pull);
    }
}

TEST(mmap_bus_settle_waits_at_least_150_cycles_of_any_pi) {
    // 150 cycles of the slowest Pi core (700 MHz) are 214 ns; settle() promises 1 us. Only a lower
    // bound is checked: a busy machine makes the wait longer, never shorter.
    char path[] = "/tmp/rpio-core-settle-XXXXXX";
    const int fd = ::mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ(::ftruncate(fd, 4096), 0);
    ::close(fd);
    {
        auto mmap_bus = std::make_shared<MmapBus>(path, 0, 4096);
        for (int i = 0; i < 20; ++i) {
            const int64_t t0 = RecordingBus::mono_ns();
            mmap_bus->settle();
            CHECK(RecordingBus::mono_ns() - t0 >= 1000);
        }
        auto bus = std::make_shared<RecordingBus>(mmap_bus);
        Bcm2835Driver d(bus);
        d.set_pull(17, Pull::Up);
        check_pull_sequence(bus->ops, 17, 2);
        for (const auto& op : bus->ops)
            if (op.kind == 'S') CHECK(op.settle_ns >= 1000);
        CHECK_EQ(mmap_bus->read32(bcm::GPPUD), 0u);  // released
        CHECK_EQ(mmap_bus->read32(bcm::GPPUDCLK0), 0u);
    }
    ::unlink(path);
}

TEST(bcm2835_gppud_is_latched_only_by_the_clock) {
    auto chip = std::make_shared<SimBcm2835>();
    chip->write32(bcm::GPPUD, 2);
    CHECK(chip->pin_state(12).pull == Pull::Down);  // no clock yet
    chip->write32(bcm::GPPUDCLK0, 1u << 12);
    CHECK(chip->pin_state(12).pull == Pull::Up);
    CHECK(chip->pin_state(13).pull == Pull::Down);
    chip->write32(bcm::GPPUD, 0);
    chip->write32(bcm::GPPUDCLK0, 0);  // releasing the clock changes nothing
    CHECK(chip->pin_state(12).pull == Pull::Up);
}

TEST(bcm2711_pull_register_is_reverse_of_gppud) {
    auto chip = std::make_shared<SimBcm2711>();
    Bcm2711Driver d(chip);
    CHECK_EQ(d.num_gpios(), 58u);
    d.set_pull(33, Pull::Up);
    CHECK_EQ((chip->read32(bcm::PUP_PDN0 + 8) >> 2) & 3, 1u);  // 01 = up
    CHECK(d.get_pull(33) == Pull::Up);
    d.set_pull(33, Pull::Down);
    CHECK_EQ((chip->read32(bcm::PUP_PDN0 + 8) >> 2) & 3, 2u);  // 10 = down
    CHECK(d.get_pull(33) == Pull::Down);
    CHECK_EQ(chip->level(33), 0);
    d.set_pull(57, Pull::Up);
    CHECK_EQ(chip->read32(bcm::PUP_PDN0 + 12) >> 18, 1u);
    CHECK_EQ(chip->level(57), 1);
    CHECK(d.get_pull(0) == Pull::Up);    // reset defaults
    CHECK(d.get_pull(9) == Pull::Down);
    CHECK(d.get_pull(28) == Pull::Off);
    chip->write32(bcm::PUP_PDN0, 3u << 4);  // reserved code
    CHECK(d.get_pull(2) == Pull::Unknown);
}

TEST(bcm2711_probe_word_differs_from_bcm2835) {
    auto a = std::make_shared<SimBcm2835>();
    auto b = std::make_shared<SimBcm2711>();
    CHECK_EQ(a->read32(0xF0), bcm::kUnimplemented);
    CHECK(b->read32(0xF0) != bcm::kUnimplemented);
    CHECK_EQ(b->read32(bcm::GPPUD), bcm::kUnimplemented);
}

TEST(rp1_function_round_trip_and_registers) {
    auto chip = std::make_shared<SimRp1>();
    Rp1Driver d(chip);
    for (unsigned g : {0u, 27u, 28u, 33u, 34u, 53u}) {
        const rp1::PinRegs r = rp1::pin_regs(g);
        CHECK(d.get_function(g) == Function::None);  // silicon reset
        for (int fi = 0; fi < kFunctionCount; ++fi) {
            const Function f = static_cast<Function>(fi);
            if (f == Function::Alt5) continue;
            d.set_function(g, f);
            CHECK(d.get_function(g) == f);
            CHECK(chip->pin_state(g).function == f);
            const uint32_t funcsel = chip->read32(r.status + 4) & 0x1F;
            const uint32_t pad = chip->read32(r.pad);
            const bool oe = chip->read32(r.rio + rp1::RIO_OE) & r.mask;
            if (f == Function::None) {
                CHECK_EQ(funcsel, 0x1Fu);
                CHECK((pad & rp1::PAD_IE) == 0);
                CHECK((pad & rp1::PAD_OD) != 0);
            } else {
                CHECK((pad & rp1::PAD_IE) != 0);
                CHECK((pad & rp1::PAD_OD) == 0);
                if (f == Function::Input || f == Function::Output) {
                    CHECK_EQ(funcsel, 5u);
                    CHECK(oe == (f == Function::Output));
                } else {
                    CHECK_EQ(funcsel, static_cast<uint32_t>(alt_index(f)));
                }
            }
        }
    }
    CHECK_THROWS(d.validate_function(static_cast<int>(Function::Alt5)), std::invalid_argument);
}

TEST(rp1_write_read_through_aliases) {
    auto chip = std::make_shared<SimRp1>();
    Rp1Driver d(chip);
    for (unsigned g : {3u, 30u, 40u}) {
        const rp1::PinRegs r = rp1::pin_regs(g);
        d.set_function(g, Function::Output);
        d.write(g, true);
        CHECK_EQ(chip->read32(r.rio + rp1::RIO_OUT) & r.mask, r.mask);
        CHECK_EQ(d.read(g), 1);
        CHECK_EQ(d.latch(g), 1);
        CHECK_EQ(chip->level(g), 1);
        d.write(g, false);
        CHECK_EQ(d.read(g), 0);
        CHECK_EQ(d.latch(g), 0);
    }
    // The XOR alias toggles; the other pins of the bank are untouched.
    const rp1::PinRegs r = rp1::pin_regs(3);
    d.write(4, true);
    chip->write32(r.rio + rp1::RIO_OUT + rp1::XOR, r.mask);
    CHECK_EQ(d.latch(3), 1);
    CHECK_EQ(d.latch(4), 1);
    chip->write32(r.rio + rp1::RIO_OUT + rp1::XOR, r.mask);
    CHECK_EQ(d.latch(3), 0);
}

TEST(rp1_pulls_in_pads) {
    auto chip = std::make_shared<SimRp1>();
    Rp1Driver d(chip);
    CHECK(d.get_pull(5) == Pull::Down);  // bank 0 reset
    CHECK(d.get_pull(40) == Pull::Off);
    d.set_function(40, Function::Input);
    CHECK(chip->pin_state(40).floating);
    d.set_pull(40, Pull::Up);
    CHECK(d.get_pull(40) == Pull::Up);
    CHECK_EQ(d.read(40), 1);
    const uint32_t pad = chip->read32(rp1::pin_regs(40).pad);
    CHECK((pad & rp1::PAD_PUE) != 0);
    CHECK((pad & rp1::PAD_PDE) == 0);
    d.set_pull(40, Pull::Down);
    CHECK(d.get_pull(40) == Pull::Down);
    CHECK_EQ(d.read(40), 0);
    chip->write32(rp1::pin_regs(40).pad + rp1::SET, rp1::PAD_PUE);  // both: bus keeper
    CHECK(d.get_pull(40) == Pull::Unknown);
}

TEST(pin_io_matches_write_and_read) {
    auto chip = std::make_shared<SimBcm2711>();
    Bcm2711Driver d(chip);
    auto rchip = std::make_shared<SimRp1>();
    Rp1Driver r(rchip);
    const Driver* drivers[] = {&d, &r};
    Bus* buses[] = {chip.get(), rchip.get()};
    for (int i = 0; i < 2; ++i) {
        Driver& drv = const_cast<Driver&>(*drivers[i]);
        for (unsigned g : {2u, 31u, 32u, 45u}) {
            drv.set_function(g, Function::Output);
            const PinIo io = drv.pin_io(g);
            buses[i]->write32(io.set_off, io.mask);
            CHECK_EQ(drv.read(g), 1);
            CHECK_EQ(buses[i]->read32(io.lev_off) & io.mask, io.mask);
            buses[i]->write32(io.clr_off, io.mask);
            CHECK_EQ(drv.read(g), 0);
        }
    }
}

TEST(driver_rejects_small_bus) {
    auto rchip = std::make_shared<SimBcm2835>();
    CHECK_THROWS(Rp1Driver{rchip}, std::invalid_argument);
}

TEST(mmap_bus_over_a_file) {
    char path[] = "/tmp/rpio-core-test-XXXXXX";
    const int fd = ::mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ(::ftruncate(fd, 8192), 0);
    ::close(fd);
    {
        auto bus = std::make_shared<MmapBus>(path, 4096, 4096);  // second page
        Bcm2835Driver d(bus);
        d.write(17, true);
        d.write(35, false);
        d.set_function(17, Function::Output);
        bus->settle();
        CHECK_EQ(bus->read32(bcm::GPSET0), 1u << 17);
        CHECK_EQ(bus->read32(bcm::GPCLR0 + 4), 1u << 3);
        CHECK_THROWS(bus->checked_read32(4096), std::out_of_range);
        CHECK_THROWS(bus->checked_read32(2), std::invalid_argument);
    }
    const int rfd = ::open(path, O_RDONLY);
    uint32_t words[64];
    CHECK_EQ(::pread(rfd, words, sizeof words, 4096), static_cast<ssize_t>(sizeof words));
    ::close(rfd);
    CHECK_EQ(words[bcm::GPSET0 / 4], 1u << 17);
    CHECK_EQ(words[bcm::GPCLR0 / 4 + 1], 1u << 3);
    CHECK_EQ(words[1], 1u << 21);  // GPFSEL1: gpio 17 output
    try {
        MmapBus too_far(path, 8192, 4096);
        CHECK(false);
    } catch (const SystemError& e) {
        CHECK_EQ(e.code(), EINVAL);
        CHECK(e.path() == path);
    }
    ::unlink(path);
    try {
        MmapBus missing(path, 0, 4096);
        CHECK(false);
    } catch (const SystemError& e) {
        CHECK_EQ(e.code(), ENOENT);
    }
}
