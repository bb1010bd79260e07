// SoC facts and the two address spaces of a Raspberry Pi (Python-free).
//
// The DMA engine sees *bus* addresses: peripherals at 0x7Exxxxxx on every BCM2835..BCM2711, SDRAM
// through an alias (0x40000000 L2-coherent on BCM2835, 0xC0000000 uncached on BCM2836 and later).
// The ARM sees *physical* addresses: peripherals at 0x20000000 / 0x3F000000 / 0xFE000000, SDRAM at 0.
// BusAddr and PhysAddr are distinct types so one cannot be passed where the other is expected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace rpio_pwm {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "rpio-pwm writes DMA control blocks in the host byte order; it needs a little-endian host"
#endif

// Errors. PwmError is a failed operation (maps to RuntimeError); PwmArgumentError a bad argument
// (maps to a class deriving from both RuntimeError and ValueError).
struct PwmError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct PwmArgumentError : PwmError {
    using PwmError::PwmError;
};
// A DMA channel another user holds (CS.ACTIVE set or a control block loaded): never taken over.
struct DmaChannelBusy : PwmError {
    using PwmError::PwmError;
};
// The simulated hardware detected something the real hardware would not run (or would run wrongly).
struct ModelFault : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct BusAddr {
    uint32_t value;
};
struct PhysAddr {
    uint64_t value;
};

// ---- bus view of the peripherals (identical on BCM2835, 2836, 2837, 2711) ----
constexpr uint32_t kBusPeriphBase = 0x7E000000u;
constexpr uint32_t kBusPeriphSpan = 0x01000000u;
constexpr uint32_t kDmaOffset = 0x007000u;  // channels 0..14, 0x100 apart
constexpr uint32_t kDmaChannelStride = 0x100u;
constexpr uint32_t kClockOffset = 0x101000u;
constexpr uint32_t kGpioOffset = 0x200000u;
constexpr uint32_t kPcmOffset = 0x203000u;
constexpr uint32_t kPwmOffset = 0x20C000u;

constexpr uint32_t kBusDma = kBusPeriphBase + kDmaOffset;
constexpr uint32_t kBusDmaIntStatus = kBusDma + 0xFE0u;
constexpr uint32_t kBusDmaEnable = kBusDma + 0xFF0u;
constexpr uint32_t kBusClock = kBusPeriphBase + kClockOffset;
constexpr uint32_t kBusGpio = kBusPeriphBase + kGpioOffset;
constexpr uint32_t kBusPcm = kBusPeriphBase + kPcmOffset;
constexpr uint32_t kBusPwm = kBusPeriphBase + kPwmOffset;

constexpr uint32_t kBusGpset0 = kBusGpio + 0x1Cu;
constexpr uint32_t kBusGpset1 = kBusGpio + 0x20u;
constexpr uint32_t kBusGpclr0 = kBusGpio + 0x28u;
constexpr uint32_t kBusGpclr1 = kBusGpio + 0x2Cu;
constexpr uint32_t kBusGplev0 = kBusGpio + 0x34u;
constexpr uint32_t kBusGplev1 = kBusGpio + 0x38u;
constexpr uint32_t kBusPwmFifo = kBusPwm + 0x18u;
constexpr uint32_t kBusPcmFifo = kBusPcm + 0x04u;

// DMA channel register offsets
namespace dmareg {
constexpr uint32_t CS = 0x00, CONBLK_AD = 0x04, TI = 0x08, SOURCE_AD = 0x0C, DEST_AD = 0x10,
                   TXFR_LEN = 0x14, STRIDE = 0x18, NEXTCONBK = 0x1C, DEBUG = 0x20;
constexpr uint32_t CS_ACTIVE = 1u << 0, CS_END = 1u << 1, CS_INT = 1u << 2, CS_DREQ = 1u << 3,
                   CS_PAUSED = 1u << 4, CS_DREQ_STOPS_DMA = 1u << 5, CS_WAITING = 1u << 6,
                   CS_ERROR = 1u << 8, CS_WAIT_OUTSTANDING = 1u << 28, CS_DISDEBUG = 1u << 29,
                   CS_ABORT = 1u << 30, CS_RESET = 1u << 31;
// ACTIVE | priority 8 | panic priority 8 | wait for outstanding writes (servod, RPIO, pigpio agree)
constexpr uint32_t CS_GO = 0x10880001u;
}  // namespace dmareg

// Clock manager (offsets from kBusClock)
namespace cmreg {
constexpr uint32_t PCMCTL = 0x98, PCMDIV = 0x9C, PWMCTL = 0xA0, PWMDIV = 0xA4;
constexpr uint32_t PASSWD = 0x5Au << 24;
constexpr uint32_t CTL_ENAB = 1u << 4, CTL_KILL = 1u << 5, CTL_BUSY = 1u << 7;
constexpr uint32_t SRC_GND = 0, SRC_OSC = 1, SRC_PLLD = 6;
}  // namespace cmreg

