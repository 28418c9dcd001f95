#include "ledger/state.hpp"

namespace gridpact {

std::optional<std::string> StateOverlay::get(std::string_view key) const {
  auto it = writes_.find(key);
  if (it != writes_.end()) return it->second;
  return base_.get(key);
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
  for (auto& [k, v] : writes_) parent.writes_[k] = std::move(v);
  writes_.clear();
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
