// The simulated chips: levels, history, edge events, register side effects.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "check.hpp"
#include "rpio/bcm2835.hpp"
#include "rpio/rp1.hpp"
#include "rpio/sim_chip.hpp"

using namespace rpio;

namespace {

// Reads every record available right now (the read end is blocking: poll first).
std::vector<LineEvent> drain(int fd) {
    std::vector<LineEvent> out;
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
        LineEvent ev;
        if (::read(fd, &ev, sizeof ev) != static_cast<ssize_t>(sizeof ev)) break;
        out.push_back(ev);
    }
    return out;
}

}  // namespace

TEST(reset_state_and_levels) {
    auto chip = std::make_shared<SimBcm2835>("bcm2837");
    CHECK(chip->kind() == "bcm2837");
    CHECK_EQ(chip->level(0), 1);    // pull-up
    CHECK_EQ(chip->level(8), 1);
    CHECK_EQ(chip->level(9), 0);    // pull-down
    CHECK(!chip->pin_state(9).floating);
    CHECK(chip->pin_state(40).floating);
    CHECK_EQ(chip->level(40), 0);   // floating reads 0
    CHECK(chip->history().empty());
}

TEST(drive_pull_floating_and_output) {
    auto chip = std::make_shared<SimBcm2835>();
    Bcm2835Driver d(chip);
    chip->drive(40, 1);
    CHECK_EQ(chip->level(40), 1);
    CHECK(!chip->pin_state(40).floating);
    chip->drive(40, -1);
    CHECK(chip->pin_state(40).floating);
    chip->drive(5, 0);  // overrides the pull-up
    CHECK_EQ(d.read(5), 0);
    d.set_function(5, Function::Output);
    d.write(5, true);  // an output shows its latch whatever drives it
    CHECK_EQ(d.read(5), 1);
    CHECK_EQ(chip->pin_state(5).drive, 0);
    d.set_function(5, Function::Input);
    CHECK_EQ(d.read(5), 0);
}

TEST(history_records_every_change_in_order) {
    auto chip = std::make_shared<SimBcm2835>();
    Bcm2835Driver d(chip);
    const int64_t t0 = monotonic_ns();
    d.set_function(17, Function::Output);  // pulled down, latch 0: no change
    d.write(17, true);
    d.write(17, true);                     // no change
    chip->drive(20, 1);
    d.set_pull(20, Pull::Up);              // drive wins: no change
    chip->drive(20, -1);                   // pull-up holds it high: no change
    d.set_pull(20, Pull::Off);             // floats: level 1 -> 0
    d.set_function(17, Function::Input);   // back to its pull-down
    const int64_t t1 = monotonic_ns();
    const auto h = chip->history();
    CHECK_EQ(h.size(), 4u);
    const unsigned gpios[] = {17, 20, 20, 17};
    const int levels[] = {1, 1, 0, 0};
    for (size_t i = 0; i < h.size() && i < 4; ++i) {
        CHECK_EQ(h[i].gpio, gpios[i]);
        CHECK_EQ(h[i].level, levels[i]);
        CHECK(h[i].t_ns >= t0 && h[i].t_ns <= t1);
        if (i) CHECK(h[i].t_ns >= h[i - 1].t_ns);
    }
    CHECK_EQ(h[2].floating, 1);
}

TEST(history_ring_keeps_the_newest) {
    auto chip = std::make_shared<SimBcm2835>("bcm2835", 4);
    Bcm2835Driver d(chip);
    d.set_function(17, Function::Output);
    for (int i = 0; i < 10; ++i) d.write(17, i % 2 == 0);
    const auto h = chip->history();
    CHECK_EQ(h.size(), 4u);
    CHECK_EQ(h[0].level, 1);
    CHECK_EQ(h[3].level, 0);
    chip->clear_history();
    CHECK(chip->history().empty());
    chip->set_history_capacity(0);
    d.write(17, true);
    CHECK(chip->history().empty());
    CHECK_EQ(chip->level(17), 1);
}

