// An operating-system failure with the errno and the path it concerns.
#pragma once

#include <stdexcept>
#include <string>

namespace rpio {

class SystemError : public std::runtime_error {
public:
    // what = "<operation>: <strerror(code)>"; the binding turns it into the matching OSError.
    SystemError(int code, std::string path, const std::string& operation);

    int code() const noexcept { return code_; }
    const std::string& path() const noexcept { return path_; }
    const std::string& operation() const noexcept { return operation_; }

private:
    int code_;
    std::string path_;
    std::string operation_;
};

}  // namespace rpio
