// rpio_core._core: the only file that sees Python. pybind11 for everything, plus the two
// hand-written METH_FASTCALL entries of the hot path (output/input) and their state.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "rpio/bcm2835.hpp"
#include "rpio/chardev_lines.hpp"
#include "rpio/error.hpp"
#include "rpio/mmap_bus.hpp"
#include "rpio/rp1.hpp"
#include "rpio/sim_chip.hpp"

namespace py = pybind11;
using namespace pybind11::literals;
using namespace rpio;

#ifndef RPIO_CORE_VERSION
#error "RPIO_CORE_VERSION must be defined by the build"
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// Argument helpers for the pybind11 (slow-path) API.

size_t to_offset(long long off) {
    if (off < 0) throw std::out_of_range("register offset " + std::to_string(off) + " is negative");
    return static_cast<size_t>(off);
}

uint32_t to_u32(long long value) {
    if (value < 0 || value > 0xFFFFFFFFLL)
        throw std::invalid_argument("register value " + std::to_string(value) +
                                    " does not fit 32 bits");
    return static_cast<uint32_t>(value);
}

size_t to_capacity(long long n) {
    if (n < 0) throw std::invalid_argument("history_capacity must be >= 0");
    return static_cast<size_t>(n);
}

int to_drive(const py::object& level) {
    if (level.is_none()) return -1;
    if (py::isinstance<py::str>(level) && level.cast<std::string>() == "release") return -1;
    if (py::isinstance<py::int_>(level)) {
        const long long v = level.cast<long long>();
        if (v == 0 || v == 1) return static_cast<int>(v);
    }
    throw py::value_error("drive level must be 0, 1, None or 'release', not " +
                          std::string(py::repr(level)));
}

// ---------------------------------------------------------------------------------------------
// History entries: a struct sequence that unpacks as (t_ns, gpio, level) and also carries
// `.floating` (a field outside the tuple, like os.stat_result's float times).

PyTypeObject* g_history_entry_type = nullptr;

PyStructSequence_Field g_history_fields[] = {
    {const_cast<char*>("t_ns"), const_cast<char*>("CLOCK_MONOTONIC time of the change, ns")},
    {const_cast<char*>("gpio"), const_cast<char*>("the pin")},
    {const_cast<char*>("level"), const_cast<char*>("the level it shows from then on, 0 or 1")},
    {const_cast<char*>("floating"), const_cast<char*>("True if nothing drives or pulls it")},
    {const_cast<char*>("cause"), const_cast<char*>("who changed it: 'pid 4242 output', "
                                                   "'part doorbell', 'drive pid 4242', 'short'...")},
    {nullptr, nullptr}};

PyStructSequence_Desc g_history_desc = {
    const_cast<char*>("rpio_core.HistoryEntry"),
    const_cast<char*>("One change of a simulated pin's shown level: (t_ns, gpio, level), "
                      "plus .floating and .cause."),
    g_history_fields, 3};

py::list history_list(const SimChip& chip) {
    const std::vector<HistoryEntry> entries = chip.history();
    py::list out(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
        PyObject* e = PyStructSequence_New(g_history_entry_type);
        if (!e) throw py::error_already_set();
        PyStructSequence_SetItem(e, 0, PyLong_FromLongLong(entries[i].t_ns));
        PyStructSequence_SetItem(e, 1, PyLong_FromUnsignedLong(entries[i].gpio));
        PyStructSequence_SetItem(e, 2, PyLong_FromLong(entries[i].level));
        PyStructSequence_SetItem(e, 3, PyBool_FromLong(entries[i].floating));
        const std::string cause = cause_text(entries[i]);
        PyObject* text = PyUnicode_FromStringAndSize(cause.data(), static_cast<Py_ssize_t>(cause.size()));
        if (!text) {
            Py_DECREF(e);
            throw py::error_already_set();
        }
        PyStructSequence_SetItem(e, 4, text);
        PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), e);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// SimChip(kind) builds the chip of that kind (a SimBcm2835, SimBcm2711 or SimRp1), the way
// pathlib.Path() builds a PosixPath: the sim classes get a metaclass whose __call__ reroutes
// calls on the base class to a factory and leaves every subclass to pybind11.

PyObject* g_simchip_class = nullptr;    // rpio_core.SimChip
PyObject* g_simchip_factory = nullptr;  // (kind, history_capacity) -> the derived chip

// A subclass of pybind11's metaclass whose __call__ sends SimChip(...) to the factory.
py::object make_simchip_metaclass(const py::handle& pybind_class) {
    const py::object base = py::reinterpret_borrow<py::object>(
        reinterpret_cast<PyObject*>(Py_TYPE(pybind_class.ptr())));
    py::object meta = py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject*>(&PyType_Type))(
        "SimChipType", py::make_tuple(base), py::dict("__module__"_a = "rpio_core"));
    const py::object base_call = base.attr("__call__");
    meta.attr("__call__") = py::cpp_function(
        [base_call](const py::handle& cls, const py::args& args, const py::kwargs& kwargs) -> py::object {
            if (cls.ptr() == g_simchip_class)
                return py::reinterpret_borrow<py::object>(g_simchip_factory)(*args, **kwargs);
            return base_call(cls, *args, **kwargs);
        },
        py::is_method(meta));
    return meta;
}

std::shared_ptr<SimChip> make_sim_chip(const std::string& kind, long long history_capacity) {
    const size_t cap = to_capacity(history_capacity);
    if (kind == "bcm2711") return std::make_shared<SimBcm2711>(cap);
    if (kind == "rp1") return std::make_shared<SimRp1>(cap);
    if (kind == "bcm2835" || kind == "bcm2836" || kind == "bcm2837")
        return std::make_shared<SimBcm2835>(kind, cap);
    throw py::value_error("unknown chip kind '" + kind +
                          "'; expected one of bcm2835, bcm2836, bcm2837, bcm2711, rp1");
}

// ---------------------------------------------------------------------------------------------
// The hot path. State set from Python through fastpath_*; read by output()/input().

constexpr int kFastGpios = 64;

