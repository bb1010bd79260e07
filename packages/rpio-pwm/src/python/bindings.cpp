// The files that know about Python (this one and bindings_engines.cpp, bindings_pio.cpp): a thin
// pybind11 layer over the engine. Every public name lives in the rpio_pwm package; this module stays
// private (rpio_pwm._pwm).
#include "bindings_shared.hpp"

#include <unistd.h>

#include <cstring>
#include <optional>

#include "rpio_pwm/controller.hpp"
#include "rpio_pwm/hardware.hpp"
#include "rpio_pwm/model.hpp"
#include "rpio_pwm/pacer.hpp"
#include "rpio_pwm/soft_engine.hpp"

using namespace rpio_pwm;
using namespace rpio_pwm_py;

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

py::tuple cb_tuple(const ControlBlock& cb) {
    return py::make_tuple(cb.ti, cb.source_ad, cb.dest_ad, cb.txfr_len, cb.stride, cb.nextconbk, cb.reserved[0],
                          cb.reserved[1]);
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

    bind_engines(m);  // bindings_engines.cpp

    bind_pio(m);  // bindings_pio.cpp
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
