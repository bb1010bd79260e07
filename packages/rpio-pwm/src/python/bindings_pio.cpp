// The Pi 5's PIO: the kernel's /dev/pio0, a recording fake of it, the emulator and PioPwm.
#include <map>
#include <memory>

#include "bindings_shared.hpp"
#include "rpio_pwm/pio_pwm.hpp"

using namespace rpio_pwm;

namespace rpio_pwm_py {

void bind_pio(py::module_& m) {
    // ---- PIO
    {
        using namespace rpio_pwm::pio;
        py::class_<Device, std::shared_ptr<Device>>(m, "PioDevice")
            .def_property_readonly("name", &Device::name);
        py::class_<KernelDevice, Device, std::shared_ptr<KernelDevice>>(m, "KernelPioDevice",
            "The rp1-pio driver's /dev/pio0 (ioctls of rp1_pio_if.h). Unverified on a Pi 5.")
            .def(py::init([](const std::string& path) { return std::shared_ptr<KernelDevice>(KernelDevice::open(path)); }),
                 py::arg("path") = "/dev/pio0");
        // A fake /dev/pio0: records every ioctl (request number and argument bytes); SMs in
        // taken_mask refuse PIO_IOC_SM_CLAIM as if another user held them.
        struct FakeLog {
            std::vector<std::pair<unsigned long, std::string>> calls;
            uint16_t taken = 0;
        };
        auto fake_log = std::make_shared<std::map<void*, std::shared_ptr<FakeLog>>>();
        m.def("fake_pio_device", [](uint16_t taken_mask) {
            auto log = std::make_shared<FakeLog>();
            log->taken = taken_mask;
            auto dev = std::make_shared<KernelDevice>([log](unsigned long req, void* arg, size_t size) {
                log->calls.emplace_back(req, std::string(static_cast<const char*>(arg), size));
                if (req == IOC_SM_CLAIM) {
                    uint16_t mask;
                    std::memcpy(&mask, arg, 2);
                    if (mask & log->taken) {
                        errno = EBUSY;
                        return -1;
                    }
                    log->taken |= mask;
                }
                if (req == IOC_SM_UNCLAIM) {
                    uint16_t mask;
                    std::memcpy(&mask, arg, 2);
                    log->taken &= static_cast<uint16_t>(~mask);
                }
                return req == IOC_ADD_PROGRAM ? 0 : 0;
            }, "fake /dev/pio0");
            py::object calls = py::cpp_function([log]() {
                py::list out;
                for (const auto& c : log->calls) out.append(py::make_tuple(c.first, py::bytes(c.second)));
                return out;
            });
            return py::make_tuple(std::static_pointer_cast<Device>(dev), calls);
        }, py::arg("taken_mask") = 0, "(device, calls): a fake /dev/pio0 and a function listing its ioctls");
        (void)fake_log;
        m.attr("PIO_IOC") = py::dict(py::arg("ADD_PROGRAM") = IOC_ADD_PROGRAM, py::arg("SM_CLAIM") = IOC_SM_CLAIM,
                                     py::arg("SM_UNCLAIM") = IOC_SM_UNCLAIM, py::arg("SM_INIT") = IOC_SM_INIT,
                                     py::arg("SM_EXEC") = IOC_SM_EXEC, py::arg("SM_CLEAR_FIFOS") = IOC_SM_CLEAR_FIFOS,
                                     py::arg("SM_SET_ENABLED") = IOC_SM_SET_ENABLED, py::arg("SM_PUT") = IOC_SM_PUT,
                                     py::arg("GPIO_INIT") = IOC_GPIO_INIT,
                                     py::arg("GPIO_SET_FUNCTION") = IOC_GPIO_SET_FUNCTION);
        py::class_<EmulatedDevice, Device, std::shared_ptr<EmulatedDevice>>(m, "PioEmulator",
            "The PIO emulator driving a simulated board through rpio_core.pin_writer(driver), at t0_ns + "
            "cycle / 200 MHz.")
            .def(py::init([](py::object cap, int64_t t0) {
                auto* t = static_cast<const rpio_pin_writer_v1*>(PyCapsule_GetPointer(cap.ptr(), RPIO_PIN_WRITER_CAPSULE));
                if (!t) throw py::error_already_set();
                return std::make_shared<EmulatedDevice>(std::make_shared<TableSink>(t), t0);
            }), py::arg("writer"), py::arg("t0_ns"))
            .def("claim_foreign", &EmulatedDevice::claim_foreign)
            .def("sync_to_now", [](EmulatedDevice& d) {
                py::gil_scoped_release r;
                d.sync_to_now();
            })
            .def("run_to_cycle", [](EmulatedDevice& d, uint64_t c) {
                py::gil_scoped_release r;
                d.run_to_cycle(c);
            })
            .def("start_pump", &EmulatedDevice::start_pump, py::arg("period_ns") = 2000000)
            .def("stop_pump", [](EmulatedDevice& d) {
                py::gil_scoped_release r;
                d.stop_pump();
            })
            .def("cycle_to_ns", &EmulatedDevice::cycle_to_ns)
            .def_property_readonly("now", [](EmulatedDevice& d) {
                std::lock_guard<std::recursive_mutex> l(d.mutex());
                return d.block().now();
            })
            .def_property_readonly("forwarded", &EmulatedDevice::forwarded)
            .def("events", [](EmulatedDevice& d) {
                std::lock_guard<std::recursive_mutex> l(d.mutex());
                std::vector<std::tuple<uint64_t, int, int>> out;
                for (const auto& e : d.block().events()) out.emplace_back(e.cycle, e.gpio, e.level);
                return out;
            });
        py::class_<PioPwm>(m, "PioPwm", "PWM on RP1 PIO state machines, one per pin.")
            .def(py::init<std::shared_ptr<Device>>(), py::arg("device"))
            .def("set", [](PioPwm& p, int gpio, uint64_t period_ns, uint64_t high_ns) {
                py::gil_scoped_release r;
                return p.set(gpio, period_ns, high_ns);
            }, py::arg("gpio"), py::arg("period_ns"), py::arg("high_ns"))
            .def("stop", [](PioPwm& p, int gpio) {
                py::gil_scoped_release r;
                p.stop(gpio);
            })
            .def("has", &PioPwm::has)
            .def("sm_of", &PioPwm::sm_of)
            .def("pins", &PioPwm::pins)
            .def("plan", [](const PioPwm& p, int gpio) {
                const PwmPlan pl = p.plan(gpio);
                py::dict d;
                d["div_int"] = pl.div_int;
                d["word"] = pl.word;
                d["period_cycles"] = pl.period_cycles;
                d["high_cycles"] = pl.high_cycles;
                d["constant"] = pl.constant;
                d["exact"] = pl.exact;
                d["period_ns"] = pl.period_ns();
                d["high_ns"] = pl.high_ns();
                return d;
            })
            .def_property_readonly("device", [](PioPwm& p) { return p.device().name(); });
        m.def("pio_program", [] { return PwmProgram::instructions(); }, "the PWM program RPIO loads");
        m.attr("PIO_CLOCK_HZ") = kRp1ClockHz;
    }
}

}  // namespace rpio_pwm_py