// What the hot path needs about one channel, in one 24-byte record: the pin's register recipe,
// whether this process set it up (-1 no / mode not set / unmapped, 0 OUT, 1 IN), and its gpio
// (the line offset when the board is driven through the GPIO character device).
struct FastChannel {
    uint32_t set_off;
    uint32_t clr_off;
    uint32_t lev_off;
    uint32_t mask;
    int32_t direction;
    uint32_t line;
};

struct FastPath {
    // The table the calls read, rebuilt from the state below whenever that changes.
    const FastChannel* channels = nullptr;
    size_t nchannels = 0;
    // The driver's recipe is replayed on its bus: straight into the mapping when the bus is
    // plain memory, through one virtual call when it is a model.
    Bus* bus = nullptr;                  // borrowed: driver_obj holds the driver, which holds it
    volatile uint32_t* direct = nullptr;
    // Or, for the character-device backend, the request fds of the lines: one ioctl a call.
    ChardevLines* lines = nullptr;       // borrowed: driver_obj is (or subclasses) it
    PyObject* zero = nullptr;
    PyObject* one = nullptr;

    // State as set from Python.
    unsigned ngpio = 0;  // 0 when no driver: every call falls back
    PinIo io[kFastGpios];
    PyObject* driver_obj = nullptr;
    PyObject* fallback_output = nullptr;
    PyObject* fallback_input = nullptr;
    std::vector<int8_t> map;       // channel -> gpio or -1; empty = numbering mode not set
    int8_t direction[kFastGpios];  // -1 not set up by this process, 0 OUT, 1 IN
    std::vector<FastChannel> table;
};
FastPath g_fast;

void fast_rebuild() {
    std::vector<FastChannel> table(g_fast.map.size(), FastChannel{0, 0, 0, 0, -1, 0});
    for (size_t ch = 0; ch < g_fast.map.size(); ++ch) {
        const int gpio = g_fast.map[ch];
        if (gpio < 0 || static_cast<unsigned>(gpio) >= g_fast.ngpio) continue;
        const PinIo& io = g_fast.io[gpio];
        table[ch] = FastChannel{io.set_off, io.clr_off, io.lev_off, io.mask, g_fast.direction[gpio],
                                static_cast<uint32_t>(gpio)};
    }
    g_fast.table.swap(table);
    g_fast.channels = g_fast.table.data();
    g_fast.nchannels = g_fast.table.size();
}

void fast_clear_directions() { std::memset(g_fast.direction, -1, sizeof g_fast.direction); }

// An exact int's (or bool's) value if it is small and non-negative, else -1.
inline Py_ssize_t small_index(PyObject* o) {
#if PY_VERSION_HEX >= 0x030C0000
    if (!PyUnstable_Long_IsCompact(reinterpret_cast<PyLongObject*>(o))) return -1;
    const Py_ssize_t v = PyUnstable_Long_CompactValue(reinterpret_cast<PyLongObject*>(o));
    return v < 0 ? -1 : v;
#elif PY_VERSION_HEX >= 0x030B0000
    // ob_size is the signed digit count; one digit holds 30 bits.
    const Py_ssize_t n = Py_SIZE(o);
    if (n == 0) return 0;
    if (n == 1) return static_cast<Py_ssize_t>(reinterpret_cast<PyLongObject*>(o)->ob_digit[0]);
    return -1;
#else
    int overflow = 0;
    const long v = PyLong_AsLongAndOverflow(o, &overflow);
    return overflow || v < 0 ? -1 : v;
#endif
}

// 1 or 0 for an exact int or bool of magnitude below 2**30 (non-zero is HIGH), -1 for any other
// int: huge values are left to the fallback, which applies RPi.GPIO's C-int conversion to them.
inline int small_truth(PyObject* o) {
#if PY_VERSION_HEX >= 0x030C0000
    if (!PyUnstable_Long_IsCompact(reinterpret_cast<PyLongObject*>(o))) return -1;
    return PyUnstable_Long_CompactValue(reinterpret_cast<PyLongObject*>(o)) != 0;
#elif PY_VERSION_HEX >= 0x030B0000
    const Py_ssize_t n = Py_SIZE(o);  // signed digit count, 30 bits a digit
    return n == 0 ? 0 : (n == 1 || n == -1) ? 1 : -1;
#else
    int overflow = 0;
    const long v = PyLong_AsLongAndOverflow(o, &overflow);
    return overflow || v >= (1L << 30) || v <= -(1L << 30) ? -1 : v != 0;
#endif
}

inline bool is_plain_int(PyObject* o) { return PyLong_CheckExact(o) || PyBool_Check(o); }

// The channel's record if the fast path may serve it (a plain int inside the table), else null.
inline const FastChannel* fast_channel(PyObject* channel) {
    if (!is_plain_int(channel)) return nullptr;
    const Py_ssize_t ch = small_index(channel);
    if (ch < 0 || static_cast<size_t>(ch) >= g_fast.nchannels) return nullptr;
    return &g_fast.channels[ch];
}

PyObject* call_fallback(PyObject* fallback, const char* name, PyObject* const* args,
                        Py_ssize_t nargs) {
    if (!fallback) {
        PyErr_Format(PyExc_RuntimeError, "%s(): the rpio_core fast path is not bound "
                                         "(call fastpath_bind first)", name);
        return nullptr;
    }
    return PyObject_Vectorcall(fallback, args, static_cast<size_t>(nargs), nullptr);
}

bool reject_keywords(PyObject* kwnames, const char* name) {
    if (kwnames && PyTuple_GET_SIZE(kwnames) != 0) {
        PyErr_Format(PyExc_TypeError, "%s() takes no keyword arguments", name);
        return true;
    }
    return false;
}

