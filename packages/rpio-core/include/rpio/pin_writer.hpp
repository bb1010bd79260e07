// The pin writer table over a Driver (see pin_writer_abi.h): what rpio_core hands to rpio_pwm's
// C++ PWM engines, so they drive pins exactly as output() does, from their own thread.
#pragma once

#include <memory>

#include "rpio/driver.hpp"
#include "rpio/pin_writer_abi.h"

namespace rpio {

rpio_pin_writer_v1* new_pin_writer(std::shared_ptr<Driver> driver, bool simulated);
void delete_pin_writer(rpio_pin_writer_v1* table);  // releases the table's own reference

}  // namespace rpio
