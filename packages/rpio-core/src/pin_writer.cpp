// The pin writer table (pin_writer_abi.h) over a Driver: Python-free, callable from any thread.
#include "rpio/pin_writer.hpp"

#include <new>

#include "rpio/pin_world.hpp"

namespace rpio {

namespace {
struct Ref {
    std::shared_ptr<Driver> driver;
};

Driver* drv(void* ctx) { return static_cast<Ref*>(ctx)->driver.get(); }

void* retain(void* ctx) { return new (std::nothrow) Ref{static_cast<Ref*>(ctx)->driver}; }
void release(void* ctx) { delete static_cast<Ref*>(ctx); }

int write(void* ctx, uint32_t gpio, int level) {
    Driver* d = drv(ctx);
    if (gpio >= d->num_gpios()) return -1;
    try {
        d->write(gpio, level != 0);
    } catch (...) {
        return -1;
    }
    return 0;
}

int write_at(void* ctx, uint32_t gpio, int level, int64_t t_ns) {
    ScopedEventTime at(t_ns);
    return write(ctx, gpio, level);
}

int make_output(void* ctx, uint32_t gpio, int level) {
    Driver* d = drv(ctx);
    if (gpio >= d->num_gpios()) return -1;
    try {
        d->write(gpio, level != 0);
        d->set_function(gpio, Function::Output);
    } catch (...) {
        return -1;
    }
    return 0;
}
}  // namespace

rpio_pin_writer_v1* new_pin_writer(std::shared_ptr<Driver> driver, bool simulated) {
    auto* t = new rpio_pin_writer_v1{};
    t->abi_version = RPIO_PIN_WRITER_ABI_VERSION;
    t->struct_size = sizeof(rpio_pin_writer_v1);
    t->num_gpios = driver->num_gpios();
    t->simulated = simulated ? 1u : 0u;
    t->ctx = new Ref{std::move(driver)};
    t->retain = &retain;
    t->release = &release;
    t->write = &write;
    t->write_at = &write_at;
    t->make_output = &make_output;
    return t;
}

void delete_pin_writer(rpio_pin_writer_v1* t) {
    if (!t) return;
    release(t->ctx);
    delete t;
}

}  // namespace rpio