PyObject* fast_output(PyObject*, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    if (reject_keywords(kwnames, "output")) return nullptr;
    if (nargs == 2 && is_plain_int(args[1])) {
        const FastChannel* c = fast_channel(args[0]);
        const int high = small_truth(args[1]);
        if (c && c->direction == 0 && high >= 0) {
            // A failing ioctl (chip gone, line released) goes to the fallback, which raises.
            if (g_fast.lines) {
                if (g_fast.lines->write(c->line, high != 0) == 0) Py_RETURN_NONE;
                return call_fallback(g_fast.fallback_output, "output", args, nargs);
            }
            const uint32_t off = high ? c->set_off : c->clr_off;
            if (g_fast.direct)
                g_fast.direct[off >> 2] = c->mask;
            else
                g_fast.bus->write32(off, c->mask);
            Py_RETURN_NONE;
        }
    }
    return call_fallback(g_fast.fallback_output, "output", args, nargs);
}

PyObject* fast_input(PyObject*, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    if (reject_keywords(kwnames, "input")) return nullptr;
    if (nargs == 1) {
        const FastChannel* c = fast_channel(args[0]);
        if (c && c->direction >= 0) {
            if (g_fast.lines) {
                const int level = g_fast.lines->read(c->line);
                if (level < 0) return call_fallback(g_fast.fallback_input, "input", args, nargs);
                PyObject* r = level ? g_fast.one : g_fast.zero;
                Py_INCREF(r);
                return r;
            }
            const uint32_t v =
                g_fast.direct ? g_fast.direct[c->lev_off >> 2] : g_fast.bus->read32(c->lev_off);
            PyObject* r = (v & c->mask) ? g_fast.one : g_fast.zero;
            Py_INCREF(r);
            return r;
        }
    }
    return call_fallback(g_fast.fallback_input, "input", args, nargs);
}

// Baseline for benchmarks: the cheapest possible builtin taking two ints.
PyObject* bench_fastcall_noop2(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyLong_Check(args[0]) || !PyLong_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "_bench_fastcall_noop2() takes two ints");
        return nullptr;
    }
    Py_RETURN_NONE;
}

PyMethodDef g_fast_methods[] = {
    {"output", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)(void)>(fast_output)),
     METH_FASTCALL | METH_KEYWORDS,
     "output($module, channel, value, /)\n--\n\nThe hot path of RPIO.output: drives the pin in "
     "C++ when channel and value are plain ints (|value| < 2**30) and the channel is an output set "
     "up by this process; every other call goes to the bound Python fallback."},
    {"input", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)(void)>(fast_input)),
     METH_FASTCALL | METH_KEYWORDS,
     "input($module, channel, /)\n--\n\nThe hot path of RPIO.input: returns 0 or 1 (an int) for "
     "a plain-int channel set up by this process; every other call goes to the bound Python "
     "fallback."},
    {"_bench_fastcall_noop2",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)(void)>(bench_fastcall_noop2)),
     METH_FASTCALL, "_bench_fastcall_noop2($module, a, b, /)\n--\n\nBenchmark baseline: does nothing."},
    {nullptr, nullptr, 0, nullptr}};

void fastpath_reset() {
    g_fast.bus = nullptr;
    g_fast.direct = nullptr;
    g_fast.lines = nullptr;
    g_fast.ngpio = 0;
    Py_CLEAR(g_fast.driver_obj);
    Py_CLEAR(g_fast.fallback_output);
    Py_CLEAR(g_fast.fallback_input);
    g_fast.map.clear();
    fast_clear_directions();
    fast_rebuild();
}

void fastpath_bind(const py::object& driver, const py::object& fallback_output,
                   const py::object& fallback_input) {
    if (!PyCallable_Check(fallback_output.ptr()) || !PyCallable_Check(fallback_input.ptr()))
        throw py::type_error("fastpath_bind: the fallbacks must be callable");
    Driver* d = nullptr;
    ChardevLines* lines = nullptr;
    if (!driver.is_none()) {
        if (py::isinstance<ChardevLines>(driver))
            lines = driver.cast<ChardevLines*>();
        else if (py::isinstance<Driver>(driver))
            d = driver.cast<Driver*>();
        else
            throw py::type_error("fastpath_bind: driver must be an rpio_core Driver, ChardevLines "
                                 "or None, not " +
                                 std::string(py::str(py::type::handle_of(driver).attr("__name__"))));
    }
    PyObject* old[3] = {g_fast.driver_obj, g_fast.fallback_output, g_fast.fallback_input};
    g_fast.driver_obj = driver.is_none() ? nullptr : driver.inc_ref().ptr();
    g_fast.fallback_output = fallback_output.inc_ref().ptr();
    g_fast.fallback_input = fallback_input.inc_ref().ptr();
    g_fast.ngpio = d ? std::min<unsigned>(d->num_gpios(), kFastGpios)
                     : lines ? std::min<unsigned>(lines->num_lines(), kFastGpios) : 0;
    for (unsigned g = 0; g < g_fast.ngpio; ++g) g_fast.io[g] = d ? d->pin_io(g) : PinIo{0, 0, 0, 0};
    g_fast.bus = d ? d->bus().get() : nullptr;
    g_fast.direct = d ? g_fast.bus->direct() : nullptr;
    g_fast.lines = lines;
    fast_rebuild();
    for (PyObject* o : old) Py_XDECREF(o);  // last: a destructor may run Python code
}

void fastpath_set_channel_map(const py::sequence& seq) {
    std::vector<int8_t> map;
    map.reserve(py::len(seq));
    for (const py::handle item : seq) {
        if (!PyLong_Check(item.ptr()))
            throw py::type_error("fastpath_set_channel_map: entries must be ints, not " +
                                 std::string(py::str(py::type::handle_of(item).attr("__name__"))));
        const long long g = item.cast<long long>();
        if (g < -1 || g >= kFastGpios)
            throw py::value_error("fastpath_set_channel_map: gpio " + std::to_string(g) +
                                  " out of range (-1 for unmapped, 0-63)");
        map.push_back(static_cast<int8_t>(g));
    }
    g_fast.map.swap(map);
    fast_rebuild();
}

void fastpath_set_direction(long gpio, int direction) {
    if (gpio < 0 || gpio >= kFastGpios)
        throw py::index_error("fastpath_set_direction: gpio " + std::to_string(gpio) +
                              " out of range (0-63)");
    if (direction < -1 || direction > 1)
        throw py::value_error("fastpath_set_direction: direction must be -1 (not set up), 0 (OUT) "
                              "or 1 (IN), not " + std::to_string(direction));
    g_fast.direction[gpio] = static_cast<int8_t>(direction);
    fast_rebuild();
}

