// What the binding files share. The module is split in three so that no file needs much more
// than 300 MiB to compile: a 512 MB Pi (Zero, 1) builds the sdist (one file of 659 lines took
// 515 MiB under GCC 12 for armhf).
#pragma once

#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rpio_pwm/controller.hpp"
#include "rpio_pwm/hardware.hpp"

namespace rpio_pwm_py {
namespace py = pybind11;

inline rpio_pwm::Soc soc_arg(const std::string& name) { return rpio_pwm::soc_from_name(name); }

inline std::vector<std::pair<uint32_t, uint32_t>> pulses_out(const std::vector<rpio_pwm::Pulse>& v) {
    std::vector<std::pair<uint32_t, uint32_t>> out;
    for (const auto& p : v) out.emplace_back(p.start, p.width);
    return out;
}

void bind_engines(py::module_& m);  // PwmState, SoftEngine, ModelBoardLink (bindings_engines.cpp)
void bind_pio(py::module_& m);      // the Pi 5's PIO: devices, the emulator, PioPwm (bindings_pio.cpp)

}  // namespace rpio_pwm_py
