// The memory layout of one simulated board: everything a process needs to see and change the
// board, in one block of plain data that lives in a named POSIX shared-memory segment (a shared
// board) or in anonymous memory (a private board). The same layout either way.
//
// A segment is: Header (identity, the robust process-shared mutex, attached processes), State
// (registers, pins, nets, parts, edge subscribers, history bookkeeping), then the history ring.
// Only PinWorld (pin_world.cpp) touches it; every change happens under Header::lock.
#pragma once

#include <pthread.h>

#include <cstddef>
#include <cstdint>

namespace rpio {
namespace seg {

constexpr uint64_t kMagic = 0x314d49534f495052ull;  // "RPIOSIM1", little-endian
constexpr uint32_t kLayoutVersion = 1;
// Processes of different ABIs (a 32-bit and a 64-bit build) cannot share a segment.
constexpr uint32_t kAbi = static_cast<uint32_t>(sizeof(void*) << 16 | sizeof(pthread_mutex_t));

constexpr unsigned kMaxGpios = 64;
constexpr unsigned kMaxAttached = 64;
constexpr unsigned kMaxWires = 64;
constexpr unsigned kMaxParts = 64;
constexpr unsigned kMaxSubscribers = 128;
constexpr unsigned kNameLen = 32;  // part names: 1-31 characters
constexpr unsigned kModelLen = 32;
constexpr unsigned kBoardNameLen = 64;

enum class ChipKind : uint32_t { Bcm2835 = 1, Bcm2836 = 2, Bcm2837 = 3, Bcm2711 = 4, Rp1 = 5 };

enum class PartKind : uint8_t { None = 0, Button = 1, Led = 2, Servo = 3, Generator = 4 };

// Who changed a level: stored with each history entry, shown as text by cause_text().
enum class CauseKind : uint8_t {
    None = 0,
    Output = 1,    // "pid N output": a write to an output latch
    Function = 2,  // "pid N function": a pin changed function (FSEL, FUNCSEL, OE)
    Pull = 3,      // "pid N pull"
    Pad = 4,       // "pid N pad": RP1 pad controls (OD)
    Drive = 5,     // "drive pid N": the outside-world drive (RPIO.sim.drive)
    Part = 6,      // "part NAME"
    Wire = 7,      // "wire pid N": a wire added or removed
    Short = 8,     // "short": outputs (or sources) drive a net to opposite levels
    Reset = 9,     // "reset pid N"
    Recovery = 10, // "recovery": state rebuilt after a process died holding the board
};

struct Attached {
    int32_t pid;      // 0: free slot
    uint32_t refs;    // PinWorld objects of this process on the board
    uint64_t start;   // the process's start time (/proc/PID/stat field 22): guards pid reuse
};

struct Pin {
    int8_t function;  // rpio::Function
    int8_t pull;      // rpio::Pull
    int8_t drive;     // outside-world drive: -1 none, 0, 1
    uint8_t pad;
};

struct Wire {
    uint32_t id;  // 0: free slot
    uint32_t pad;
    uint64_t mask;  // the pins it joins
};

struct Part {
    uint32_t id;  // 0: free slot; unique for the life of the board
    uint8_t kind;  // PartKind
    uint8_t gpio;
    uint8_t active_low;  // buttons: pressed drives 0; LEDs: on when the pin is low
    int8_t drive;        // the level this part drives onto its pin: -1 none
    char name[kNameLen];
    int64_t created_ns;
    // Button.
    uint8_t pressed;
    // LED: exact on-time bookkeeping, updated on every change of the pin's level.
    uint8_t level_at_attach;
    uint8_t last_level;
    uint8_t pad0[5];
    int64_t last_change_ns;
    int64_t on_ns;
    // Generator.
    double frequency;
    double duty;
    uint32_t running;  // futex word: 1 while running; a stop() from any process wakes the thread
    int32_t owner_pid;  // the process whose thread runs it
    uint64_t owner_start;
    uint64_t run_id;  // bumped by every start(): a thread of an earlier run stops
};

struct Subscriber {
    uint32_t id;  // 0: free slot
    int32_t pid;  // the process holding the read end
    uint64_t start;
    int32_t read_fd;  // its number in that process (others open /proc/PID/fd/N)
    uint32_t gpio;
    uint64_t ino;  // the pipe's inode and device: a reopened fd must be the same pipe
    uint64_t dev;
    uint8_t rising;
    uint8_t falling;
    uint8_t pad[2];
    uint32_t seqno;
    uint64_t dropped;
};

// One history entry: 48 bytes.
struct HistoryRecord {
    int64_t t_ns;
    uint8_t gpio;
    uint8_t level;
    uint8_t floating;
    uint8_t cause;  // CauseKind
    int32_t pid;
    char name[kNameLen];  // part name for CauseKind::Part
};
static_assert(sizeof(HistoryRecord) == 48, "history records are 48 bytes");

// BCM2835/6/7 and BCM2711 GPIO block registers with state.
struct BcmRegs {
    uint32_t fsel[6];
    uint32_t eds[2], ren[2], fen[2], hen[2], len[2], aren[2], afen[2];
    uint32_t pud;
    uint32_t pudclk[2];
    uint32_t pup_pdn[4];
};

// RP1 IO_BANK CTRL, PADS, SYS_RIO.
struct Rp1Regs {
    uint32_t ctrl[54];
    uint32_t pads[54];
    uint32_t voltage[3];
    uint32_t out[3];
    uint32_t oe[3];
    uint32_t pad0;
    uint64_t ie;  // pad IE bits, indexed by gpio
};

struct Header {
    uint64_t magic;  // written last by the creator: kMagic once the segment is ready
    uint32_t layout_version;
    uint32_t abi;
    uint64_t total_size;
    uint32_t ready;  // 1 once initialised
    uint32_t kind;   // ChipKind
    uint32_t num_gpios;
    uint32_t history_alloc;  // ring slots allocated after State
    int32_t creator_pid;
    uint32_t pad0;
    int64_t created_ns;
    char kind_name[16];
    char model[kModelLen];  // what the board models, as its creator named it ("c03111")
    char name[kBoardNameLen];  // the shared name, empty for a private board
    alignas(64) pthread_mutex_t lock;  // robust, process-shared
    alignas(64) Attached attached[kMaxAttached];
};

struct State {
    uint64_t resets;   // times the board was reset
    uint32_t next_id;  // ids of wires, parts and subscribers
    uint32_t pad0;
    Pin pins[kMaxGpios];
    // Derived masks, one bit per gpio; levels and latch are also read without the lock.
    uint64_t levels;
    uint64_t floating;
    uint64_t latch;
    uint64_t drives;     // pins whose output drives the pad
    uint64_t pull_up;
    uint64_t pull_down;
    uint64_t src_hi;     // pins with an outside source (drive or part) at 1 ...
    uint64_t src_lo;     // ... or at 0
    uint64_t watched;    // pins with at least one subscriber
    uint64_t part_pins;  // pins with an LED (on-time bookkeeping)
    uint64_t shorted;    // pins of nets in a short right now
    uint64_t net[kMaxGpios];  // the pins joined to each pin by wires (itself included)
    Wire wires[kMaxWires];
    Part parts[kMaxParts];
    Subscriber subs[kMaxSubscribers];
    union {
        BcmRegs bcm;
        Rp1Regs rp1;
    } regs;
    uint64_t hist_capacity;  // slots in use (<= Header::history_alloc)
    uint64_t hist_head;      // next slot to write
    uint64_t hist_count;
    uint64_t hist_total;     // entries ever written
    uint64_t shorts;         // shorts ever seen
};

struct Segment {
    Header h;
    alignas(64) State s;
    alignas(64) HistoryRecord ring[1];  // history_alloc records (at least one slot is mapped)
};

inline size_t segment_size(size_t history_alloc) {
    return offsetof(Segment, ring) + (history_alloc ? history_alloc : 1) * sizeof(HistoryRecord);
}

}  // namespace seg
}  // namespace rpio
