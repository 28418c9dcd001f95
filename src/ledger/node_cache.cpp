#include "ledger/node_cache.hpp"

#include <algorithm>
#include <cstring>

#include "ledger/sharded.hpp"

namespace gridpact {
namespace {

constexpr size_t kInitialSlots = 64;

}  // namespace

NodeCache::NodeCache(size_t max_entries)
    : max_per_shard_(max_entries == 0 ? 0 : std::max<size_t>(1, max_entries / kShards)) {}

// Bytes 0-7 place a node in its shard's table; the shard is chosen by byte 8 (the table
// index uses the low bits of bytes 0-7, so the two are independent).
uint64_t NodeCache::home_of(const Hash32& hash) {
  uint64_t h;
  std::memcpy(&h, hash.data(), sizeof h);
  return h;
}

NodeCache::Shard& NodeCache::shard_of(const Hash32& hash) const {
  return shards_[hash.data()[8] % kShards];
}

size_t NodeCache::Shard::probe(const Hash32& hash) const {
  size_t mask = slots.size() - 1;
  for (size_t i = home_of(hash) & mask;; i = (i + 1) & mask)
    if (!slots[i].used || slots[i].hash == hash) return i;
}

void NodeCache::Shard::grow() {
  std::vector<Slot> old = std::move(slots);
  slots.assign(old.empty() ? kInitialSlots : old.size() * 2, Slot{});
  for (const Slot& s : old)
    if (s.used) slots[probe(s.hash)] = s;
}

std::optional<TreeNode> NodeCache::find(const Hash32& hash) const {
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  if (shard.size == 0) return std::nullopt;
  const Slot& slot = shard.slots[shard.probe(hash)];
  if (!slot.used) return std::nullopt;
  return slot.node;
}

void NodeCache::insert(const Hash32& hash, const TreeNode& node) {
  if (max_per_shard_ == 0) return;
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  if (shard.size >= max_per_shard_) {  // full: start over
    shard.slots.clear();
    shard.size = 0;
  }
  if (4 * (shard.size + 1) > 3 * shard.slots.size()) shard.grow();
  Slot& slot = shard.slots[shard.probe(hash)];
  if (slot.used) return;
  slot = Slot{hash, node, true};
  ++shard.size;
}

void NodeCache::erase(const Hash32& hash) {
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  if (shard.size == 0) return;
  size_t mask = shard.slots.size() - 1;
  size_t hole = shard.probe(hash);
  if (!shard.slots[hole].used) return;
  // Backward shift: each following entry of the run moves into the hole unless its home
  // lies cyclically in (hole, at], where it must stay to remain reachable.
  for (size_t at = (hole + 1) & mask; shard.slots[at].used; at = (at + 1) & mask) {
    size_t home = home_of(shard.slots[at].hash) & mask;
    bool stays = hole <= at ? (hole < home && home <= at) : (hole < home || home <= at);
    if (stays) continue;
    shard.slots[hole] = shard.slots[at];
    hole = at;
  }
  shard.slots[hole].used = false;
  --shard.size;
}

size_t NodeCache::size() const {
  return locked_size(shards_);
}

}  // namespace gridpact
