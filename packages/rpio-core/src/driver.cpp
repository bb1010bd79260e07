#include "rpio/driver.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace rpio {

Driver::Driver(std::shared_ptr<Bus> bus, unsigned num_gpios, size_t min_bus_size, const char* chip)
    : raw_bus_(bus.get()), bus_(std::move(bus)), num_gpios_(num_gpios), chip_(chip) {
    if (!raw_bus_) throw std::invalid_argument(std::string(chip) + " driver needs a bus");
    if (raw_bus_->size() < min_bus_size)
        throw std::invalid_argument(std::string(chip) + " driver needs a window of at least " +
                                    std::to_string(min_bus_size) + " bytes, the bus has " +
                                    std::to_string(raw_bus_->size()));
}

void Driver::validate_gpio(long gpio) const {
    if (gpio < 0 || gpio >= static_cast<long>(num_gpios_))
        throw std::out_of_range("gpio " + std::to_string(gpio) + " out of range for " + chip_ +
                                " (0-" + std::to_string(num_gpios_ - 1) + ")");
}

void Driver::validate_function(int function) const {
    if (function < 0 || function >= kFunctionCount)
        throw std::invalid_argument("invalid function code " + std::to_string(function) +
                                    " (INPUT=0, OUTPUT=1, ALT0..ALT8=2..10, NONE=11)");
}

void Driver::validate_pull(int pull) const {
    if (pull != static_cast<int>(Pull::Off) && pull != static_cast<int>(Pull::Down) &&
        pull != static_cast<int>(Pull::Up))
        throw std::invalid_argument("invalid pull code " + std::to_string(pull) +
                                    " (PULL_OFF=0, PULL_DOWN=1, PULL_UP=2)");
}

}  // namespace rpio
