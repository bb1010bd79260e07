// PwmState (the rules), the GIL-free software engine and the DMA model's link to a board.
#include <memory>

#include "bindings_shared.hpp"
#include "rpio_pwm/model.hpp"
#include "rpio_pwm/model_link.hpp"
#include "rpio_pwm/soft_engine.hpp"

using namespace rpio_pwm;

namespace rpio_pwm_py {
namespace {
// A Python callable as a pin sink: the engine's loop stays GIL-free, only this write takes the GIL.
// (The umbrella and the chardev writer never need it; it serves set_gpio_writer() callables.)
class PySink final : public PinSink {
public:
    explicit PySink(py::function fn) : fn_(std::move(fn)) {}
    ~PySink() override {
        if (Py_IsInitialized()) {
            py::gil_scoped_acquire g;
            fn_ = py::function();
        } else {
            fn_.release();
        }
    }
    bool write(int gpio, int level) override {
#if PY_VERSION_HEX >= 0x030D0000
        if (!Py_IsInitialized() || Py_IsFinalizing()) return false;
#else
        if (!Py_IsInitialized() || _Py_IsFinalizing()) return false;
#endif
        py::gil_scoped_acquire g;
        try {
            fn_(gpio, level);
            return true;
        } catch (py::error_already_set& e) {
            const std::string what = e.what();
            try {
                py::module_::import("logging").attr("getLogger")("rpio_pwm").attr("error")(
                    "software PWM: writing GPIO %d failed (%s); the pin is no longer driven", gpio, what);
            } catch (py::error_already_set& e2) {
                e2.restore();
                PyErr_Clear();
            }
            return false;
        }
    }

private:
    py::function fn_;
};

struct EngineBox {
    std::shared_ptr<PinSink> sink;
    std::string kind;
    std::unique_ptr<SoftEngine> engine;
    ~EngineBox() {
        if (engine && PyGILState_Check()) {
            py::gil_scoped_release r;  // the thread may be waiting for the GIL in a PySink write
            engine.reset();
        }
    }
};

std::shared_ptr<PinSink> make_sink(py::object writer, std::string& kind) {
    if (PyCapsule_CheckExact(writer.ptr())) {
        auto* t = static_cast<const rpio_pin_writer_v1*>(PyCapsule_GetPointer(writer.ptr(), RPIO_PIN_WRITER_CAPSULE));
        if (!t) throw py::error_already_set();
        kind = "rpio_core";
        return std::make_shared<TableSink>(t);
    }
    if (py::isinstance<py::str>(writer)) {
        std::string w = writer.cast<std::string>();
        if (w == "lines") {
            kind = w;
            return std::make_shared<LineFdSink>();
        }
        if (w == "record") {
            kind = w;
            return std::make_shared<RecordingSink>();
        }
        throw PwmArgumentError("writer must be rpio_core.pin_writer(driver), a callable, 'lines' or 'record', not '" + w + "'");
    }
    if (PyCallable_Check(writer.ptr())) {
        kind = "python";
        return std::make_shared<PySink>(writer.cast<py::function>());
    }
    throw PwmArgumentError("writer must be rpio_core.pin_writer(driver), a callable, 'lines' or 'record'");
}
}  // namespace

void bind_engines(py::module_& m) {
    // ---- the rules, hardware-free (used by the sysfs and software backends)
    py::class_<PwmState>(m, "PwmState")
        .def(py::init([](const std::string& soc) { return std::make_unique<PwmState>(soc_info(soc_arg(soc))); }))
        .def("set_legacy_check", &PwmState::set_legacy_check)
        .def("setup", [](PwmState& s, int64_t incr, int pacing) {
            s.check_setup(incr, pacing);
            if (!s.is_setup()) s.setup(static_cast<uint32_t>(incr), static_cast<Pacing>(pacing));
        })
        .def("reset", &PwmState::reset)
        .def("is_setup", &PwmState::is_setup)
        .def_property_readonly("incr_us", &PwmState::incr_us)
        .def_property_readonly("pacing", [](const PwmState& s) { return static_cast<int>(s.pacing()); })
        .def("check_init_channel", &PwmState::check_init_channel, py::arg("ch"), py::arg("subcycle_us"), py::arg("enforce_minimum") = true)
        .def("init_channel", [](PwmState& s, int64_t ch, int64_t sub, bool enforce) {
            s.check_init_channel(ch, sub, enforce);
            s.init_channel(static_cast<int>(ch), static_cast<uint32_t>(sub));
        }, py::arg("ch"), py::arg("subcycle_us"), py::arg("enforce_minimum") = true)
        .def("release_channel", [](PwmState& s, int64_t ch) {
            s.channel(ch);
            s.release_channel(static_cast<int>(ch));
        })
        .def("is_channel_initialized", &PwmState::is_channel_initialized)
        .def("initialized_channels", &PwmState::initialized_channels)
        .def("subcycle_us", [](const PwmState& s, int64_t ch) { return s.channel(ch).subcycle_us(); })
        .def("num_samples", [](const PwmState& s, int64_t ch) { return s.channel(ch).num_samples(); })
        .def("check_gpio", &PwmState::check_gpio)
        .def("add_pulse", [](PwmState& s, int64_t ch, int64_t g, int64_t st, int64_t w) {
            s.check_add_pulse(ch, g, st, w);
            s.add_pulse(static_cast<int>(ch), static_cast<int>(g), static_cast<uint32_t>(st), static_cast<uint32_t>(w));
        })
        .def("set_pulses", [](PwmState& s, int64_t ch, int64_t g, const std::vector<std::pair<int64_t, int64_t>>& ps) {
            s.check_set_pulses(ch, g, ps);
            std::vector<Pulse> v;
            for (const auto& p : ps) v.push_back({static_cast<uint32_t>(p.first), static_cast<uint32_t>(p.second)});
            s.set_pulses(static_cast<int>(ch), static_cast<int>(g), v);
        })
        .def("check_clear_channel_gpio", &PwmState::check_clear_channel_gpio)
        .def("clear_channel_gpio", [](PwmState& s, int64_t ch, int64_t g) {
            s.check_clear_channel_gpio(ch, g);
            s.clear_channel_gpio(static_cast<int>(ch), static_cast<int>(g));
        })
        .def("clear_channel", &PwmState::clear_channel)
        .def("gpios", [](const PwmState& s, int64_t ch) {
            std::vector<int> v;
            for (const auto& kv : s.channel(ch).gpios()) v.push_back(kv.first);
            return v;
        })
        .def("runs", [](const PwmState& s, int64_t ch, int g) { return pulses_out(s.channel(ch).runs(g)); })
        .def("owner", &PwmState::owner)
        .def_property_readonly("gpios_used", &PwmState::gpios_used)
        .def("mark_gpio_used", &PwmState::mark_gpio_used);


    py::class_<EngineBox>(m, "SoftEngine",
        "Software-timed PWM on a C++ thread of its own (no GIL in its loop). writer: "
        "rpio_core.pin_writer(driver) (a capsule), 'lines' (GPIO character-device line fds given with "
        "set_line_fd), 'record' (in memory, for tests) or a Python callable write(gpio, level).")
        .def(py::init([](py::object writer, bool threaded) {
            auto box = std::make_unique<EngineBox>();
            box->sink = make_sink(writer, box->kind);
            box->engine = std::make_unique<SoftEngine>(box->sink, threaded);
            return box;
        }), py::arg("writer"), py::arg("threaded") = true)
        .def_property_readonly("writer_kind", [](const EngineBox& b) { return b.kind; })
        .def_property_readonly("threaded", [](const EngineBox& b) { return b.engine->threaded(); })
        .def_property_readonly("due_ns", [](const EngineBox& b) { return b.engine->due_ns(); },
                               "inside a write: when it was due")
        .def("set_pin", [](EngineBox& b, int gpio, int64_t period, const std::vector<std::pair<int64_t, int64_t>>& runs,
                           int64_t now) {
            py::gil_scoped_release r;
            b.engine->set_pin(gpio, period, runs, now);
        }, py::arg("gpio"), py::arg("period_ns"), py::arg("runs_ns"), py::arg("now_ns") = -1)
        .def("remove_pin", [](EngineBox& b, int gpio, std::optional<int> level, int64_t now) {
            py::gil_scoped_release r;
            b.engine->remove_pin(gpio, level ? *level : -1, now);
        }, py::arg("gpio"), py::arg("level") = 0, py::arg("now_ns") = -1)
        .def("pins", [](const EngineBox& b) { return b.engine->pins(); })
        .def("make_output", [](EngineBox& b, int gpio) {
            py::gil_scoped_release r;
            b.engine->make_output(gpio);
        })
        .def("has_pin", [](const EngineBox& b, int g) { return b.engine->has_pin(g); })
        .def("stop", [](EngineBox& b) {
            py::gil_scoped_release r;
            b.engine->stop();
        })
        .def("run_until", [](EngineBox& b, int64_t t) {
            py::gil_scoped_release r;
            return b.engine->run_until(t);
        })
        .def("next_event_ns", [](const EngineBox& b) { return b.engine->next_event_ns(); })
        .def("set_edge_log", [](EngineBox& b, size_t n) { b.engine->set_edge_log(n); })
        .def("edge_log", [](const EngineBox& b) {
            std::vector<std::tuple<int64_t, int64_t, int, int>> out;
            for (const auto& e : b.engine->edge_log()) out.emplace_back(e.due_ns, e.written_ns, e.gpio, e.level);
            return out;
        }, "(due_ns, written_ns, gpio, level) of the last scheduled edges")
        .def("set_spin_ns", [](EngineBox& b, int64_t ns) { b.engine->set_spin_ns(ns); })
        .def("set_realtime_priority", [](EngineBox& b, int prio) { b.engine->set_realtime_priority(prio); },
             "SCHED_FIFO priority the thread asks for when it (re)starts; 0: none")
        .def_property_readonly("realtime", [](const EngineBox& b) { return b.engine->realtime(); })
        .def("stats", [](const EngineBox& b) {
            SoftEngineStats s = b.engine->stats();
            py::dict d;
            d["writes"] = s.writes;
            d["edges"] = s.edges;
            d["skipped_periods"] = s.skipped_periods;
            d["max_late_ns"] = s.max_late_ns;
            d["write_errors"] = s.write_errors;
            return d;
        })
        .def("set_line_fd", [](EngineBox& b, int gpio, int fd) {
            auto* l = dynamic_cast<LineFdSink*>(b.sink.get());
            if (!l) throw PwmArgumentError("set_line_fd needs an engine made with writer='lines'");
            l->set_fd(gpio, fd);
        })
        .def("recorded", [](EngineBox& b) {
            auto* r = dynamic_cast<RecordingSink*>(b.sink.get());
            if (!r) throw PwmArgumentError("recorded() needs an engine made with writer='record'");
            std::vector<std::tuple<int64_t, int, int>> out;
            for (const auto& e : r->entries()) out.emplace_back(e.t_ns, e.gpio, e.level);
            return out;
        }, "(t_ns, gpio, level) of every write of a writer='record' engine")
        .def("close", [](EngineBox& b) {
            py::gil_scoped_release r;
            b.engine->stop();
        });

    py::class_<ModelBoardLink>(m, "ModelBoardLink",
        "Writes the DMA model's pin changes to a simulated board (rpio_core.pin_writer capsule) at the "
        "model's times; with start_pump(), a thread of its own keeps the model at the wall clock.")
        .def(py::init([](SimSoc& sim, py::object cap, int64_t t0_ns) {
            auto* t = static_cast<const rpio_pin_writer_v1*>(PyCapsule_GetPointer(cap.ptr(), RPIO_PIN_WRITER_CAPSULE));
            if (!t) throw py::error_already_set();
            return std::make_unique<ModelBoardLink>(sim, std::make_shared<TableSink>(t), t0_ns);
        }), py::arg("sim"), py::arg("writer"), py::arg("t0_ns"), py::keep_alive<1, 2>())
        .def("lock", [](ModelBoardLink& l) {
            py::gil_scoped_release r;
            l.mutex().lock();
        }, "Hold the model (recursive; the pump waits). Pair with unlock() in the same thread.")
        .def("unlock", [](ModelBoardLink& l) { l.mutex().unlock(); })
        .def("sync_to_now", [](ModelBoardLink& l, uint64_t catchup) {
            py::gil_scoped_release r;
            l.sync_to_now(catchup);
        }, py::arg("catchup_ticks") = 0)
        .def("start_pump", [](ModelBoardLink& l, int64_t period_ns, uint64_t catchup) {
            l.start_pump(period_ns, catchup);
        }, py::arg("period_ns") = 2000000, py::arg("catchup_ticks") = 0)
        .def("stop_pump", [](ModelBoardLink& l) {
            py::gil_scoped_release r;
            l.stop_pump();
        })
        .def("close", [](ModelBoardLink& l) {
            py::gil_scoped_release r;
            l.stop_pump();
        })
        .def("ticks_to_ns", &ModelBoardLink::ticks_to_ns)
        .def_property_readonly("t0_ns", &ModelBoardLink::t0_ns)
        .def_property_readonly("forwarded", &ModelBoardLink::forwarded)
        .def_property_readonly("errors", &ModelBoardLink::errors);
}

}  // namespace rpio_pwm_py
