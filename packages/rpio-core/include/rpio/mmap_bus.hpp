// A Bus over a memory-mapped window of a device or an ordinary file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "rpio/bus.hpp"

namespace rpio {

// /dev/gpiomem (4 KiB at 0), /dev/gpiomem0 (0x30000 at 0), /dev/mem at a physical base, or a
// regular file (tests and benchmarks). The offset need not be page aligned: the mapping starts
// at the page below it. Throws SystemError (errno + path) when open/fstat/mmap fail, and
// SystemError(EINVAL) for a regular file shorter than offset + length (touching it would SIGBUS).
class MmapBus final : public Bus {
public:
    MmapBus(const std::string& path, uint64_t offset, size_t length);
    ~MmapBus() override;
    MmapBus(const MmapBus&) = delete;
    MmapBus& operator=(const MmapBus&) = delete;

    uint32_t read32(size_t off) override { return direct_[off >> 2]; }
    void write32(size_t off, uint32_t value) override { direct_[off >> 2] = value; }
    size_t size() const override { return length_; }
    void settle() override;  // spins about 1 us

    const std::string& path() const { return path_; }
    uint64_t offset() const { return offset_; }

private:
    std::string path_;
    uint64_t offset_;
    size_t length_;
    void* map_ = nullptr;
    size_t map_length_ = 0;
    int fd_ = -1;
};

}  // namespace rpio
