// The only file that knows about Python: a thin pybind11 layer over the engine. Every public name
// lives in the rpio_pwm package; this module stays private (rpio_pwm._pwm).
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <map>
#include <cerrno>
#include <cstring>
#include <tuple>
#include <unistd.h>

#include "rpio_pwm/controller.hpp"
#include "rpio_pwm/hardware.hpp"
#include "rpio_pwm/model.hpp"
#include "rpio_pwm/pacer.hpp"
#include "rpio_pwm/soft_engine.hpp"
#include "rpio_pwm/model_link.hpp"
#include "rpio_pwm/pio_pwm.hpp"

namespace py = pybind11;
using namespace rpio_pwm;

#ifndef RPIO_PWM_VERSION
#define RPIO_PWM_VERSION "0+unknown"
#endif

namespace {
PyObject* g_pwm_error = nullptr;
PyObject* g_arg_error = nullptr;
PyObject* g_model_fault = nullptr;
PyObject* g_busy_error = nullptr;
int g_test_fd = -1;

void test_hook() {
    if (g_test_fd >= 0) {
        ssize_t r = ::write(g_test_fd, "S", 1);
        (void)r;
    }
}

py::dict pacer_dict(const PacerConfig& c) {
    py::dict d;
    d["pacing"] = static_cast<int>(c.pacing);
    d["clock_source"] = c.clock_source == cmreg::SRC_PLLD ? "plld" : "oscillator";
    d["source_hz"] = c.source_hz;
    d["divi"] = c.divi;
    d["range"] = c.range;
    d["dreq_threshold"] = c.dreq_threshold;
    d["channels"] = c.channels;
    d["slot_us"] = c.slot_us();
    d["description"] = c.describe();
    return d;
}

std::vector<std::pair<uint32_t, uint32_t>> pulses_out(const std::vector<Pulse>& v) {
    std::vector<std::pair<uint32_t, uint32_t>> out;
    for (const auto& p : v) out.emplace_back(p.start, p.width);
    return out;
}

Soc soc_arg(const std::string& name) { return soc_from_name(name); }

py::tuple cb_tuple(const ControlBlock& cb) {
    return py::make_tuple(cb.ti, cb.source_ad, cb.dest_ad, cb.txfr_len, cb.stride, cb.nextconbk, cb.reserved[0],
                          cb.reserved[1]);
}

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

// Raw memory access to the model's SDRAM by bus address, for tests that craft control blocks.
struct SimMemory {
    static void write(SimSoc& /*sim*/, const DmaBuffer& b, size_t off, py::bytes data) {
        std::string s = data;
        if (off + s.size() > b.size) throw PwmArgumentError("write past the end of the buffer");
        std::memcpy(b.cpu + off, s.data(), s.size());
    }
};
}  // namespace

