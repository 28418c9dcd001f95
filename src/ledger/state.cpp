#include "ledger/state.hpp"

#include <algorithm>

namespace gridpact {
namespace {

template <class Entry>
bool key_less(const Entry* a, const Entry* b) {
  return a->first < b->first;
}

}  // namespace

std::optional<std::string> StateOverlay::get(std::string_view key) const {
  auto it = values_.find(key);
  if (it != values_.end()) return it->second;
  return base_.get(key);
}

void StateOverlay::write(std::string_view key, std::optional<std::string> value) {
  // One lookup: most writes of a big block are of keys it has not written yet.
  auto [entry, added] = values_.try_emplace(std::string(key), std::move(value));
  if (added)
    recent_.push_back(&*entry);
  else
    entry->second = std::move(value);  // try_emplace left `value` alone
}

void StateOverlay::fold() const {
  if (recent_.empty()) return;
  std::sort(recent_.begin(), recent_.end(), key_less<Entry>);
  size_t mid = ordered_.size();
  ordered_.insert(ordered_.end(), recent_.begin(), recent_.end());
  std::inplace_merge(ordered_.begin(), ordered_.begin() + static_cast<ptrdiff_t>(mid),
                     ordered_.end(), key_less<Entry>);
  recent_.clear();
}

std::vector<const StateOverlay::Entry*> StateOverlay::in_order(std::string_view prefix) const {
  // Folding costs a pass over every key; while the recent keys are few next to the sorted
  // ones, a scan picks its matches out of them instead (a block's transactions scan often).
  if (recent_.size() > 64 && recent_.size() * 8 > ordered_.size()) fold();
  auto starts = [&](const Entry* e) { return e->first.starts_with(prefix); };
  std::vector<const Entry*> out;
  auto first = std::lower_bound(ordered_.begin(), ordered_.end(), prefix,
                                [](const Entry* e, std::string_view p) { return e->first < p; });
  for (auto it = first; it != ordered_.end() && starts(*it); ++it) out.push_back(*it);
  size_t mid = out.size();
  for (const Entry* e : recent_)
    if (starts(e)) out.push_back(e);
  std::sort(out.begin() + static_cast<ptrdiff_t>(mid), out.end(), key_less<Entry>);
  std::inplace_merge(out.begin(), out.begin() + static_cast<ptrdiff_t>(mid), out.end(),
                     key_less<Entry>);
  return out;
}

void StateOverlay::scan(std::string_view prefix, const Visitor& fn) const {
  std::vector<const Entry*> mine = in_order(prefix);
  auto w = mine.begin();
  bool go = true;
  // Emits buffered writes that sort before `bound` (all of them when bound is null).
  auto drain = [&](const std::string_view* bound) {
    while (go && w != mine.end() && (!bound || (*w)->first < *bound)) {
      if ((*w)->second) go = fn((*w)->first, *(*w)->second);
      ++w;
    }
  };
  base_.scan(prefix, [&](std::string_view key, std::string_view value) {
    drain(&key);
    if (!go) return false;
    if (w != mine.end() && (*w)->first == key) {  // overwritten or erased here
      if ((*w)->second) go = fn((*w)->first, *(*w)->second);
      ++w;
      return go;
    }
    go = fn(key, value);
    return go;
  });
  drain(nullptr);
}

StateOverlay::Writes StateOverlay::writes() const {
  fold();
  Writes out;
  out.reserve(ordered_.size());
  for (const Entry* e : ordered_) out.emplace_back(e->first, e->second);
  return out;
}

StateOverlay::Writes StateOverlay::take_writes() {
  fold();
  Writes out;
  out.reserve(ordered_.size());
  for (const Entry* e : ordered_) {
    auto node = values_.extract(e->first);
    out.emplace_back(std::move(node.key()), std::move(node.mapped()));
  }
  values_.clear();
  ordered_.clear();
  return out;
}

void StateOverlay::merge_into(StateOverlay& parent) {
  // Entries move over whole (no copy of key or value) unless the parent has the key.
  while (!values_.empty()) {
    auto moved = parent.values_.insert(values_.extract(values_.begin()));
    if (moved.inserted)
      parent.recent_.push_back(&*moved.position);
    else
      moved.position->second = std::move(moved.node.mapped());
  }
  ordered_.clear();
  recent_.clear();
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
