#include "rpio/error.hpp"

#include <cstring>
#include <utility>

namespace rpio {

SystemError::SystemError(int code, std::string path, const std::string& operation)
    : std::runtime_error(operation + ": " + std::strerror(code) + ": '" + path + "'"),
      code_(code),
      path_(std::move(path)),
      operation_(operation) {}

}  // namespace rpio
