#include "ledger/state.hpp"

#include <bit>
#include <functional>

namespace gridpact {
namespace {

// Below this many writes the map's descent is short and a filter costs more than it saves.
constexpr size_t kFilterFrom = 1024;
constexpr size_t kFilterBitsPerKey = 16;  // two probes: about 1.4% false positives

std::pair<uint64_t, uint64_t> probes(std::string_view key) {
  uint64_t h = std::hash<std::string_view>{}(key);
  return {h, (h >> 32 | h << 32) * 0x9e3779b97f4a7c15ULL};
}

}  // namespace

bool StateOverlay::may_hold(std::string_view key) const {
  if (filter_.empty()) return true;
  uint64_t mask = filter_.size() * 64 - 1;
  auto [a, b] = probes(key);
  a &= mask;
  b &= mask;
  return (filter_[a >> 6] >> (a & 63) & 1) && (filter_[b >> 6] >> (b & 63) & 1);
}

void StateOverlay::remember(std::string_view key) {
  if (filter_.empty()) {
    if (writes_.size() >= kFilterFrom) rebuild_filter(kFilterFrom * kFilterBitsPerKey * 2);
    return;  // the rebuild read every key, this one included
  }
  if (writes_.size() * kFilterBitsPerKey > filter_.size() * 64) {
    rebuild_filter(filter_.size() * 64 * 2);
    return;
  }
  uint64_t mask = filter_.size() * 64 - 1;
  auto [a, b] = probes(key);
  a &= mask;
  b &= mask;
  filter_[a >> 6] |= uint64_t{1} << (a & 63);
  filter_[b >> 6] |= uint64_t{1} << (b & 63);
}

void StateOverlay::rebuild_filter(size_t bits) {
  filter_.assign(std::bit_ceil(bits) / 64, 0);
  uint64_t mask = filter_.size() * 64 - 1;
  for (const auto& [k, v] : writes_) {
    auto [a, b] = probes(k);
    a &= mask;
    b &= mask;
    filter_[a >> 6] |= uint64_t{1} << (a & 63);
    filter_[b >> 6] |= uint64_t{1} << (b & 63);
  }
}

std::optional<std::string> StateOverlay::get(std::string_view key) const {
  if (may_hold(key)) {
    auto it = writes_.find(key);
    if (it != writes_.end()) return it->second;
  }
  return base_.get(key);
}

void StateOverlay::write(std::string_view key, std::optional<std::string> value) {
  auto it = writes_.lower_bound(key);
  if (it != writes_.end() && it->first == key) {
    it->second = std::move(value);  // already remembered
    return;
  }
  writes_.emplace_hint(it, std::string(key), std::move(value));
  remember(key);
}

void StateOverlay::scan(std::string_view prefix, const Visitor& fn) const {
  auto w = writes_.lower_bound(prefix);
  auto in_prefix = [&](const std::string& k) { return k.compare(0, prefix.size(), prefix) == 0; };
  bool go = true;
  // Emits buffered writes that sort before `bound` (all of them when bound is null).
  auto drain = [&](const std::string_view* bound) {
    while (go && w != writes_.end() && in_prefix(w->first) && (!bound || w->first < *bound)) {
      if (w->second) go = fn(w->first, *w->second);
      ++w;
    }
  };
  base_.scan(prefix, [&](std::string_view key, std::string_view value) {
    drain(&key);
    if (!go) return false;
    if (w != writes_.end() && w->first == key) {  // overwritten or erased here
      if (w->second) go = fn(w->first, *w->second);
      ++w;
      return go;
    }
    go = fn(key, value);
    return go;
  });
  drain(nullptr);
}

void StateOverlay::merge_into(StateOverlay& parent) {
  for (auto& [k, v] : writes_) parent.write(k, std::move(v));
  writes_.clear();
  filter_.clear();
}

std::string encode_u64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) s[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
  return s;
}

std::optional<uint64_t> decode_u64(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) v = v << 8 | static_cast<uint8_t>(c);
  return v;
}

}  // namespace gridpact
