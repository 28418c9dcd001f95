// Canonical binary encoding: exactly one byte string per value, so that hashes and
// signatures over encoded values are well defined on every node and in the browser.
//
//   integers      fixed width, big-endian (u8, u16, u32, u64; i64 as two's complement)
//   bool          one byte, 0 or 1 (anything else is rejected)
//   bytes/string  u32 length, then the bytes; each field has a maximum length
//   fixed bytes   the bytes, no length (keys, hashes, signatures)
//   lists         u32 count, then the elements; each list has a maximum count
//
// Readers throw gridpact::Error with a stable code (TRUNCATED, FIELD_TOO_LONG,
// BAD_ENCODING, TRAILING_BYTES); decode() turns that into a Result at the boundary.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "crypto/hash.hpp"

namespace gridpact::codec {

class Writer {
 public:
  Writer& u8(uint8_t v) {
    out_.push_back(v);
    return *this;
  }
  Writer& u16(uint16_t v) { return be(v, 2); }
  Writer& u32(uint32_t v) { return be(v, 4); }
  Writer& u64(uint64_t v) { return be(v, 8); }
  Writer& i64(int64_t v) { return be(static_cast<uint64_t>(v), 8); }
  Writer& boolean(bool v) { return u8(v ? 1 : 0); }
  Writer& raw(const uint8_t* data, size_t size) {
    if (size == 0) return *this;
    // resize and copy, not insert: GCC 12 at -O3 warns (wrongly) of an overflow in the
    // insert of a range into a vector it cannot prove non-empty.
    size_t at = out_.size();
    out_.resize(at + size);
    std::memcpy(out_.data() + at, data, size);
    return *this;
  }
  template <size_t N>
  Writer& fixed(const FixedBytes<N>& b) {
    return raw(b.data(), N);
  }
  // Length-prefixed; `max` is the field's limit, enforced here too so that nothing
  // undecodable is ever produced.
  Writer& bytes(const uint8_t* data, size_t size, size_t max);
  Writer& bytes(const Bytes& b, size_t max) { return bytes(b.data(), b.size(), max); }
  Writer& str(std::string_view s, size_t max) {
    return bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size(), max);
  }
  Writer& count(size_t n, size_t max);
  // The length prefix of a `size`-byte field whose bytes the caller writes next.
  Writer& length(size_t size, size_t max);
  // Room for `size` more bytes: an encoder that knows its size allocates once.
  Writer& reserve(size_t size) {
    out_.reserve(out_.size() + size);
    return *this;
  }

  const Bytes& data() const { return out_; }
  Bytes take() { return std::move(out_); }

 private:
  Writer& be(uint64_t v, int width) {
    const size_t at = out_.size();
    out_.resize(at + static_cast<size_t>(width));  // one size check, not one per byte
    for (size_t i = at + static_cast<size_t>(width); i-- > at; v >>= 8)
      out_[i] = static_cast<uint8_t>(v);
    return *this;
  }
  Bytes out_;
};

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  explicit Reader(const Bytes& b) : Reader(b.data(), b.size()) {}
  explicit Reader(std::string_view s)
      : Reader(reinterpret_cast<const uint8_t*>(s.data()), s.size()) {}

  uint8_t u8() { return static_cast<uint8_t>(be(1)); }
  uint16_t u16() { return static_cast<uint16_t>(be(2)); }
  uint32_t u32() { return static_cast<uint32_t>(be(4)); }
  uint64_t u64() { return be(8); }
  int64_t i64() { return static_cast<int64_t>(be(8)); }
  bool boolean();
  template <size_t N>
  FixedBytes<N> fixed() {
    need(N);
    auto out = FixedBytes<N>::from_span(p_);
    p_ += N;
    return out;
  }
  Bytes bytes(size_t max);
  // The same field, in place: valid while the input is.
  std::span<const uint8_t> bytes_view(size_t max);
  std::string str(size_t max);
  size_t count(size_t max);

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  void expect_end() const;

 private:
  void need(size_t n) const;
  uint64_t be(int width);
  const uint8_t* p_;
  const uint8_t* end_;
};

// Runs `fn` over a Reader, requires that it consumed every byte, and maps decoding
// errors to a Result.
template <typename T>
Result<T> decode(const uint8_t* data, size_t size, const std::function<T(Reader&)>& fn) {
  try {
    Reader r(data, size);
    T value = fn(r);
    r.expect_end();
    return value;
  } catch (const Error& e) {
    return e.status();
  }
}

}  // namespace gridpact::codec
