// Runs every registered test; exit status 1 if any check failed.
#include "check.hpp"

namespace rpio_test {

namespace {
int g_failures = 0;
}

std::vector<Case>& registry() {
    static std::vector<Case> cases;
    return cases;
}

void fail(const char* file, int line, const std::string& what) {
    ++g_failures;
    std::cerr << file << ":" << line << ": FAILED " << what << "\n";
}

}  // namespace rpio_test

int main() {
    int failed_cases = 0, skipped = 0;
    for (const auto& c : rpio_test::registry()) {
        const int before = rpio_test::g_failures;
        try {
            c.fn();
        } catch (const rpio_test::Skipped& s) {
            ++skipped;
            std::cout << "skip  " << c.name << ": " << s.why << "\n";
            continue;
        } catch (const std::exception& e) {
            rpio_test::fail(c.name, 0, std::string("unexpected exception: ") + e.what());
        }
        const bool ok = rpio_test::g_failures == before;
        if (!ok) ++failed_cases;
        std::cout << (ok ? "ok    " : "FAIL  ") << c.name << "\n";
    }
    const size_t total = rpio_test::registry().size();
    std::cout << (total - failed_cases - skipped) << " passed, " << failed_cases << " failed, " << skipped
              << " skipped\n";
    return failed_cases == 0 ? 0 : 1;
}
