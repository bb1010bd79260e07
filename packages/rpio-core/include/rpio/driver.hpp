// The driver interface: chip-neutral GPIO operations over a Bus.
#pragma once

#include <memory>

#include "rpio/bus.hpp"
#include "rpio/types.hpp"

namespace rpio {

// The registers that drive and sense one pin: write mask to set_off (high) or clr_off (low),
// read lev_off & mask. Every supported chip has write-1 set/clear registers, so write() and
// read() are exactly these accesses and the hot path can replay them without the driver.
struct PinIo {
    uint32_t set_off;
    uint32_t clr_off;
    uint32_t lev_off;
    uint32_t mask;
};

// The operations take a gpio number that the caller has already validated (validate_gpio); they
// do no range checks so write()/read() stay a couple of instructions plus the bus access.
class Driver {
public:
    Driver(std::shared_ptr<Bus> bus, unsigned num_gpios, size_t min_bus_size, const char* chip);
    virtual ~Driver() = default;
    Driver(const Driver&) = delete;
    Driver& operator=(const Driver&) = delete;

    unsigned num_gpios() const { return num_gpios_; }
    const char* chip() const { return chip_; }
    const std::shared_ptr<Bus>& bus() const { return bus_; }

    virtual void set_function(unsigned gpio, Function f) = 0;
    virtual Function get_function(unsigned gpio) = 0;
    virtual void write(unsigned gpio, bool level) = 0;
    virtual int read(unsigned gpio) = 0;
    virtual void set_pull(unsigned gpio, Pull p) = 0;
    virtual Pull get_pull(unsigned gpio) = 0;
    // The output latch as the chip reports it: 0/1, or -1 where the chip has no readable latch
    // for this pin (BCM chips report the level of output pins only).
    virtual int latch(unsigned gpio) = 0;
    virtual PinIo pin_io(unsigned gpio) const = 0;

    // Checks for API entry points. std::out_of_range / std::invalid_argument with a message.
    void validate_gpio(long gpio) const;
    virtual void validate_function(int function) const;  // the codes this chip can select
    void validate_pull(int pull) const;                  // OFF, DOWN or UP

protected:
    Bus& bus_ref() { return *raw_bus_; }
    Bus* raw_bus_;

private:
    std::shared_ptr<Bus> bus_;
    unsigned num_gpios_;
    const char* chip_;
};

}  // namespace rpio
