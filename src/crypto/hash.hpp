// SHA-256 and the fixed-size byte arrays that name things on the ledger.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "base/hex.hpp"

namespace gridpact {

template <size_t N>
struct FixedBytes {
  std::array<uint8_t, N> bytes{};

  static constexpr size_t kSize = N;
  const uint8_t* data() const { return bytes.data(); }
  uint8_t* data() { return bytes.data(); }
  static constexpr size_t size() { return N; }
  bool is_zero() const {
    for (uint8_t b : bytes)
      if (b) return false;
    return true;
  }
  std::string hex() const { return to_hex(bytes.data(), N); }
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes.data()), N}; }
  static std::optional<FixedBytes> from_hex(std::string_view h) {
    auto b = gridpact::from_hex(h);
    if (!b || b->size() != N) return std::nullopt;
    FixedBytes out;
    std::memcpy(out.bytes.data(), b->data(), N);
    return out;
  }
  static FixedBytes from_span(const uint8_t* p) {
    FixedBytes out;
    std::memcpy(out.bytes.data(), p, N);
    return out;
  }
  auto operator<=>(const FixedBytes&) const = default;
  // Spelled out: the defaulted one calls memcmp, where this compiles to a few vector
  // compares (hash tables of tree nodes and transactions compare hashes all the time).
  bool operator==(const FixedBytes& other) const {
    return std::memcmp(bytes.data(), other.bytes.data(), N) == 0;
  }
};

using Hash32 = FixedBytes<32>;

Hash32 sha256(const uint8_t* data, size_t size);
inline Hash32 sha256(std::string_view s) {
  return sha256(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline Hash32 sha256(const Bytes& b) {
  return sha256(b.data(), b.size());
}

// SHA-256 over several pieces. Pieces are gathered and hashed in one call at finish():
// the inputs hashed piecewise here are small (tree nodes, headers), and OpenSSL's one-shot
// SHA256() is its fastest non-deprecated path.
class Sha256 {
 public:
  Sha256& update(const uint8_t* data, size_t size) {
    buffer_.insert(buffer_.end(), data, data + size);
    return *this;
  }
  Sha256& update(std::string_view s) {
    return update(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  template <size_t N>
  Sha256& update(const FixedBytes<N>& b) {
    return update(b.data(), N);
  }
  Hash32 finish() const { return sha256(buffer_); }

 private:
  Bytes buffer_;
};

struct FixedBytesHasher {
  template <size_t N>
  size_t operator()(const FixedBytes<N>& b) const {
    size_t h;
    std::memcpy(&h, b.data(), sizeof h);
    return h;
  }
};

}  // namespace gridpact
