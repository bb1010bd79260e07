// Simulated chips: a register model (a Bus, so the real drivers run on it) plus the outside world.
// Every register with state lives in the board's segment (board_segment.hpp), so the processes
// attached to a shared board see one chip.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rpio/bus.hpp"
#include "rpio/pin_world.hpp"
#include "rpio/sim_events.hpp"

namespace rpio {

class SimChip : public Bus {
public:
    ~SimChip() override;

    const std::string& kind() const { return kind_; }
    unsigned num_gpios() const { return world_->num_gpios(); }

    // Outside world. gpio must be < num_gpios() (validate_gpio checks for API entry points).
    void validate_gpio(long gpio) const;
    void drive(unsigned gpio, int level) { world_->set_drive(gpio, level); }  // -1 releases
    int level(unsigned gpio) const { return world_->level(gpio); }
    PinState pin_state(unsigned gpio) const { return world_->state(gpio); }

    std::vector<HistoryEntry> history() const { return world_->history(); }
    void clear_history() { world_->clear_history(); }
    size_t history_capacity() const { return world_->history_capacity(); }
    void set_history_capacity(size_t n) { world_->set_history_capacity(n); }

    std::shared_ptr<SimEventLine> request_events(unsigned gpio, bool rising, bool falling);

    PinWorld& world() { return *world_; }
    const std::shared_ptr<PinWorld>& world_ptr() const { return world_; }

    // The chip model of a board: a SimBcm2835, SimBcm2711 or SimRp1 by the board's kind.
    static std::shared_ptr<SimChip> for_world(std::shared_ptr<PinWorld> world);

protected:
    explicit SimChip(std::shared_ptr<PinWorld> world);

    std::string kind_;
    std::shared_ptr<PinWorld> world_;
};

// BCM2835/2836/2837 (54 gpios, GPPUD pulls) and BCM2711 (58 gpios, PUP_PDN pulls) GPIO blocks,
// a 4 KiB window like /dev/gpiomem. Unimplemented words read 0x6770696F and ignore writes.
// Event detect (GPEDS/GPREN/GPFEN/GPHEN/GPLEN/GPAREN/GPAFEN) latches as on silicon, synchronous
// and asynchronous alike.
class SimBcm : public SimChip {
public:
    ~SimBcm() override;
    uint32_t read32(size_t off) override;
    void write32(size_t off, uint32_t value) override;
    size_t size() const override { return 4096; }
    bool is_2711() const { return is_2711_; }

protected:
    explicit SimBcm(std::shared_ptr<PinWorld> world);

private:
    void write_fsel(unsigned reg, uint32_t value);
    void assert_level_events();
    uint32_t bank_mask(unsigned bank) const { return bank == 0 ? 0xFFFFFFFFu : bank1_mask_; }

    bool is_2711_;
    uint32_t bank1_mask_;
};

class SimBcm2835 final : public SimBcm {
public:
    // kind: "bcm2835", "bcm2836" or "bcm2837" (one GPIO block design). A private board.
    explicit SimBcm2835(const std::string& kind = "bcm2835",
                        size_t history_capacity = kDefaultHistoryCapacity);
    explicit SimBcm2835(std::shared_ptr<PinWorld> world);  // a board of one of those kinds
};

class SimBcm2711 final : public SimBcm {
public:
    explicit SimBcm2711(size_t history_capacity = kDefaultHistoryCapacity);
    explicit SimBcm2711(std::shared_ptr<PinWorld> world);
};

// RP1 (Pi 5): the 0x30000 window of /dev/gpiomem0 with IO_BANK, SYS_RIO and PADS of the three
// banks. Every register honours the XOR/SET/CLR aliases. Reset: FUNCSEL 0x1F (NONE), OE and OUT
// 0, pads IE set with a pull-down on bank 0 and no pull on banks 1-2. Not modelled: the CTRL
// overrides (OUTOVER/OEOVER/INOVER), interrupts, the STATUS event latches; unmodelled words
// read 0 and ignore writes.
class SimRp1 final : public SimChip {
public:
    explicit SimRp1(size_t history_capacity = kDefaultHistoryCapacity);
    explicit SimRp1(std::shared_ptr<PinWorld> world);

    uint32_t read32(size_t off) override;
    void write32(size_t off, uint32_t value) override;
    size_t size() const override { return 0x30000; }

private:
    void refresh_function(unsigned gpio);
    void write_rio(unsigned bank, uint32_t reg, uint32_t alias, uint32_t value);
    void write_pad(unsigned gpio, uint32_t value);
    uint32_t status(unsigned gpio);
};

}  // namespace rpio
