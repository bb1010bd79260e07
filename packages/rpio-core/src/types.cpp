#include "rpio/types.hpp"

namespace rpio {

const char* function_name(Function f) {
    static const char* const names[kFunctionCount] = {"INPUT", "OUTPUT", "ALT0", "ALT1",
                                                      "ALT2",  "ALT3",   "ALT4", "ALT5",
                                                      "ALT6",  "ALT7",   "ALT8", "NONE"};
    const int i = static_cast<int>(f);
    return i >= 0 && i < kFunctionCount ? names[i] : "?";
}

const char* pull_name(Pull p) {
    switch (p) {
        case Pull::Off: return "OFF";
        case Pull::Down: return "DOWN";
        case Pull::Up: return "UP";
        case Pull::Unknown: return "UNKNOWN";
    }
    return "?";
}

}  // namespace rpio
