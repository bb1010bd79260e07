#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "rpio_pwm/hardware.hpp"

namespace rpio_pwm {

// ---------------------------------------------------------------- MmioWindow
MmioWindow::MmioWindow(const std::string& path, uint64_t phys, size_t size) : size_(size) {
    const long page = sysconf(_SC_PAGESIZE);
    const uint64_t aligned = phys & ~static_cast<uint64_t>(page - 1);
    lead_ = static_cast<size_t>(phys - aligned);
    map_len_ = (lead_ + size + page - 1) & ~static_cast<size_t>(page - 1);
    int fd = ::open(path.c_str(), O_RDWR | O_SYNC | O_CLOEXEC);
    if (fd < 0)
        throw PwmError("cannot open " + path + ": " + std::strerror(errno) + " (DMA PWM needs root for /dev/mem)");
    void* p = ::mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(aligned));
    int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) throw PwmError("cannot map " + path + " at " + std::to_string(phys) + ": " + std::strerror(err));
    map_ = static_cast<uint8_t*>(p);
    base_ = map_;
}

MmioWindow::~MmioWindow() {
    if (map_) ::munmap(map_, map_len_);
}

volatile uint32_t* MmioWindow::word(size_t offset) const {
    if (offset + 4 > size_ || offset % 4) throw PwmError("register offset outside its window");
    return reinterpret_cast<volatile uint32_t*>(base_ + lead_ + offset);
}

// ---------------------------------------------------------------- HardwarePlatform
namespace {
const uint32_t kBlocks[] = {kDmaOffset, kClockOffset, kGpioOffset, kPcmOffset, kPwmOffset};
}

HardwarePlatform::HardwarePlatform(Soc soc, HardwareOptions options, std::unique_ptr<MailboxTransport> transport)
    : soc_(&soc_info(soc)), opt_(std::move(options)) {
    if (soc == Soc::BCM2712)
        throw PwmError("the Raspberry Pi 5 (BCM2712 + RP1) has no legacy DMA path to its GPIOs; use the sysfs backend");
    base_ = opt_.periph_base ? *opt_.periph_base : soc_->periph_phys_base;
    for (uint32_t off : kBlocks)
        blocks_[kBusPeriphBase + off] = std::make_unique<MmioWindow>(opt_.devmem, base_ + off, 0x1000);
    transport_ = transport ? std::move(transport) : std::make_unique<VcioTransport>(opt_.vcio);
    mbox_ = std::make_unique<Mailbox>(*transport_);
    if (opt_.signal_guard) signal_guard::install();
}

// Buffers still allocated here belong to a controller that was never cleaned up: the DMA may still
// run over them, so they are unmapped but deliberately not given back to the GPU.
HardwarePlatform::~HardwarePlatform() = default;

volatile uint32_t* HardwarePlatform::reg(BusAddr bus) {
    if (!is_periph_bus(bus.value)) {
        if (looks_like_arm_periph_phys(bus.value))
            throw PwmError("register address " + hex32(bus.value) + " is an ARM physical address; pass the bus address");
        throw PwmError("not a peripheral bus address: " + hex32(bus.value));
    }
    auto it = blocks_.find(bus.value & ~0xFFFu);
    if (it == blocks_.end()) throw PwmError("register " + hex32(bus.value) + " is outside the mapped blocks");
    return it->second->word(bus.value & 0xFFFu);
}

uint32_t HardwarePlatform::read32(BusAddr r) { return *reg(r); }

void HardwarePlatform::write32(BusAddr r, uint32_t value) { *reg(r) = value; }

void HardwarePlatform::delay_us(uint32_t us) {
    timespec ts{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

DmaBuffer HardwarePlatform::alloc_dma(size_t bytes) {
    const uint32_t size = static_cast<uint32_t>((bytes + 4095) & ~static_cast<size_t>(4095));
    uint32_t handle = mbox_->mem_alloc(size, 4096, soc_->mailbox_mem_flags);
    uint32_t bus = 0;
    try {
        bus = mbox_->mem_lock(handle);
        // The firmware answers with the bus alias that matches the allocation flags (the DMA's view);
        // anything but a cache-safe one would hand the DMA stale data.
        if ((bus & 0xC0000000u) != 0x40000000u && (bus & 0xC0000000u) != 0xC0000000u)
            throw PwmError("the mailbox returned " + hex32(bus) + ", not in a cache-safe SDRAM bus alias (" +
                           hex32(soc_->sdram_bus_alias) + " expected on the " + soc_->name + ")");
        auto win = std::make_unique<MmioWindow>(opt_.devmem, sdram_bus_to_phys(BusAddr{bus}).value, size);
        std::memset(win->bytes(), 0, size);
        DmaBuffer b{win->bytes(), bus, size, handle};
        buffers_[bus] = std::move(win);
        return b;
    } catch (...) {
        try {
            if (bus) mbox_->mem_unlock(handle);
            mbox_->mem_release(handle);
        } catch (...) {
        }
        throw;
    }
}

void HardwarePlatform::free_dma(const DmaBuffer& buf) {
    auto it = buffers_.find(buf.bus);
    if (it == buffers_.end()) throw PwmError("free of a DMA buffer this platform did not allocate");
    buffers_.erase(it);
    mbox_->mem_unlock(buf.handle);
    mbox_->mem_release(buf.handle);
}

void HardwarePlatform::channel_live(int channel, bool live) {
    if (live)
        signal_guard::arm(channel, blocks_.at(kBusDma)->word(kDmaChannelStride * channel + dmareg::CS));
    else
        signal_guard::disarm(channel);
}

}  // namespace rpio_pwm
