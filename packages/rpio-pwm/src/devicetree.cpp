#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "rpio_pwm/hardware.hpp"

namespace rpio_pwm {

namespace {
std::optional<std::vector<uint8_t>> read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return std::nullopt;
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
uint32_t be32(const std::vector<uint8_t>& b, size_t off) {
    return (uint32_t(b[off]) << 24) | (uint32_t(b[off + 1]) << 16) | (uint32_t(b[off + 2]) << 8) | uint32_t(b[off + 3]);
}
std::vector<std::string> split_nul(const std::vector<uint8_t>& b) {
    std::vector<std::string> out;
    std::string cur;
    for (uint8_t c : b) {
        if (c == 0) {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(static_cast<char>(c));
        }
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
}
}  // namespace

std::optional<uint64_t> parse_soc_ranges(const std::vector<uint8_t>& r, uint32_t* size_out) {
    if (r.size() < 12) return std::nullopt;
    uint32_t base = be32(r, 4);
    uint32_t size = be32(r, 8);
    if (base == 0) {  // BCM2711: two parent address cells, offset 4 is the high word
        if (r.size() < 16) return std::nullopt;
        base = be32(r, 8);
        size = be32(r, 12);
    }
    if (size_out) *size_out = size;
    return base;
}

DeviceTreeInfo read_device_tree(const std::string& root) {
    DeviceTreeInfo info;
    if (auto m = read_bytes(root + "/model")) {
        auto parts = split_nul(*m);
        if (!parts.empty()) info.model = parts[0];
    }
    if (auto c = read_bytes(root + "/compatible")) info.compatible = split_nul(*c);
    for (const auto& c : info.compatible) {
        if (c == "brcm,bcm2712") info.soc = Soc::BCM2712;
        else if (c == "brcm,bcm2711") info.soc = Soc::BCM2711;
        else if (c == "brcm,bcm2837") info.soc = Soc::BCM2837;
        else if (c == "brcm,bcm2836") info.soc = Soc::BCM2836;
        else if (c == "brcm,bcm2835") info.soc = Soc::BCM2835;
        if (info.soc) break;
    }
    // The Pi 5's soc/ranges does not follow the bcm_host layout: only trust it on BCM2835..2711.
    if (info.soc != Soc::BCM2712) {
        if (auto r = read_bytes(root + "/soc/ranges")) {
            uint32_t size = 0;
            if (auto base = parse_soc_ranges(*r, &size)) {
                info.periph_base = *base;
                info.periph_size = size;
                if (!info.soc) {
                    if (*base == 0x20000000u) info.soc = Soc::BCM2835;
                    else if (*base == 0x3F000000u) info.soc = Soc::BCM2837;
                    else if (*base == 0xFE000000u) info.soc = Soc::BCM2711;
                }
            }
        }
    }
    // The legacy DMA controller's node: soc/dma@7e007000 (compatible brcm,bcm2835-dma).
    if (DIR* d = opendir((root + "/soc").c_str())) {
        std::vector<std::string> names;
        while (dirent* e = readdir(d)) names.push_back(e->d_name);
        closedir(d);
        std::sort(names.begin(), names.end());
        for (const auto& n : names) {
            if (n.rfind("dma@", 0) != 0) continue;
            const std::string node = root + "/soc/" + n;
            auto compat = read_bytes(node + "/compatible");
            if (!compat) continue;
            auto cs = split_nul(*compat);
            if (std::find(cs.begin(), cs.end(), "brcm,bcm2835-dma") == cs.end()) continue;
            for (const char* prop : {"/brcm,dma-channel-mask", "/dma-channel-mask"}) {
                auto m = read_bytes(node + prop);
                if (m && m->size() >= 4) {
                    info.dma_channel_mask = be32(*m, 0);
                    break;
                }
            }
            if (info.dma_channel_mask) break;
        }
    }
    return info;
}

int default_dma_channel(Soc soc, std::optional<uint32_t> mask) {
    const SocInfo& s = soc_info(soc);
    if (mask) {
        for (int ch = kDmaChannels - 1; ch >= 1; --ch)
            if ((*mask & (1u << ch)) && (s.legacy_dma_mask & (1u << ch))) return ch;
    }
    if (soc == Soc::BCM2712) return -1;
    return soc == Soc::BCM2711 ? 10 : 14;
}

}  // namespace rpio_pwm
