#include "ledger/state.hpp"

#include <algorithm>
#include <stdexcept>

namespace gridpact {
namespace {

template <class Entry>
bool key_less(const Entry* a, const Entry* b) {
  return a->first < b->first;
}

// Visits `base`'s keys under `prefix` merged, in key order, with buffered writes [w, end)
// (sorted, all under the prefix): a write's value replaces the base's, an erasure hides it.
// `write_of(w)` gives the (key, optional value) pair an iterator stands for.
template <class It, class WriteOf>
void merged_scan(const StateReader& base, std::string_view prefix, It w, It end, WriteOf write_of,
                 const StateReader::Visitor& fn) {
  bool go = true;
  // Emits the writes that sort before `bound` (all of them when bound is null).
  auto drain = [&](const std::string_view* bound) {
    for (; go && w != end && (!bound || write_of(w).first < *bound); ++w)
      if (write_of(w).second) go = fn(write_of(w).first, *write_of(w).second);
  };
  base.scan(prefix, [&](std::string_view key, std::string_view value) {
    drain(&key);
    if (!go) return false;
    if (w != end && write_of(w).first == key) {  // overwritten or erased by the writes
      if (write_of(w).second) go = fn(write_of(w).first, *write_of(w).second);
      ++w;
      return go;
    }
    go = fn(key, value);
    return go;
  });
  drain(nullptr);
}

}  // namespace

std::optional<std::string> StateOverlay::get(std::string_view key) const {
  if (const Entry* e = in_layers(key)) return e->second;
  auto it = values_.find(key);
  if (it != values_.end()) return it->second;
  return base_.get(key);
}

StateOverlay::Entry* StateOverlay::in_layers(std::string_view key) const {
  for (auto layer = layers_.rbegin(); layer != layers_.rend(); ++layer) {
    auto it = (*layer)->values_.find(key);
    if (it != (*layer)->values_.end()) return &*it;
  }
  return nullptr;
}

void StateOverlay::write(std::string_view key, std::optional<std::string> value) {
  if (Entry* e = in_layers(key)) {
    e->second = std::move(value);
    return;
  }
  // One lookup: most writes of a big block are of keys it has not written yet.
  auto [entry, added] = values_.try_emplace(std::string(key), std::move(value));
  if (added)
    recent_.push_back(&*entry);
  else
    entry->second = std::move(value);  // try_emplace left `value` alone
}

void StateOverlay::insert_newer(Values::node_type node) {
  if (Entry* e = in_layers(node.key())) {
    e->second = std::move(node.mapped());
    return;
  }
  insert_own(std::move(node));
}

void StateOverlay::insert_own(Values::node_type node) {
  auto moved = values_.insert(std::move(node));
  if (moved.inserted)
    recent_.push_back(&*moved.position);
  else
    moved.position->second = std::move(moved.node.mapped());
}

void StateOverlay::adopt(std::vector<std::unique_ptr<StateOverlay>> children) {
  for (auto& child : children) {
    if (&child->base_ != this || !child->layers_.empty())
      throw std::logic_error("adopt: a child must be layered directly over its adopter");
    layers_.push_back(std::move(child));
  }
  // Every read of a key this overlay lacks searches each layer: keep them few by moving
  // the oldest into this overlay's own table, where the layers still shadow it.
  while (layers_.size() > kMaxLayers) {
    std::unique_ptr<StateOverlay> oldest = std::move(layers_.front());
    layers_.erase(layers_.begin());
    while (!oldest->values_.empty()) insert_own(oldest->values_.extract(oldest->values_.begin()));
  }
}

void StateOverlay::fold() const {
  if (recent_.empty()) return;
  std::sort(recent_.begin(), recent_.end(), key_less<Entry>);
  size_t mid = ordered_.size();
  ordered_.insert(ordered_.end(), recent_.begin(), recent_.end());
  std::inplace_merge(ordered_.begin(), ordered_.begin() + static_cast<ptrdiff_t>(mid),
                     ordered_.end(), key_less<Entry>);
  recent_.clear();
  recent_passes_ = 0;
}

void StateOverlay::clear_key_order() {
  ordered_.clear();
  recent_.clear();
  recent_passes_ = 0;
}

std::vector<const StateOverlay::Entry*> StateOverlay::own_in_order(std::string_view prefix) const {
  // Folding sorts the recent keys and merges them into the sorted ones; a scan that picks
  // its matches out of the recent keys instead costs a pass over them. So fold only when
  // the recent keys are many next to the sorted ones, and once the passes since the last
  // fold have cost about what the sort would: a block's transactions, which scan often,
  // keep the keys sorted, while an end_block that writes thousands of keys (a cleared book)
  // and then scans once does not sort them all for that one scan.
  if (recent_.size() > 64 && recent_.size() * 8 > ordered_.size() &&
      recent_passes_ >= 2 * recent_.size())
    fold();
  else
    recent_passes_ += recent_.size();
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

std::vector<StateOverlay::Placed> StateOverlay::in_order(std::string_view prefix) const {
  std::vector<Placed> out;
  for (const Entry* e : own_in_order(prefix)) out.push_back({e, 0});
  // Each layer in turn, merged by key; on a key both hold, the layer's (newer) entry.
  for (size_t i = 0; i < layers_.size(); ++i) {
    std::vector<Placed> merged;
    std::vector<const Entry*> theirs = layers_[i]->own_in_order(prefix);
    merged.reserve(out.size() + theirs.size());
    auto a = out.begin();
    for (const Entry* e : theirs) {
      while (a != out.end() && a->entry->first < e->first) merged.push_back(*a++);
      if (a != out.end() && a->entry->first == e->first) ++a;
      merged.push_back({e, i + 1});
    }
    merged.insert(merged.end(), a, out.end());
    out = std::move(merged);
  }
  return out;
}

size_t StateOverlay::size() const {
  return layers_.empty() ? values_.size() : in_order("").size();
}

void StateOverlay::scan(std::string_view prefix, const Visitor& fn) const {
  std::vector<Placed> mine = in_order(prefix);
  merged_scan(
      base_, prefix, mine.cbegin(), mine.cend(), [](auto it) -> const Entry& { return *it->entry; },
      fn);
}

StateOverlay::Writes StateOverlay::writes() const {
  std::vector<Placed> all = in_order("");
  Writes out;
  out.reserve(all.size());
  for (const auto& p : all) out.emplace_back(p.entry->first, p.entry->second);
  return out;
}

StateOverlay::Writes StateOverlay::take_writes() {
  std::vector<Placed> all = in_order("");
  Writes out;
  out.reserve(all.size());
  for (const auto& p : all) {
    Values& table = p.table == 0 ? values_ : layers_[p.table - 1]->values_;
    auto node = table.extract(p.entry->first);
    out.emplace_back(std::move(node.key()), std::move(node.mapped()));
  }
  values_.clear();
  clear_key_order();
  layers_.clear();
  return out;
}

void StateOverlay::merge_into(StateOverlay& parent) {
  // Entries move over whole (no copy of key or value); the layers' after this overlay's
  // own, which they are newer than.
  while (!values_.empty()) parent.insert_newer(values_.extract(values_.begin()));
  clear_key_order();
  for (auto& layer : layers_) {
    while (!layer->values_.empty())
      parent.insert_newer(layer->values_.extract(layer->values_.begin()));
    layer->clear_key_order();
  }
  layers_.clear();
}

WritesView::WritesView(const StateOverlay::Writes& writes, const StateReader& base)
    : writes_(writes), base_(base) {
  if (writes.size() >= UINT32_MAX / 2) throw std::length_error("WritesView: too many writes");
  size_t slots = 16;
  while (slots < 2 * writes.size()) slots *= 2;
  slots_.assign(slots, 0);
  const size_t mask = slots - 1;
  for (size_t i = 0; i < writes.size(); ++i) {
    size_t at = StringKeyHash{}(writes[i].first) & mask;
    while (slots_[at]) at = (at + 1) & mask;
    slots_[at] = static_cast<uint32_t>(i + 1);
  }
}

const StateOverlay::Writes::value_type* WritesView::find(std::string_view key) const {
  const size_t mask = slots_.size() - 1;
  for (size_t at = StringKeyHash{}(key)&mask; slots_[at]; at = (at + 1) & mask) {
    const auto& write = writes_[slots_[at] - 1];
    if (write.first == key) return &write;
  }
  return nullptr;
}

std::optional<std::string> WritesView::get(std::string_view key) const {
  if (const auto* write = find(key)) return write->second;  // nullopt: erased here
  return base_.get(key);
}

void WritesView::scan(std::string_view prefix, const Visitor& fn) const {
  auto first =
      std::lower_bound(writes_.begin(), writes_.end(), prefix,
                       [](const auto& write, std::string_view p) { return write.first < p; });
  auto last = std::partition_point(
      first, writes_.end(), [&](const auto& write) { return write.first.starts_with(prefix); });
  merged_scan(
      base_, prefix, first, last, [](auto it) -> const auto& { return *it; }, fn);
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
