#include "ledger/node_table.hpp"

#include <algorithm>
#include <cstring>

#include "ledger/sharded.hpp"

namespace gridpact {
namespace {

constexpr size_t kInitialSlots = 64;

// Nodes a shard of `slots` holds before it grows: at most three quarters full (node_table.hpp).
constexpr size_t room_in(size_t slots) {
  return 3 * slots / 4;
}

}  // namespace

// Bytes 0-7 place a node in its shard's table; the shard is chosen by byte 8 (the table
// index uses the low bits of bytes 0-7, so the two are independent).
uint64_t NodeTable::home_of(const Hash32& hash) {
  uint64_t h;
  std::memcpy(&h, hash.data(), sizeof h);
  return h;
}

size_t NodeTable::Shard::probe(const Hash32& hash) const {
  size_t mask = slots.size() - 1;
  for (size_t i = home_of(hash) & mask;; i = (i + 1) & mask)
    if (slots[i].refs == 0 || slots[i].hash == hash) return i;
}

void NodeTable::Shard::grow(size_t count) {
  std::vector<Slot> old = std::move(slots);
  slots.assign(count, Slot{});
  for (const Slot& slot : old)
    if (slot.refs) slots[probe(slot.hash)] = slot;
}

void NodeTable::reserve(size_t nodes) {
  const size_t per_shard = nodes / kShards + 1;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    size_t count = shard.slots.empty() ? kInitialSlots : shard.slots.size();
    while (per_shard > room_in(count)) count *= 2;
    if (count > shard.slots.size()) shard.grow(count);
  }
}

std::optional<TreeNode> NodeTable::find(const Hash32& hash) const {
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  if (shard.size == 0) return std::nullopt;
  const Slot& slot = shard.slots[shard.probe(hash)];
  if (slot.refs == 0) return std::nullopt;
  return TreeNode{slot.leaf, slot.a, slot.b};
}

uint32_t NodeTable::references(const Hash32& hash) const {
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  if (shard.size == 0) return 0;
  return shard.slots[shard.probe(hash)].refs;
}

void NodeTable::Shard::prefetch(const Hash32& hash) const {
  if (slots.empty()) return;
  const char* slot = reinterpret_cast<const char*>(&slots[home_of(hash) & (slots.size() - 1)]);
  __builtin_prefetch(slot);
  __builtin_prefetch(slot + 64);
}

void NodeTable::Shard::add(const Hash32& hash, const TreeNode& node) {
  if (size + 1 > room_in(slots.size())) grow(slots.empty() ? kInitialSlots : 2 * slots.size());
  Slot& slot = slots[probe(hash)];
  if (slot.refs++ > 0) return;
  slot.leaf = node.leaf;
  slot.hash = hash;
  slot.a = node.a;
  slot.b = node.b;
  ++size;
}

void NodeTable::Shard::release(const Hash32& hash) {
  if (size == 0) return;
  size_t mask = slots.size() - 1;
  size_t hole = probe(hash);
  if (slots[hole].refs == 0 || --slots[hole].refs > 0) return;
  // Backward shift: each following entry of the run moves into the hole unless its home
  // lies cyclically in (hole, at], where it must stay to remain reachable.
  for (size_t at = (hole + 1) & mask; slots[at].refs; at = (at + 1) & mask) {
    size_t home = home_of(slots[at].hash) & mask;
    bool stays = hole <= at ? (hole < home && home <= at) : (hole < home || home <= at);
    if (stays) continue;
    slots[hole] = slots[at];
    hole = at;
  }
  slots[hole].refs = 0;
  --size;
}

void NodeTable::add(const Hash32& hash, const TreeNode& node) {
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  shard.add(hash, node);
}

void NodeTable::release(const Hash32& hash) {
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  shard.release(hash);
}

template <class HashOf, class Op>
void NodeTable::by_shard(size_t n, HashOf hash_of, Op op) const {
  constexpr size_t kAhead = 12;  // nodes in flight from memory
  for_each_by_shard<kAhead>(
      shards_, n, [&](size_t i) { return shard_index(hash_of(i)); },
      [&](const Shard& shard, size_t i) { shard.prefetch(hash_of(i)); }, op);
}

bool NodeTable::find_all(std::span<const Hash32> hashes, std::span<TreeNode> out) const {
  bool all = true;
  by_shard(
      hashes.size(), [&](size_t i) -> const Hash32& { return hashes[i]; },
      [&](Shard& shard, size_t i) {
        const Slot* slot = shard.size == 0 ? nullptr : &shard.slots[shard.probe(hashes[i])];
        if (!slot || slot->refs == 0)
          all = false;
        else
          out[i] = TreeNode{slot->leaf, slot->a, slot->b};
      });
  return all;
}

void NodeTable::add_all(std::span<const std::pair<Hash32, TreeNode>> nodes) {
  by_shard(
      nodes.size(), [&](size_t i) -> const Hash32& { return nodes[i].first; },
      [&](Shard& shard, size_t i) { shard.add(nodes[i].first, nodes[i].second); });
}

void NodeTable::release_all(std::span<const Hash32> hashes) {
  by_shard(
      hashes.size(), [&](size_t i) -> const Hash32& { return hashes[i]; },
      [&](Shard& shard, size_t i) { shard.release(hashes[i]); });
}

size_t NodeTable::capacity() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += room_in(shard.slots.size());
  }
  return n;
}

size_t NodeTable::size() const {
  return locked_size(shards_);
}

}  // namespace gridpact
