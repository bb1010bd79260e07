// Chip-neutral vocabulary shared by every driver and simulated chip (docs/design.md).
#pragma once

#include <cstdint>

namespace rpio {

// Pin function. BCM FSEL codes and RP1 FUNCSEL values are decoded to this.
enum class Function : int {
    Input = 0,
    Output = 1,
    Alt0 = 2,
    Alt1 = 3,
    Alt2 = 4,
    Alt3 = 5,
    Alt4 = 6,
    Alt5 = 7,
    Alt6 = 8,
    Alt7 = 9,
    Alt8 = 10,
    None = 11,  // RP1 FUNCSEL 0x1F: not connected
};

// Pull resistor. Unknown where the chip cannot report it (BCM2835/6/7).
enum class Pull : int { Off = 0, Down = 1, Up = 2, Unknown = -1 };

constexpr int kFunctionCount = 12;

constexpr bool is_alt(Function f) { return f >= Function::Alt0 && f <= Function::Alt8; }
constexpr int alt_index(Function f) { return static_cast<int>(f) - static_cast<int>(Function::Alt0); }
constexpr Function alt(int n) { return static_cast<Function>(static_cast<int>(Function::Alt0) + n); }

// "INPUT", "ALT3", ... for error messages and reprs.
const char* function_name(Function f);
const char* pull_name(Pull p);

}  // namespace rpio
