#include "rpio/sim_chip.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace rpio {

SimChip::SimChip(std::string kind, unsigned num_gpios, size_t history_capacity)
    : kind_(std::move(kind)), world_(std::make_shared<PinWorld>(num_gpios, history_capacity)) {}

SimChip::~SimChip() = default;

void SimChip::validate_gpio(long gpio) const {
    if (gpio < 0 || gpio >= static_cast<long>(num_gpios()))
        throw std::out_of_range("gpio " + std::to_string(gpio) + " out of range for simulated " +
                                kind_ + " (0-" + std::to_string(num_gpios() - 1) + ")");
}

std::shared_ptr<SimEventLine> SimChip::request_events(unsigned gpio, bool rising, bool falling) {
    return std::make_shared<SimEventLine>(world_, gpio, rising, falling);
}

}  // namespace rpio