PYBIND11_MODULE(_pwm, m) {
    m.doc() = "rpio-pwm engine: control-block compiler, DMA model, hardware parts (private)";
    m.attr("__version__") = RPIO_PWM_VERSION;

    g_pwm_error = PyErr_NewExceptionWithDoc("rpio_pwm._pwm.PWMError", "A PWM operation failed (a RuntimeError, as in RPIO 0.10).",
                                            PyExc_RuntimeError, nullptr);
    PyObject* bases = PyTuple_Pack(2, g_pwm_error, PyExc_ValueError);
    g_arg_error = PyErr_NewExceptionWithDoc("rpio_pwm._pwm.PWMArgumentError",
                                            "A bad argument to a PWM call (both a RuntimeError and a ValueError).", bases, nullptr);
    Py_DECREF(bases);
    g_model_fault = PyErr_NewExceptionWithDoc("rpio_pwm._pwm.ModelFault",
                                              "The simulated DMA engine met something the hardware would not run.",
                                              PyExc_RuntimeError, nullptr);
    g_busy_error = PyErr_NewExceptionWithDoc("rpio_pwm._pwm.DMAChannelBusyError",
                                             "The DMA channel is in use by another program; choose another one.",
                                             g_pwm_error, nullptr);
    m.add_object("PWMError", py::handle(g_pwm_error));
    m.add_object("DMAChannelBusyError", py::handle(g_busy_error));
    m.add_object("PWMArgumentError", py::handle(g_arg_error));
    m.add_object("ModelFault", py::handle(g_model_fault));
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const PwmArgumentError& e) {
            PyErr_SetString(g_arg_error, e.what());
        } catch (const DmaChannelBusy& e) {
            PyErr_SetString(g_busy_error, e.what());
        } catch (const PwmError& e) {
            PyErr_SetString(g_pwm_error, e.what());
        } catch (const ModelFault& e) {
            PyErr_SetString(g_model_fault, e.what());
        }
    });

    m.attr("TICKS_PER_US") = SimSoc::kTicksPerUs;
    m.attr("DMA_CHANNELS") = kDmaChannels;
    m.attr("SUBCYCLE_MIN_US") = kSubcycleMinUs;
    m.attr("MAX_SAMPLES") = kMaxSamples;
    m.attr("BUS_GPSET0") = kBusGpset0;
    m.attr("BUS_GPCLR0") = kBusGpclr0;
    m.attr("BUS_PWM_FIFO") = kBusPwmFifo;
    m.attr("BUS_PCM_FIFO") = kBusPcmFifo;
    m.attr("DREQ_PWM") = kDreqPwm;
    m.attr("DREQ_PCM") = kDreqPcmTx;
    m.attr("CBS_PER_SAMPLE") = RingLayout::kCbsPerSample;

    m.def("soc_info", [](const std::string& name) {
        const SocInfo& s = soc_info(soc_arg(name));
        py::dict d;
        d["name"] = s.name;
        d["periph_phys_base"] = s.periph_phys_base;
        d["periph_size"] = s.periph_size;
        d["sdram_bus_alias"] = s.sdram_bus_alias;
        d["mailbox_mem_flags"] = s.mailbox_mem_flags;
        d["plld_hz"] = s.plld_hz;
        d["osc_hz"] = s.osc_hz;
        d["legacy_dma_mask"] = s.legacy_dma_mask;
        d["num_gpios"] = s.num_gpios;
        return d;
    });
    m.def("compute_pacer", [](const std::string& soc, int pacing, uint32_t incr_us, uint32_t channels) {
        if (pacing != 0 && pacing != 1) throw PwmArgumentError("pacing must be 0 (PWM) or 1 (PCM)");
        return pacer_dict(compute_pacer(soc_info(soc_arg(soc)), static_cast<Pacing>(pacing), incr_us, channels));
    });
    m.def("ring_bytes", [](uint32_t num_samples) { return RingLayout::for_samples(num_samples).total_bytes; });

    // ---- device tree / hardware facts
    m.def("read_device_tree", [](const std::string& root) {
        DeviceTreeInfo i = read_device_tree(root);
        py::dict d;
        d["soc"] = i.soc ? py::cast(std::string(soc_info(*i.soc).name)) : py::none();
        d["periph_base"] = i.periph_base ? py::cast(*i.periph_base) : py::none();
        d["periph_size"] = i.periph_size ? py::cast(*i.periph_size) : py::none();
        d["dma_channel_mask"] = i.dma_channel_mask ? py::cast(*i.dma_channel_mask) : py::none();
        d["model"] = i.model;
        d["compatible"] = i.compatible;
        return d;
    });
    m.def("default_dma_channel", [](const std::string& soc, std::optional<uint32_t> mask) {
        return default_dma_channel(soc_arg(soc), mask);
    }, py::arg("soc"), py::arg("mask") = py::none());
    m.def("mailbox_message", [](uint32_t tag, const std::vector<uint32_t>& values, uint32_t words) {
        return Mailbox::message(tag, values, words);
    });
    m.def("vcio_ioctl_request", &VcioTransport::ioctl_request);
    m.def("periph_bus_to_phys", [](const std::string& soc, uint32_t bus) {
        return periph_bus_to_phys(soc_info(soc_arg(soc)), BusAddr{bus}).value;
    });

    // ---- signal guard
    m.def("signal_guard_install_for_test", [](int fd) {
        g_test_fd = fd;
        signal_guard::install(&test_hook);
    });
    m.def("signal_guard_uninstall", &signal_guard::uninstall);
    m.def("signal_guard_installed", &signal_guard::installed);
    m.def("guarded_signals", &signal_guard::guarded_signals);

    // ---- platforms
    py::class_<Platform>(m, "Platform")
        .def_property_readonly("soc", [](const Platform& p) { return std::string(p.soc().name); })
        .def_property_readonly("is_model", &Platform::is_model)
        .def("read32", [](Platform& p, uint32_t a) { return p.read32(BusAddr{a}); })
        .def("write32", [](Platform& p, uint32_t a, uint32_t v) { p.write32(BusAddr{a}, v); });

    py::class_<DmaBuffer>(m, "DmaBuffer")
        .def_readonly("bus", &DmaBuffer::bus)
        .def_readonly("size", &DmaBuffer::size);

    py::class_<SimSoc, Platform>(m, "SimSoc")
        .def(py::init([](const std::string& soc) { return std::make_unique<SimSoc>(soc_arg(soc)); }), py::arg("soc") = "BCM2837")
        .def_property_readonly("now", &SimSoc::now)
        .def("run_until", &SimSoc::run_until)
        .def("advance", &SimSoc::advance)
        .def("skip_to", &SimSoc::skip_to)
        .def("level", &SimSoc::level)
        .def("function", &SimSoc::function)
        .def("transitions", [](const SimSoc& s, size_t from) {
            auto v = s.transitions(from);
            py::list out(v.size());
            for (size_t i = 0; i < v.size(); ++i) out[i] = py::make_tuple(v[i].t, v[i].gpio, v[i].level);
            return out;
        }, py::arg("from_index") = 0)
        .def_property_readonly("transitions_total", &SimSoc::transitions_total)
        .def_property_readonly("transitions_dropped", &SimSoc::transitions_dropped)
        .def("clear_transitions", &SimSoc::clear_transitions)
        .def("set_history_limit", &SimSoc::set_history_limit)
        .def("set_transition_listener", [](SimSoc& s, std::optional<py::function> fn) {
            if (!fn) {
                s.set_transition_listener(nullptr);
                return;
            }
            py::function f = *fn;
            s.set_transition_listener([f](const Transition& t) { f(t.t, t.gpio, t.level); });
        })
        .def("ring_starts", &SimSoc::ring_starts)
        .def("watch_cb", &SimSoc::watch_cb)
        .def_property_readonly("cbs_executed", &SimSoc::cbs_executed)
        .def("slots", &SimSoc::slots)
        .def("slot_ticks", &SimSoc::slot_ticks)
        .def("fifo_underruns", &SimSoc::fifo_underruns)
        .def("channel_active", &SimSoc::channel_active)
        .def("occupy_channel", &SimSoc::occupy_channel, py::arg("ch"), py::arg("active") = true,
             py::arg("conblk") = 0x4D000000u)
        .def("channel_foreign", &SimSoc::channel_foreign)
        .def_property_readonly("takeovers", &SimSoc::takeovers)
        .def("alloc_dma", &SimSoc::alloc_dma)
        .def("free_dma", &SimSoc::free_dma)
        .def("mem_write", [](SimSoc& s, const DmaBuffer& b, size_t off, py::bytes data) { SimMemory::write(s, b, off, data); })
        .def("mem_read", [](SimSoc&, const DmaBuffer& b, size_t off, size_t n) {
            if (off + n > b.size) throw PwmArgumentError("read past the end of the buffer");
            return py::bytes(reinterpret_cast<const char*>(b.cpu + off), n);
        });

    py::class_<HardwarePlatform, Platform>(m, "HardwarePlatform")
        .def(py::init([](const std::string& soc, const std::string& devmem, const std::string& vcio,
                         std::optional<uint64_t> periph_base, bool signal_guard) {
                 HardwareOptions o;
                 o.devmem = devmem;
                 o.vcio = vcio;
                 o.periph_base = periph_base;
                 o.signal_guard = signal_guard;
                 return std::make_unique<HardwarePlatform>(soc_arg(soc), o);
             }),
             py::arg("soc"), py::arg("devmem") = "/dev/mem", py::arg("vcio") = "/dev/vcio",
             py::arg("periph_base") = py::none(), py::arg("signal_guard") = true)
        .def_property_readonly("periph_base", &HardwarePlatform::periph_base);

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
    m.attr("SOFT_MIN_EDGE_GAP_NS") = SoftEngine::kMinEdgeGapNs;
    m.def("monotonic_ns", &monotonic_now_ns);

    py::class_<Controller>(m, "Controller")
        .def(py::init<Platform&>(), py::keep_alive<1, 2>())
        .def("setup", &Controller::setup)
        .def("cleanup", &Controller::cleanup)
        .def("is_setup", &Controller::is_setup)
        .def("init_channel", &Controller::init_channel, py::arg("ch"), py::arg("subcycle_us"), py::arg("enforce_minimum") = true)
        .def("release_channel", &Controller::release_channel)
        .def("channel_busy", &Controller::channel_busy)
        .def("add_pulse", &Controller::add_pulse)
        .def("set_pulses", &Controller::set_pulses)
        .def("clear_channel", &Controller::clear_channel)
        .def("clear_channel_gpio", &Controller::clear_channel_gpio)
        .def("is_channel_initialized", [](const Controller& c, int64_t ch) { return c.state().is_channel_initialized(ch); })
        .def("initialized_channels", [](const Controller& c) { return c.state().initialized_channels(); })
        .def_property_readonly("incr_us", [](const Controller& c) { return c.state().incr_us(); })
        .def_property_readonly("pacing", [](const Controller& c) { return static_cast<int>(c.state().pacing()); })
        .def("subcycle_us", [](const Controller& c, int64_t ch) { return c.state().channel(ch).subcycle_us(); })
        .def("num_samples", [](const Controller& c, int64_t ch) { return c.state().channel(ch).num_samples(); })
        .def("gpios", [](const Controller& c, int64_t ch) {
            std::vector<int> v;
            for (const auto& kv : c.state().channel(ch).gpios()) v.push_back(kv.first);
            return v;
        })
        .def("runs", [](const Controller& c, int64_t ch, int g) { return pulses_out(c.state().channel(ch).runs(g)); })
        .def("owner", [](const Controller& c, int g) { return c.state().owner(g); })
        .def_property_readonly("gpios_used", [](const Controller& c) { return c.state().gpios_used(); })
        .def("describe_channel", &Controller::describe_channel)
        .def("pacer", [](const Controller& c) -> py::object {
            auto p = c.pacer();
            if (!p) return py::none();
            return pacer_dict(*p);
        })
        .def("ring_info", [](const Controller& c, int64_t ch) {
            const Ring& r = c.ring(ch);
            py::dict d;
            d["first_cb_bus"] = r.first_cb_bus();
            d["total_bytes"] = r.layout().total_bytes;
            d["num_samples"] = r.num_samples();
            d["masks_offset"] = r.layout().masks_offset;
            d["dummy_offset"] = r.layout().dummy_offset;
            return d;
        })
        .def("ring_cb", [](const Controller& c, int64_t ch, uint32_t sample, uint32_t which) {
            const Ring& r = c.ring(ch);
            if (sample >= r.num_samples() || which >= RingLayout::kCbsPerSample) throw PwmArgumentError("no such control block");
            return cb_tuple(r.cb(sample, which));
        })
        .def("ring_masks", [](const Controller& c, int64_t ch, uint32_t sample) {
            const Ring& r = c.ring(ch);
            if (sample >= r.num_samples()) throw PwmArgumentError("no such sample");
            return py::make_tuple(r.set_mask(sample), r.clr_mask(sample));
        })
        .def("ring_buffer", [](const Controller& c, int64_t ch) { return c.ring(ch).buffer(); })
        .def("set_legacy_check", [](Controller& c, bool on) { c.mutable_state().set_legacy_check(on); });
}
