// The hardware parts: what a real Pi 0-4 needs beyond the compiler. All paths are parameters so
// the parts are unit-tested against a fake device tree, a fake mailbox and a plain file as /dev/mem.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rpio_pwm/platform.hpp"
#include "rpio_pwm/soc.hpp"

namespace rpio_pwm {

// ---------------------------------------------------------------- device tree
struct DeviceTreeInfo {
    std::optional<Soc> soc;               // from /compatible, else from the peripheral base
    std::optional<uint64_t> periph_base;  // from soc/ranges
    std::optional<uint32_t> periph_size;
    std::optional<uint32_t> dma_channel_mask;  // legacy controller's (brcm,)dma-channel-mask
    std::string model;                    // /model, NUL stripped
    std::vector<std::string> compatible;
};

// `root` is /proc/device-tree (or a fake tree in tests).
DeviceTreeInfo read_device_tree(const std::string& root);
// The peripheral base as bcm_host reads it: BE u32 at offset 4, or at 8 when that is 0 (two address
// cells on BCM2711). Returns nullopt when the file is missing or too short.
std::optional<uint64_t> parse_soc_ranges(const std::vector<uint8_t>& ranges, uint32_t* size_out);
// Default DMA channel: the highest legacy channel Linux was given (the mask) other than 0 -- the one
// the kernel's allocator, which takes the lowest free channel, reaches last. Without a mask: 14 on
// BCM2835/6/7, 10 on BCM2711.
int default_dma_channel(Soc soc, std::optional<uint32_t> mask);

// ---------------------------------------------------------------- VideoCore mailbox
class MailboxTransport {
public:
    virtual ~MailboxTransport() = default;
    // Sends one property-interface message in place (the firmware rewrites it). Throws on failure.
    virtual void property(uint32_t* msg) = 0;
};

class VcioTransport final : public MailboxTransport {
public:
    explicit VcioTransport(const std::string& path = "/dev/vcio");
    ~VcioTransport() override;
    void property(uint32_t* msg) override;
    static unsigned long ioctl_request();  // _IOWR(100, 0, char *)

private:
    int fd_ = -1;
};

class Mailbox {
public:
    explicit Mailbox(MailboxTransport& t) : t_(&t) {}
    static constexpr uint32_t TAG_MEM_ALLOC = 0x3000C, TAG_MEM_LOCK = 0x3000D,
                              TAG_MEM_UNLOCK = 0x3000E, TAG_MEM_RELEASE = 0x3000F,
                              TAG_GET_DMA_CHANNELS = 0x60001;
    static constexpr uint32_t MEM_FLAG_DIRECT = 0x4, MEM_FLAG_COHERENT = 0x8,
                              MEM_FLAG_L1_NONALLOCATING = 0xC, MEM_FLAG_ZERO = 0x10;
    uint32_t mem_alloc(uint32_t size, uint32_t align, uint32_t flags);  // handle
    uint32_t mem_lock(uint32_t handle);                                  // bus address
    void mem_unlock(uint32_t handle);
    void mem_release(uint32_t handle);
    uint32_t get_dma_channels();
    // Builds a one-tag property message: [size, 0, tag, value bytes, request bytes, values..., 0].
    static std::vector<uint32_t> message(uint32_t tag, const std::vector<uint32_t>& values, uint32_t value_words);

private:
    std::vector<uint32_t> call(uint32_t tag, const std::vector<uint32_t>& values, uint32_t value_words);
    MailboxTransport* t_;
};

// ---------------------------------------------------------------- /dev/mem windows
class MmioWindow {
public:
    MmioWindow(const std::string& path, uint64_t phys, size_t size);  // page-aligns internally
    ~MmioWindow();
    MmioWindow(const MmioWindow&) = delete;
    MmioWindow& operator=(const MmioWindow&) = delete;
    volatile uint32_t* word(size_t offset) const;
    uint8_t* bytes() const { return base_ + lead_; }
    size_t size() const { return size_; }

private:
    uint8_t* map_ = nullptr;
    uint8_t* base_ = nullptr;
    size_t map_len_ = 0;
    size_t lead_ = 0;
    size_t size_ = 0;
};

// ---------------------------------------------------------------- the platform
struct HardwareOptions {
    std::string devmem = "/dev/mem";
    std::string vcio = "/dev/vcio";
    std::optional<uint64_t> periph_base;  // default: the SoC's
    bool signal_guard = true;
};

class HardwarePlatform final : public Platform {
public:
    // `transport` null = the real /dev/vcio at options.vcio.
    HardwarePlatform(Soc soc, HardwareOptions options, std::unique_ptr<MailboxTransport> transport = nullptr);
    ~HardwarePlatform() override;
    const SocInfo& soc() const override { return *soc_; }
    uint32_t read32(BusAddr reg) override;
    void write32(BusAddr reg, uint32_t value) override;
    void delay_us(uint32_t us) override;
    DmaBuffer alloc_dma(size_t bytes) override;
    void free_dma(const DmaBuffer& buf) override;
    void channel_live(int channel, bool live) override;
    uint64_t periph_base() const { return base_; }

private:
    volatile uint32_t* reg(BusAddr bus);
    const SocInfo* soc_;
    HardwareOptions opt_;
    uint64_t base_;
    std::unique_ptr<MailboxTransport> transport_;
    std::unique_ptr<Mailbox> mbox_;
    std::map<uint32_t, std::unique_ptr<MmioWindow>> blocks_;  // by bus page
    std::map<uint32_t, std::unique_ptr<MmioWindow>> buffers_;  // by bus address
};

// ---------------------------------------------------------------- fatal-signal guard
// While armed, every signal whose *current* disposition would end the process (SIG_DFL with a
// terminating default action) first stops the live DMA channels, then is re-raised with SIG_DFL, so
// the process ends exactly as it would have. A signal that had a handler (Python's SIGINT handler,
// which raises KeyboardInterrupt) is passed on to that handler untouched: the program decides, and
// an exit through Python runs cleanup() from atexit. Ignored signals stay ignored.
namespace signal_guard {
using StopHook = void (*)();  // must be async-signal-safe
void install(StopHook extra_hook = nullptr);
void uninstall();
bool installed();
void arm(int channel, volatile uint32_t* cs_register);
void disarm(int channel);
void stop_all_now();  // what the handler does (async-signal-safe)
const std::vector<int>& guarded_signals();
}  // namespace signal_guard

}  // namespace rpio_pwm