// PWM (offsets from kBusPwm)
namespace pwmreg {
constexpr uint32_t CTL = 0x00, STA = 0x04, DMAC = 0x08, RNG1 = 0x10, DAT1 = 0x14, FIF1 = 0x18,
                   RNG2 = 0x20, DAT2 = 0x24;
constexpr uint32_t CTL_PWEN1 = 1u << 0, CTL_MODE1 = 1u << 1, CTL_USEF1 = 1u << 5,
                   CTL_CLRF = 1u << 6, CTL_PWEN2 = 1u << 8, CTL_USEF2 = 1u << 13;
constexpr uint32_t STA_FULL1 = 1u << 0, STA_EMPT1 = 1u << 1, STA_WERR1 = 1u << 2;
constexpr uint32_t DMAC_ENAB = 1u << 31;
constexpr uint32_t kFifoDepth = 16;
}  // namespace pwmreg

// PCM (offsets from kBusPcm)
namespace pcmreg {
constexpr uint32_t CS_A = 0x00, FIFO_A = 0x04, MODE_A = 0x08, RXC_A = 0x0C, TXC_A = 0x10,
                   DREQ_A = 0x14, INTEN_A = 0x18, INTSTC_A = 0x1C, GRAY = 0x20;
constexpr uint32_t CS_EN = 1u << 0, CS_RXON = 1u << 1, CS_TXON = 1u << 2, CS_TXCLR = 1u << 3,
                   CS_RXCLR = 1u << 4, CS_DMAEN = 1u << 9, CS_STBY = 1u << 25;
constexpr uint32_t TXC_CH1EN = 1u << 30, TXC_CH2EN = 1u << 14;
constexpr uint32_t kFifoDepth = 64;
}  // namespace pcmreg

enum class Pacing : int { PWM = 0, PCM = 1 };  // values = RPIO's DELAY_VIA_PWM / DELAY_VIA_PCM
constexpr uint32_t kDreqPcmTx = 2;
constexpr uint32_t kDreqPwm = 5;
inline uint32_t pacing_dreq(Pacing p) { return p == Pacing::PWM ? kDreqPwm : kDreqPcmTx; }
inline uint32_t pacing_fifo_bus(Pacing p) { return p == Pacing::PWM ? kBusPwmFifo : kBusPcmFifo; }
inline const char* pacing_name(Pacing p) { return p == Pacing::PWM ? "PWM" : "PCM"; }

enum class Soc : int { BCM2835 = 0, BCM2836 = 1, BCM2837 = 2, BCM2711 = 3, BCM2712 = 4 };

struct SocInfo {
    Soc soc;
    const char* name;
    uint64_t periph_phys_base;   // ARM physical address of bus 0x7E000000
    uint32_t periph_size;
    uint32_t sdram_bus_alias;    // OR-ed onto an SDRAM physical address to give the DMA's view
    uint32_t mailbox_mem_flags;  // VideoCore mem_alloc flags
    uint64_t plld_hz;
    uint64_t osc_hz;
    uint32_t legacy_dma_mask;    // channels (0..14) whose engine runs legacy 32-byte control blocks
    int first_lite_channel;      // legacy "lite" channels from here on (no 2D mode)
    int num_gpios;
};

const SocInfo& soc_info(Soc soc);
Soc soc_from_name(const std::string& name);  // "bcm2835" ... (case-insensitive); throws PwmArgumentError

constexpr int kDmaChannels = 15;  // 0..14 on the 0x7E007000 block (channel 15 lives elsewhere)

inline bool is_periph_bus(uint32_t a) { return (a & 0xFF000000u) == kBusPeriphBase; }
// True for addresses that are ARM-physical peripheral addresses on some Pi (0x20.., 0x3F.., 0xFE..):
// handing one of those to the DMA engine is the classic Pi 2/3/4 crash.
inline bool looks_like_arm_periph_phys(uint32_t a) {
    uint32_t top = a & 0xFF000000u;
    return top == 0x20000000u || top == 0x3F000000u || top == 0xFE000000u;
}
// Bus address of a peripheral register -> its ARM physical address on this SoC.
PhysAddr periph_bus_to_phys(const SocInfo& soc, BusAddr bus);
// SDRAM: ARM physical <-> the bus alias the DMA must use.
inline BusAddr sdram_phys_to_bus(const SocInfo& soc, PhysAddr phys) {
    if (phys.value >= 0x40000000u) throw PwmError("SDRAM address beyond the first GiB cannot be given to the legacy DMA engine");
    return BusAddr{static_cast<uint32_t>(phys.value) | soc.sdram_bus_alias};
}
inline PhysAddr sdram_bus_to_phys(BusAddr bus) { return PhysAddr{bus.value & 0x3FFFFFFFu}; }

std::string hex32(uint32_t v);

}  // namespace rpio_pwm