TEST(event_records_rising_falling_and_seqno) {
    auto chip = std::make_shared<SimBcm2835>();
    auto both = chip->request_events(40, true, true);
    auto rising = chip->request_events(40, true, false);
    auto falling = chip->request_events(40, false, true);
    for (int i = 0; i < 3; ++i) {
        chip->drive(40, 1);
        chip->drive(40, 0);
    }
    const auto b = drain(both->fileno());
    const auto r = drain(rising->fileno());
    const auto f = drain(falling->fileno());
    CHECK_EQ(b.size(), 6u);
    CHECK_EQ(r.size(), 3u);
    CHECK_EQ(f.size(), 3u);
    const auto h = chip->history();
    for (size_t i = 0; i < b.size(); ++i) {
        CHECK_EQ(b[i].id, i % 2 == 0 ? kEventRising : kEventFalling);
        CHECK_EQ(b[i].offset, 40u);
        CHECK_EQ(b[i].seqno, i + 1);
        CHECK_EQ(b[i].line_seqno, i + 1);
        CHECK_EQ(static_cast<int64_t>(b[i].timestamp_ns), h[i].t_ns);
        for (uint32_t pad : b[i].padding) CHECK_EQ(pad, 0u);
    }
    for (size_t i = 0; i < r.size(); ++i) {
        CHECK_EQ(r[i].id, kEventRising);
        CHECK_EQ(r[i].seqno, i + 1);
        CHECK_EQ(f[i].id, kEventFalling);
    }
    CHECK_EQ(both->get_value(), 0);
}

TEST(full_pipe_drops_and_counts) {
    auto chip = std::make_shared<SimBcm2835>("bcm2835", 0);
    auto line = chip->request_events(40, true, true);
    const int capacity = ::fcntl(line->fileno(), F_GETPIPE_SZ) / 48;
    const int edges = capacity + 100;
    for (int i = 0; i < edges; ++i) chip->drive(40, i % 2 == 0);
    CHECK_EQ(line->seqno(), static_cast<uint32_t>(edges));
    CHECK_EQ(line->dropped(), static_cast<uint64_t>(edges - static_cast<int>(drain(line->fileno()).size())));
    CHECK(line->dropped() > 0);
}

TEST(close_is_idempotent_and_stops_events) {
    auto chip = std::make_shared<SimBcm2835>();
    auto a = chip->request_events(7, true, true);
    auto b = chip->request_events(7, true, true);
    a->close();
    a->close();
    CHECK(a->closed());
    CHECK_EQ(a->fileno(), -1);
    chip->drive(7, 0);  // pull-up -> 0
    CHECK_EQ(drain(b->fileno()).size(), 1u);
    CHECK_EQ(a->seqno(), 0u);
    CHECK_THROWS(chip->request_events(7, false, false), std::invalid_argument);
}

TEST(line_outlives_its_chip) {
    std::shared_ptr<SimEventLine> line;
    {
        auto chip = std::make_shared<SimBcm2711>();
        line = chip->request_events(3, true, true);
        chip->drive(3, 0);
    }
    CHECK_EQ(line->get_value(), 0);
    CHECK_EQ(drain(line->fileno()).size(), 1u);
    line->close();
}

TEST(bcm_event_detect_registers) {
    auto chip = std::make_shared<SimBcm2835>();
    chip->write32(bcm::GPREN0, 1u << 22);
    chip->write32(bcm::GPFEN0 + 4, 1u << 2);  // gpio 34
    chip->drive(22, 1);
    CHECK_EQ(chip->read32(bcm::GPEDS0), 1u << 22);
    chip->write32(bcm::GPEDS0, 1u << 22);
    CHECK_EQ(chip->read32(bcm::GPEDS0), 0u);
    chip->drive(34, 1);
    CHECK_EQ(chip->read32(bcm::GPEDS0 + 4), 0u);
    chip->drive(34, 0);
    CHECK_EQ(chip->read32(bcm::GPEDS0 + 4), 1u << 2);
    chip->write32(bcm::GPHEN0, 1u << 0);  // gpio 0 is high (pull-up): asserts at once
    CHECK_EQ(chip->read32(bcm::GPEDS0) & 1, 1u);
    chip->write32(bcm::GPEDS0, 1);
    CHECK_EQ(chip->read32(bcm::GPEDS0) & 1, 1u);  // still high: asserts again
}

