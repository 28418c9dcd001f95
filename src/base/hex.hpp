// Lower-case hexadecimal, the text form of keys, hashes and transaction bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gridpact {

using Bytes = std::vector<uint8_t>;

std::string to_hex(const uint8_t* data, size_t size);
inline std::string to_hex(const Bytes& b) {
  return to_hex(b.data(), b.size());
}
// Empty optional on odd length or a non-hex character.
std::optional<Bytes> from_hex(std::string_view hex);

inline Bytes to_bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

}  // namespace gridpact
