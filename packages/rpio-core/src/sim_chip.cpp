#include "rpio/sim_chip.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace rpio {

SimChip::SimChip(std::shared_ptr<PinWorld> world)
    : kind_(world->kind_name()), world_(std::move(world)) {}

SimChip::~SimChip() = default;

void SimChip::validate_gpio(long gpio) const {
    if (gpio < 0 || gpio >= static_cast<long>(num_gpios()))
        throw std::out_of_range("gpio " + std::to_string(gpio) + " out of range for simulated " +
                                kind_ + " (0-" + std::to_string(num_gpios() - 1) + ")");
}

std::shared_ptr<SimEventLine> SimChip::request_events(unsigned gpio, bool rising, bool falling) {
    return std::make_shared<SimEventLine>(world_, gpio, rising, falling);
}

std::shared_ptr<SimChip> SimChip::for_world(std::shared_ptr<PinWorld> world) {
    switch (world->kind()) {
        case seg::ChipKind::Bcm2711: return std::make_shared<SimBcm2711>(std::move(world));
        case seg::ChipKind::Rp1: return std::make_shared<SimRp1>(std::move(world));
        default: return std::make_shared<SimBcm2835>(std::move(world));
    }
}

}  // namespace rpio
