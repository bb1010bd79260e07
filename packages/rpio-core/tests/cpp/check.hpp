// A minimal test harness: TEST(name) registers a function, CHECK/CHECK_EQ/CHECK_THROWS record
// failures with file:line and keep going.
#pragma once

#include <functional>
#include <iostream>
#include <string>
#include <vector>

namespace rpio_test {

struct Case {
    const char* name;
    std::function<void()> fn;
};
std::vector<Case>& registry();
void fail(const char* file, int line, const std::string& what);

// Thrown by SKIP(why): the case cannot run here (said in the output, counted apart).
struct Skipped {
    std::string why;
};

struct Register {
    Register(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};

}  // namespace rpio_test

#define RPIO_CAT2(a, b) a##b
#define RPIO_CAT(a, b) RPIO_CAT2(a, b)
#define TEST(name)                                                                  \
    static void name();                                                             \
    static ::rpio_test::Register RPIO_CAT(register_, name)(#name, &name);           \
    static void name()

#define SKIP(why) throw ::rpio_test::Skipped{why}

#define CHECK(cond) \
    do { if (!(cond)) ::rpio_test::fail(__FILE__, __LINE__, "CHECK(" #cond ")"); } while (0)

#define CHECK_EQ(a, b)                                                                          \
    do {                                                                                        \
        const auto va_ = (a);                                                                   \
        const auto vb_ = (b);                                                                   \
        if (!(va_ == vb_))                                                                      \
            ::rpio_test::fail(__FILE__, __LINE__, "CHECK_EQ(" #a ", " #b "): " +                \
                                                      std::to_string(static_cast<long long>(va_)) + \
                                                      " != " +                                  \
                                                      std::to_string(static_cast<long long>(vb_))); \
    } while (0)

#define CHECK_THROWS(expr, type)                                                          \
    do {                                                                                  \
        bool thrown_ = false;                                                             \
        try { (void)(expr); } catch (const type&) { thrown_ = true; }                     \
        if (!thrown_) ::rpio_test::fail(__FILE__, __LINE__, "CHECK_THROWS(" #expr ", " #type ")"); \
    } while (0)