py::dict fastpath_state() {
    py::dict d;
    d["driver"] = g_fast.driver_obj ? py::reinterpret_borrow<py::object>(g_fast.driver_obj)
                                    : py::object(py::none());
    d["fallback_output"] = g_fast.fallback_output
                               ? py::reinterpret_borrow<py::object>(g_fast.fallback_output)
                               : py::object(py::none());
    d["fallback_input"] = g_fast.fallback_input
                              ? py::reinterpret_borrow<py::object>(g_fast.fallback_input)
                              : py::object(py::none());
    py::list map;
    for (int8_t g : g_fast.map) map.append(static_cast<int>(g));
    d["channel_map"] = map;
    py::dict dirs;
    for (int g = 0; g < kFastGpios; ++g)
        if (g_fast.direction[g] != -1) dirs[py::int_(g)] = static_cast<int>(g_fast.direction[g]);
    d["directions"] = dirs;
    return d;
}


// ---------------------------------------------------------------------------------------------
// The workbench: shared boards, wires, parts.

py::tuple mask_tuple(uint64_t mask) {
    py::list out;
    for (; mask; mask &= mask - 1) out.append(__builtin_ctzll(mask));
    return py::tuple(out);
}

uint64_t gpio_mask(const SimChip& c, const py::iterable& gpios) {
    uint64_t mask = 0;
    size_t n = 0;
    for (const py::handle item : gpios) {
        if (!PyLong_Check(item.ptr()))
            throw py::type_error("wire(): gpios must be ints, not " +
                                 std::string(py::str(py::type::handle_of(item).attr("__name__"))));
        const long g = item.cast<long>();
        c.validate_gpio(g);
        if (mask & (uint64_t{1} << g))
            throw py::value_error("wire(): gpio " + std::to_string(g) + " is given twice");
        mask |= uint64_t{1} << g;
        ++n;
    }
    if (n < 2) throw py::value_error("a wire joins at least two pins");
    return mask;
}

const char* part_kind_text(seg::PartKind k) {
    switch (k) {
        case seg::PartKind::Button: return "button";
        case seg::PartKind::Led: return "led";
        case seg::PartKind::Servo: return "servo";
        case seg::PartKind::Generator: return "generator";
        default: return "?";
    }
}

seg::PartKind parse_part_kind(const std::string& kind) {
    if (kind == "button") return seg::PartKind::Button;
    if (kind == "led") return seg::PartKind::Led;
    if (kind == "servo") return seg::PartKind::Servo;
    if (kind == "generator") return seg::PartKind::Generator;
    throw py::value_error("unknown part kind '" + kind + "'; expected button, led, servo or generator");
}

py::dict part_dict(const PartInfo& p) {
    py::dict d;
    d["id"] = p.id;
    d["kind"] = part_kind_text(p.kind);
    d["name"] = p.name;
    d["gpio"] = p.gpio;
    d["active_low"] = p.active_low;
    d["drive"] = p.drive < 0 ? py::object(py::none()) : py::object(py::int_(p.drive));
    d["created_ns"] = p.created_ns;
    switch (p.kind) {
        case seg::PartKind::Button: d["pressed"] = p.pressed; break;
        case seg::PartKind::Led: d["on"] = p.on; break;
        case seg::PartKind::Generator:
            d["frequency"] = p.frequency;
            d["duty"] = p.duty;
            d["running"] = p.running;
            d["pid"] = p.running ? py::object(py::int_(p.owner_pid)) : py::object(py::none());
            break;
        default: break;
    }
    return d;
}

py::dict listing_dict(const BoardListing& b) {
    py::dict d;
    d["name"] = b.name;
    d["kind"] = b.kind.empty() ? py::object(py::none()) : py::object(py::str(b.kind));
    d["model"] = b.model;
    d["pids"] = b.pids;
    d["dead_pids"] = b.dead_pids;
    d["created_ns"] = b.created_ns;
    d["compatible"] = b.compatible;
    return d;
}

std::shared_ptr<SimChip> open_board(const std::string& name, const py::object& kind,
                                    const std::string& model, long long history_capacity,
                                    bool create) {
    const uint32_t k = kind.is_none() ? 0 : static_cast<uint32_t>(parse_chip_kind(kind.cast<std::string>()));
    if (model.size() >= seg::kModelLen) throw py::value_error("model names have at most 31 characters");
    const size_t cap = to_capacity(history_capacity);
    std::shared_ptr<PinWorld> world;
    {
        py::gil_scoped_release release;  // may wait for another process that is making the board
        world = PinWorld::open_shared(name, k, model, cap, create);
    }
    return SimChip::for_world(std::move(world));
}

// Shorts and recoveries go to logging.getLogger("rpio_core.sim"). Called outside any board lock,
// possibly from a thread without the GIL.
void python_log(int level, const std::string& message) {
    if (!Py_IsInitialized()) return;
#if PY_VERSION_HEX >= 0x030D0000
    if (Py_IsFinalizing()) return;
#else
    if (_Py_IsFinalizing()) return;
#endif
    py::gil_scoped_acquire gil;
    try {
        py::module_::import("logging").attr("getLogger")("rpio_core.sim").attr("log")(level, message);
    } catch (py::error_already_set& e) {
        e.discard_as_unraisable("rpio_core.sim logging");
    }
}

// ---------------------------------------------------------------------------------------------