TEST(rp1_aliases_apply_to_ctrl_and_pads) {
    auto chip = std::make_shared<SimRp1>();
    const rp1::PinRegs r = rp1::pin_regs(10);
    const uint32_t ctrl = r.status + 4;
    chip->write32(ctrl + rp1::CLR, 0x1F);
    CHECK_EQ(chip->read32(ctrl), 0u);
    CHECK(chip->pin_state(10).function == Function::Alt0);
    chip->write32(ctrl + rp1::SET, 5);
    CHECK(chip->pin_state(10).function == Function::Input);
    chip->write32(ctrl + rp1::XOR, 5 ^ 3);
    CHECK_EQ(chip->read32(ctrl), 3u);
    CHECK(chip->pin_state(10).function == Function::Alt3);
    chip->write32(ctrl + rp1::SET, 0x80);  // not FUNCSEL: kept, function unchanged
    CHECK_EQ(chip->read32(ctrl), 0x83u);
    CHECK_EQ(chip->read32(ctrl + rp1::SET), 0x83u);  // alias reads see the register
    chip->write32(r.pad + rp1::XOR, rp1::PAD_PDE | rp1::PAD_PUE);
    CHECK(chip->pin_state(10).pull == Pull::Up);
    chip->write32(r.pad, 0);
    CHECK(chip->pin_state(10).pull == Pull::Off);
    CHECK_EQ(chip->read32(r.pad), 0u);
}

TEST(rp1_sync_in_needs_input_enable_and_od_disconnects) {
    auto chip = std::make_shared<SimRp1>();
    Rp1Driver d(chip);
    d.set_function(6, Function::Output);
    d.write(6, true);
    CHECK_EQ(d.read(6), 1);
    const rp1::PinRegs r = rp1::pin_regs(6);
    chip->write32(r.pad + rp1::CLR, rp1::PAD_IE);
    CHECK_EQ(chip->level(6), 1);
    CHECK_EQ(d.read(6), 0);  // SYNC_IN blind without IE
    chip->write32(r.pad + rp1::SET, rp1::PAD_IE | rp1::PAD_OD);
    CHECK_EQ(chip->level(6), 0);  // output disabled: the bank-0 pull-down shows
    CHECK(chip->pin_state(6).function == Function::Output);
    CHECK((chip->read32(r.status) & rp1::STATUS_OETOPAD) == 0);
    chip->write32(r.pad + rp1::CLR, rp1::PAD_OD);
    CHECK((chip->read32(r.status) & (rp1::STATUS_OETOPAD | rp1::STATUS_OUTTOPAD | rp1::STATUS_INFROMPAD)) ==
          (rp1::STATUS_OETOPAD | rp1::STATUS_OUTTOPAD | rp1::STATUS_INFROMPAD));
}

TEST(rp1_unmodelled_words_read_zero) {
    auto chip = std::make_shared<SimRp1>();
    CHECK_EQ(chip->read32(0xC000), 0u);     // bank 3 does not exist
    CHECK_EQ(chip->read32(0x10000 + 0xC), 0u);
    chip->write32(0x10000 + 0x8, 0xFFFFFFFF);  // SYNC_IN is read-only
    CHECK_EQ(chip->read32(0x10000 + 0x8), 0u);
    CHECK_EQ(chip->read32(rp1::pin_regs(0).status), 0u);
}
