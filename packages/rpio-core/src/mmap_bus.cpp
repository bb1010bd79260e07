#include "rpio/mmap_bus.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "rpio/error.hpp"

namespace rpio {

MmapBus::MmapBus(const std::string& path, uint64_t offset, size_t length)
    : path_(path), offset_(offset), length_(length) {
    if (length == 0 || length % 4 != 0)
        throw std::invalid_argument("MmapBus length must be a positive multiple of 4");
    const int fd = ::open(path.c_str(), O_RDWR | O_SYNC | O_CLOEXEC);
    if (fd < 0) throw SystemError(errno, path, "open");
    struct stat st;
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        throw SystemError(e, path, "fstat");
    }
    // Pages past the end of a regular file raise SIGBUS when touched: refuse them up front.
    if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) < offset + length) {
        ::close(fd);
        throw SystemError(EINVAL, path, "file shorter than offset + length (" +
                                            std::to_string(st.st_size) + " < " +
                                            std::to_string(offset + length) + " bytes)");
    }
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t start = offset - offset % page;
    const size_t lead = static_cast<size_t>(offset - start);
    map_length_ = lead + length;
    map_ = ::mmap(nullptr, map_length_, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                  static_cast<off_t>(start));
    if (map_ == MAP_FAILED) {
        const int e = errno;
        ::close(fd);
        map_ = nullptr;
        throw SystemError(e, path, "mmap");
    }
    fd_ = fd;
    direct_ = reinterpret_cast<volatile uint32_t*>(static_cast<char*>(map_) + lead);
}

MmapBus::~MmapBus() {
    if (map_) ::munmap(map_, map_length_);
    if (fd_ >= 0) ::close(fd_);
}

void MmapBus::settle() {
    // The datasheet asks for 150 core cycles; 1 us covers every Pi's clock.
    timespec start, now;
    ::clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        for (int i = 0; i < 150; ++i) asm volatile("" ::: "memory");
        ::clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < 1000);
}

}  // namespace rpio
