#include "codec/codec.hpp"

#include <string>

namespace gridpact::codec {

Writer& Writer::length(size_t size, size_t max) {
  if (size > max || size > UINT32_MAX)
    throw Error(Code::kFieldTooLong,
                "field of " + std::to_string(size) + " bytes exceeds " + std::to_string(max));
  return u32(static_cast<uint32_t>(size));
}

Writer& Writer::bytes(const uint8_t* data, size_t size, size_t max) {
  length(size, max);
  return raw(data, size);
}

Writer& Writer::count(size_t n, size_t max) {
  if (n > max || n > UINT32_MAX)
    throw Error(Code::kFieldTooLong,
                "list of " + std::to_string(n) + " exceeds " + std::to_string(max));
  return u32(static_cast<uint32_t>(n));
}

void Reader::need(size_t n) const {
  if (remaining() < n)
    throw Error(Code::kTruncated, "input ends " + std::to_string(n - remaining()) + " bytes early");
}

uint64_t Reader::be(int width) {
  need(static_cast<size_t>(width));
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v = v << 8 | *p_++;
  return v;
}

bool Reader::boolean() {
  uint8_t v = u8();
  if (v > 1) throw Error(Code::kBadEncoding, "boolean byte must be 0 or 1");
  return v == 1;
}

Bytes Reader::bytes(size_t max) {
  auto view = bytes_view(max);
  return Bytes(view.begin(), view.end());
}

std::span<const uint8_t> Reader::bytes_view(size_t max) {
  uint32_t n = u32();
  if (n > max)
    throw Error(Code::kFieldTooLong,
                "field of " + std::to_string(n) + " bytes exceeds " + std::to_string(max));
  need(n);
  std::span<const uint8_t> out(p_, n);
  p_ += n;
  return out;
}

std::string Reader::str(size_t max) {
  Bytes b = bytes(max);
  return std::string(b.begin(), b.end());
}

size_t Reader::count(size_t max) {
  uint32_t n = u32();
  if (n > max)
    throw Error(Code::kFieldTooLong,
                "list of " + std::to_string(n) + " exceeds " + std::to_string(max));
  // Each element takes at least one byte: a count beyond the input is a lie we catch
  // before anyone reserves memory for it.
  if (n > remaining()) throw Error(Code::kTruncated, "list count exceeds input");
  return n;
}

void Reader::expect_end() const {
  if (p_ != end_)
    throw Error(Code::kTrailingBytes, std::to_string(remaining()) + " trailing bytes");
}

}  // namespace gridpact::codec