void translate_system_error(std::exception_ptr p) {
    try {
        if (p) std::rethrow_exception(p);
    } catch (const NotFound& e) {
        PyErr_SetString(PyExc_KeyError, e.what());
    } catch (const SystemError& e) {
        // OSError(errno, text, filename) is constructed as the matching subclass
        // (PermissionError for EACCES, FileNotFoundError for ENOENT, ...).
        const std::string text = std::string(std::strerror(e.code())) + " (" + e.operation() + ")";
        PyObject* filename = PyUnicode_DecodeFSDefault(e.path().c_str());
        if (!filename) return;
        PyObject* exc = PyObject_CallFunction(PyExc_OSError, "isO", e.code(), text.c_str(), filename);
        Py_DECREF(filename);
        if (!exc) return;
        PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc)), exc);
        Py_DECREF(exc);
    }
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "RPIO register core: buses, chip drivers, simulated chips and the hot path.";
    m.attr("__version__") = RPIO_CORE_VERSION;
    py::register_exception_translator(&translate_system_error);

    m.attr("INPUT") = static_cast<int>(Function::Input);
    m.attr("OUTPUT") = static_cast<int>(Function::Output);
    for (int i = 0; i <= 8; ++i) m.attr(("ALT" + std::to_string(i)).c_str()) = static_cast<int>(alt(i));
    m.attr("NONE") = static_cast<int>(Function::None);
    m.attr("PULL_OFF") = static_cast<int>(Pull::Off);
    m.attr("PULL_DOWN") = static_cast<int>(Pull::Down);
    m.attr("PULL_UP") = static_cast<int>(Pull::Up);
    m.attr("PULL_UNKNOWN") = static_cast<int>(Pull::Unknown);
    m.def("function_name", [](int f) {
        if (f < 0 || f >= kFunctionCount) throw py::value_error("invalid function code " + std::to_string(f));
        return std::string(function_name(static_cast<Function>(f)));
    }, "function"_a, "'INPUT', 'OUTPUT', 'ALT0'..'ALT8' or 'NONE' for a function code.");

    // ---- buses
    py::class_<Bus, std::shared_ptr<Bus>> bus_class(m, "Bus",
        "A window of 32-bit registers. read32/write32 take a byte offset (multiple of 4).");
    bus_class.def("read32", [](Bus& b, long long off) { return b.checked_read32(to_offset(off)); },
             "offset"_a)
        .def("write32", [](Bus& b, long long off, long long value) {
            b.checked_write32(to_offset(off), to_u32(value));
        }, "offset"_a, "value"_a)
        .def("size", &Bus::size, "Length of the window in bytes.")
        .def("settle", &Bus::settle, "The pause between steps of the BCM2835 pull sequence.");

    py::class_<MmapBus, Bus, std::shared_ptr<MmapBus>>(m, "MmapBus",
        "A memory-mapped register window of a device (/dev/gpiomem, /dev/gpiomem0, /dev/mem at "
        "a physical base) or of a regular file. Failures raise OSError with errno and path.")
        .def(py::init([](const py::object& path, long long offset, long long length) {
            if (offset < 0) throw py::value_error("MmapBus offset must be >= 0");
            if (length <= 0 || length % 4 != 0)
                throw py::value_error("MmapBus length must be a positive multiple of 4");
            const std::string p = py::module_::import("os").attr("fsencode")(path).cast<std::string>();
            return std::make_shared<MmapBus>(p, static_cast<uint64_t>(offset), static_cast<size_t>(length));
        }), "path"_a, "offset"_a = 0, "length"_a = 4096)
        .def_property_readonly("path", [](const MmapBus& b) {
            return py::reinterpret_steal<py::object>(PyUnicode_DecodeFSDefault(b.path().c_str()));
        })
        .def_property_readonly("offset", &MmapBus::offset)
        .def("__repr__", [](const MmapBus& b) {
            return "MmapBus(" + std::string(py::repr(py::str(b.path()))) + ", offset=" +
                   std::to_string(b.offset()) + ", length=" + std::to_string(b.size()) + ")";
        });

    // ---- simulated chips
    g_history_entry_type = PyStructSequence_NewType(&g_history_desc);
    if (!g_history_entry_type) throw py::error_already_set();
    m.attr("HistoryEntry") = py::reinterpret_borrow<py::object>(
        reinterpret_cast<PyObject*>(g_history_entry_type));

    py::class_<PinState>(m, "PinState", "What a simulated pin is doing.")
        .def_property_readonly("function", [](const PinState& s) { return static_cast<int>(s.function); })
        .def_readonly("latch", &PinState::latch)
        .def_property_readonly("pull", [](const PinState& s) { return static_cast<int>(s.pull); })
        .def_property_readonly("drive", [](const PinState& s) -> py::object {
            return s.drive < 0 ? py::object(py::none()) : py::object(py::int_(s.drive));
        })
        .def_readonly("level", &PinState::level)
        .def_readonly("floating", &PinState::floating)
        .def("__eq__", [](const PinState& a, const py::object& b) -> py::object {
            if (!py::isinstance<PinState>(b)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
            return py::bool_(a == b.cast<const PinState&>());
        })
        .def("__hash__", [](const PinState& s) {
            return py::hash(py::make_tuple(static_cast<int>(s.function), s.latch,
                                           static_cast<int>(s.pull), s.drive, s.level, s.floating));
        })
        .def("__repr__", [](const PinState& s) {
            return std::string("PinState(function=") + function_name(s.function) +
                   ", latch=" + std::to_string(s.latch) + ", pull=" + pull_name(s.pull) +
                   ", drive=" + (s.drive < 0 ? std::string("None") : std::to_string(s.drive)) +
                   ", level=" + std::to_string(s.level) +
                   ", floating=" + (s.floating ? "True" : "False") + ")";
        });

    py::class_<SimEventLine, std::shared_ptr<SimEventLine>>(m, "SimEventLine",
        "Edge events of one simulated pin: fileno() yields 48-byte gpio_v2_line_event records.")
        .def("fileno", [](const SimEventLine& l) {
            if (l.closed()) throw py::value_error("fileno() on a closed SimEventLine");
            return l.fileno();
        })
        .def_property_readonly("gpio", &SimEventLine::gpio)
        .def_property_readonly("rising", &SimEventLine::rising)
        .def_property_readonly("falling", &SimEventLine::falling)
        .def_property_readonly("closed", &SimEventLine::closed)
        .def_property_readonly("dropped", &SimEventLine::dropped,
                               "Events lost because nobody read and the pipe was full.")
        .def_property_readonly("seqno", &SimEventLine::seqno, "Matching edges so far.")
        .def("get_value", &SimEventLine::get_value)
        .def("close", &SimEventLine::close, "Release the line; idempotent.")
        .def("__enter__", [](py::object self) { return self; })
        .def("__exit__", [](SimEventLine& l, py::args) { l.close(); })
        .def("__repr__", [](const SimEventLine& l) {
            return "SimEventLine(gpio=" + std::to_string(l.gpio()) + ", rising=" +
                   (l.rising() ? "True" : "False") + ", falling=" + (l.falling() ? "True" : "False") +
                   (l.closed() ? ", closed" : "") + ")";
        });

    const py::object sim_meta = make_simchip_metaclass(bus_class);
    py::class_<SimChip, Bus, std::shared_ptr<SimChip>> sim_chip_class(m, "SimChip",
        "A simulated GPIO block (a Bus) and its outside world. SimChip(kind, history_capacity=65536) "
        "builds a fresh chip of that kind: 'bcm2835', 'bcm2836', 'bcm2837', 'bcm2711' or 'rp1'.",
        py::metaclass(sim_meta));
    sim_chip_class
        .def_property_readonly("kind", &SimChip::kind)
        .def("num_gpios", &SimChip::num_gpios)
        .def("drive", [](SimChip& c, long gpio, const py::object& level) {
            c.validate_gpio(gpio);
            c.drive(static_cast<unsigned>(gpio), to_drive(level));
        }, "gpio"_a, "level"_a, "Drive the pin from outside: 0, 1, or None/'release' to let go.")
        .def("level", [](const SimChip& c, long gpio) {
            c.validate_gpio(gpio);
            return c.level(static_cast<unsigned>(gpio));
        }, "gpio"_a, "The level the pin shows (a floating pin reads 0).")
        .def("pin_state", [](const SimChip& c, long gpio) {
            c.validate_gpio(gpio);
            return c.pin_state(static_cast<unsigned>(gpio));
        }, "gpio"_a)
        .def("history", &history_list, "Level changes, oldest first, as HistoryEntry tuples.")
        .def("clear_history", &SimChip::clear_history)
        .def_property("history_capacity", &SimChip::history_capacity,
                      [](SimChip& c, long long n) { c.set_history_capacity(to_capacity(n)); },
                      "Size of the history ring; setting it clears the history.")
        .def("request_events", [](SimChip& c, long gpio, bool rising, bool falling) {
            c.validate_gpio(gpio);
            return c.request_events(static_cast<unsigned>(gpio), rising, falling);
        }, "gpio"_a, "rising"_a = true, "falling"_a = true)
        .def("__repr__", [](const SimChip& c) {
            const PinWorld& w = const_cast<SimChip&>(c).world();
            return "<simulated " + c.kind() + (w.shared() ? " board '" + w.name() + "'" : std::string()) + ">";
        })
        // ---- the board: shared or private
        .def_property_readonly("board_name", [](SimChip& c) -> py::object {
            return c.world().shared() ? py::object(py::str(c.world().name())) : py::object(py::none());
        }, "The shared board's name, None for a private board.")
        .def_property_readonly("model", [](SimChip& c) { return c.world().model(); },
                               "What the board models, as its creator named it (a revision code).")
        .def("attached_pids", [](SimChip& c) { return c.world().attached_pids(); },
             "The processes attached to the board.")
        .def_property_readonly("resets", [](SimChip& c) { return c.world().resets(); })
        .def_property_readonly("history_allocation", [](SimChip& c) { return c.world().history_allocation(); },
                               "The most history_capacity can be (fixed when the board was made).")
        .def("_hold_lock", [](SimChip& c, int notify_fd, double seconds) {
            // For crash-recovery tests: takes the board lock, writes "locked\n" to notify_fd, then
            // keeps the lock for `seconds` (a test kills the process meanwhile).
            PinWorld::Guard g(c.world());
            static const char text[] = "locked\n";
            if (::write(notify_fd, text, sizeof text - 1) != static_cast<ssize_t>(sizeof text - 1))
                throw SystemError(errno, "notify_fd", "write");
            ::usleep(static_cast<useconds_t>(seconds * 1e6));
        }, "notify_fd"_a, "seconds"_a, py::call_guard<py::gil_scoped_release>())
        .def("reset", [](SimChip& c) { c.world().reset(); }, py::call_guard<py::gil_scoped_release>(),
             "Back to the chip's reset state: wires and parts removed, history cleared.")
        .def("detach", [](SimChip& c) { c.world().detach(); }, py::call_guard<py::gil_scoped_release>(),
             "Leave the board (this process's event lines and generators go). Idempotent.")
        // ---- wires
        .def("wire", [](SimChip& c, const py::iterable& gpios) { return c.world().add_wire(gpio_mask(c, gpios)); },
             "gpios"_a, "Join two or more pins into one net; returns the wire's id.")
        .def("unwire", [](SimChip& c, uint32_t id) { c.world().remove_wire(id); }, "wire_id"_a,
             "Remove a wire (KeyError if there is none with that id).")
        .def("wires", [](SimChip& c) {
            py::list out;
            for (const WireInfo& w : c.world().wires()) out.append(py::make_tuple(w.id, mask_tuple(w.mask)));
            return out;
        }, "[(wire_id, (gpio, ...)), ...]")
        .def("net", [](SimChip& c, long gpio) {
            c.validate_gpio(gpio);
            return mask_tuple(c.world().net_of(static_cast<unsigned>(gpio)));
        }, "gpio"_a, "Every pin joined to this one by wires, itself included.")
        .def("shorted", [](SimChip& c) { return mask_tuple(c.world().shorted()); },
             "The pins of nets in a short right now.")
        // ---- parts
        .def("add_part", [](SimChip& c, const std::string& kind, const std::string& name, long gpio,
                            bool active_low, double frequency, double duty) {
            c.validate_gpio(gpio);
            PartSpec spec;
            spec.kind = parse_part_kind(kind);
            spec.name = name;
            spec.gpio = static_cast<unsigned>(gpio);
            spec.active_low = active_low;
            spec.frequency = frequency;
            spec.duty = duty;
            return c.world().add_part(spec);
        }, "kind"_a, "name"_a, "gpio"_a, py::kw_only(), "active_low"_a = false, "frequency"_a = 0.0,
           "duty"_a = 0.5, "Attach a part ('button', 'led', 'servo', 'generator'); returns its id.")
        .def("remove_part", [](SimChip& c, const std::string& name) { c.world().remove_part(name); },
             "name"_a, py::call_guard<py::gil_scoped_release>())
        .def("parts", [](SimChip& c) {
            py::list out;
            for (const PartInfo& p : c.world().parts()) out.append(part_dict(p));
            return out;
        }, "Every part on the board, as dicts.")
        .def("part", [](SimChip& c, const std::string& name) { return part_dict(c.world().part(name)); },
             "name"_a, "One part as a dict (KeyError if there is none of that name).")
        .def("button_set", [](SimChip& c, const std::string& name, bool pressed) {
            c.world().button_set(name, pressed);
        }, "name"_a, "pressed"_a)
        .def("button_bounce", [](SimChip& c, const std::string& name, bool pressed, unsigned n, double ms) {
            c.world().button_bounce(name, pressed, n, ms);
        }, "name"_a, "pressed"_a, "n"_a, "ms"_a, py::call_guard<py::gil_scoped_release>(),
           "Press or release with n bounces over ms milliseconds (2n+1 transitions), in real time.")
        .def("generator_start", [](SimChip& c, const std::string& name) { c.world().generator_start(name); },
             "name"_a, py::call_guard<py::gil_scoped_release>())
        .def("generator_stop", [](SimChip& c, const std::string& name) { c.world().generator_stop(name); },
             "name"_a, py::call_guard<py::gil_scoped_release>())
        .def("generator_set", [](SimChip& c, const std::string& name, double frequency, double duty) {
            c.world().generator_set(name, frequency, duty);
        }, "name"_a, "frequency"_a, "duty"_a)
        .def("led_history", [](SimChip& c, const std::string& name) {
            py::list out;
            for (const auto& p : c.world().led_history(name)) out.append(py::make_tuple(p.first, p.second != 0));
            return out;
        }, "name"_a, "[(t_ns, on), ...] from when the LED was attached.")
        .def("led_brightness", [](SimChip& c, const std::string& name, const py::object& since_ns) {
            return c.world().led_brightness(name, since_ns.is_none() ? -1 : since_ns.cast<int64_t>());
        }, "name"_a, "since_ns"_a = py::none(), "Mean on-time fraction, 0 to 1.")
        .def("servo_pulses", [](SimChip& c, const std::string& name) {
            py::list out;
            for (const auto& p : c.world().servo_angles(name))
                out.append(py::make_tuple(p.t_ns, p.width_us, p.degrees));
            return out;
        }, "name"_a, "[(t_ns, width_us, degrees), ...] for each pulse that changed the angle.");

    g_simchip_class = sim_chip_class.ptr();
    g_simchip_factory = py::cpp_function(&make_sim_chip, py::name("SimChip"), "kind"_a,
                                         "history_capacity"_a = static_cast<long long>(kDefaultHistoryCapacity))
                            .release().ptr();

    py::class_<SimBcm2835, SimChip, std::shared_ptr<SimBcm2835>>(m, "SimBcm2835",
        "Simulated BCM2835/2836/2837 GPIO block (54 gpios, GPPUD pulls).", py::metaclass(sim_meta))
        .def(py::init([](const std::string& kind, long long history_capacity) {
            return std::make_shared<SimBcm2835>(kind, to_capacity(history_capacity));
        }), "kind"_a = "bcm2835", "history_capacity"_a = static_cast<long long>(kDefaultHistoryCapacity));
    py::class_<SimBcm2711, SimChip, std::shared_ptr<SimBcm2711>>(m, "SimBcm2711",
        "Simulated BCM2711 GPIO block (58 gpios, readable pulls).", py::metaclass(sim_meta))
        .def(py::init([](long long history_capacity) {
            return std::make_shared<SimBcm2711>(to_capacity(history_capacity));
        }), "history_capacity"_a = static_cast<long long>(kDefaultHistoryCapacity));
    py::class_<SimRp1, SimChip, std::shared_ptr<SimRp1>>(m, "SimRp1",
        "Simulated RP1 GPIO blocks (Pi 5), the 0x30000-byte window of /dev/gpiomem0.",
        py::metaclass(sim_meta))
        .def(py::init([](long long history_capacity) {
            return std::make_shared<SimRp1>(to_capacity(history_capacity));
        }), "history_capacity"_a = static_cast<long long>(kDefaultHistoryCapacity));

    m.def("open_board", &open_board, "name"_a, "kind"_a = py::none(), py::kw_only(), "model"_a = "",
          "history_capacity"_a = static_cast<long long>(kDefaultHistoryCapacity), "create"_a = true,
          "Attach to the shared board `name` (made in the reset state of `kind` if it does not exist).");
    m.def("list_boards", [] {
        py::list out;
        for (const BoardListing& b : PinWorld::list_shared()) out.append(listing_dict(b));
        return out;
    }, "This user's shared boards, as dicts.");
    m.def("reset_board", [](const std::string& name) {
        py::gil_scoped_release release;
        return PinWorld::reset_shared(name);
    }, "name"_a, "Reset a shared board in place (processes attached) or remove it (none); False if none.");
    m.def("board_segment_path", &PinWorld::segment_path, "name"_a,
          "The POSIX shared-memory name of a shared board.");
    m.def("_shutdown", [] {
        py::gil_scoped_release release;
        PinWorld::shutdown_all();
    }, "Stop this process's generators and detach from every board (run at exit).");
    set_log_hook(&python_log);

    // ---- drivers
    py::class_<Driver, std::shared_ptr<Driver>>(m, "Driver",
        "Chip-neutral GPIO operations over a Bus. gpio, function and pull are validated "
        "(IndexError/ValueError) before any register is touched.")
        .def("num_gpios", &Driver::num_gpios)
        .def_property_readonly("chip", [](const Driver& d) { return std::string(d.chip()); })
        .def_property_readonly("bus", [](const Driver& d) { return d.bus(); })
        .def("set_function", [](Driver& d, long gpio, int function) {
            d.validate_gpio(gpio);
            d.validate_function(function);
            d.set_function(static_cast<unsigned>(gpio), static_cast<Function>(function));
        }, "gpio"_a, "function"_a)
        .def("get_function", [](Driver& d, long gpio) {
            d.validate_gpio(gpio);
            return static_cast<int>(d.get_function(static_cast<unsigned>(gpio)));
        }, "gpio"_a)
        .def("write", [](Driver& d, long gpio, int level) {
            d.validate_gpio(gpio);
            if (level != 0 && level != 1) throw py::value_error("level must be 0 or 1");
            d.write(static_cast<unsigned>(gpio), level != 0);
        }, "gpio"_a, "level"_a)
        .def("read", [](Driver& d, long gpio) {
            d.validate_gpio(gpio);
            return d.read(static_cast<unsigned>(gpio));
        }, "gpio"_a)
        .def("set_pull", [](Driver& d, long gpio, int pull) {
            d.validate_gpio(gpio);
            d.validate_pull(pull);
            d.set_pull(static_cast<unsigned>(gpio), static_cast<Pull>(pull));
        }, "gpio"_a, "pull"_a)
        .def("get_pull", [](Driver& d, long gpio) {
            d.validate_gpio(gpio);
            return static_cast<int>(d.get_pull(static_cast<unsigned>(gpio)));
        }, "gpio"_a)
        .def("latch", [](Driver& d, long gpio) {
            d.validate_gpio(gpio);
            return d.latch(static_cast<unsigned>(gpio));
        }, "gpio"_a, "The output latch as the chip reports it, or -1 where it cannot.")
        .def("__repr__", [](const Driver& d) { return std::string("<") + d.chip() + " driver>"; });

    py::class_<Bcm2835Driver, Driver, std::shared_ptr<Bcm2835Driver>>(m, "Bcm2835Driver",
        "BCM2835/2836/2837: 54 gpios, FSEL, SET/CLR, LEV, GPPUD pulls (not readable).")
        .def(py::init<std::shared_ptr<Bus>>(), "bus"_a);
    py::class_<Bcm2711Driver, Bcm2835Driver, std::shared_ptr<Bcm2711Driver>>(m, "Bcm2711Driver",
        "BCM2711: 58 gpios, pulls through GPIO_PUP_PDN_CNTRL_REG0-3 (readable).")
        .def(py::init<std::shared_ptr<Bus>>(), "bus"_a);
    py::class_<Rp1Driver, Driver, std::shared_ptr<Rp1Driver>>(m, "Rp1Driver",
        "RP1 (Pi 5): 54 gpios over IO_BANK, SYS_RIO and PADS; ALT5 is SYS_RIO itself.")
        .def(py::init<std::shared_ptr<Bus>>(), "bus"_a);

    // ---- the character device's hot half (the rest is RPIO/_chardev.py over rpio_interrupts.uapi)
    py::class_<ChardevLines, std::shared_ptr<ChardevLines>>(m, "ChardevLines",
        "The request fds of a GPIO chip's lines (uAPI v2), one single-line request per gpio, for "
        "the hot path: write/read are one GPIO_V2_LINE_SET_VALUES/GET_VALUES ioctl. The fds are "
        "borrowed: set_fd(line, -1) before closing one. Subclassed by RPIO's chardev driver.")
        .def(py::init<unsigned>(), "num_lines"_a)
        .def_property_readonly("num_lines", &ChardevLines::num_lines)
        .def("set_fd", [](ChardevLines& l, long line, int fd) {
            if (line < 0) throw py::index_error("line " + std::to_string(line) + " is negative");
            l.set_fd(static_cast<unsigned>(line), fd);
        }, "line"_a, "fd"_a)
        .def("fd", [](const ChardevLines& l, long line) {
            return line < 0 ? -1 : l.fd(static_cast<unsigned>(line));
        }, "line"_a, "The request fd holding the line, or -1.")
        .def("write_line", [](ChardevLines& l, long line, int level) {
            const int e = line < 0 ? ChardevLines::kNotRequested : l.write(static_cast<unsigned>(line), level != 0);
            if (e) {
                errno = e;
                PyErr_SetFromErrno(PyExc_OSError);
                throw py::error_already_set();
            }
        }, "line"_a, "level"_a, "SET_VALUES on the line's request; OSError with the ioctl's errno.")
        .def("read_line", [](ChardevLines& l, long line) {
            const int v = line < 0 ? -ChardevLines::kNotRequested : l.read(static_cast<unsigned>(line));
            if (v < 0) {
                errno = -v;
                PyErr_SetFromErrno(PyExc_OSError);
                throw py::error_already_set();
            }
            return v;
        }, "line"_a, "GET_VALUES on the line's request: 0 or 1; OSError with the ioctl's errno.");

    // ---- the hot path
    g_fast.zero = PyLong_FromLong(0);
    g_fast.one = PyLong_FromLong(1);
    fast_clear_directions();
    if (PyModule_AddFunctions(m.ptr(), g_fast_methods) != 0) throw py::error_already_set();
    m.def("fastpath_bind", &fastpath_bind, "driver"_a, "fallback_output"_a, "fallback_input"_a,
          "Bind the driver (or None) and the Python fallbacks that handle every other case.");
    m.def("fastpath_set_channel_map", &fastpath_set_channel_map, "channel_map"_a,
          "index = channel, value = gpio or -1; empty = numbering mode not set.");
    m.def("fastpath_set_direction", &fastpath_set_direction, "gpio"_a, "direction"_a,
          "-1 not set up by this process, 0 OUT, 1 IN.");
    m.def("fastpath_reset", &fastpath_reset, "Forget driver, fallbacks, map and directions.");
    m.def("fastpath_state", &fastpath_state, "The fast path's state, for tests and debugging.");
    m.def("_bench_noop2", [](int, int) {}, "a"_a, "b"_a, "Benchmark baseline: a typed pybind11 no-op.");
}
