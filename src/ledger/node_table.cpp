#include "ledger/node_table.hpp"

#include <cstring>

#include "ledger/sharded.hpp"

namespace gridpact {
namespace {

constexpr size_t kInitialSlots = 64;

}  // namespace

// Bytes 0-7 place a node in its shard's table; the shard is chosen by byte 8 (the table
// index uses the low bits of bytes 0-7, so the two are independent).
uint64_t NodeTable::home_of(const Hash32& hash) {
  uint64_t h;
  std::memcpy(&h, hash.data(), sizeof h);
  return h;
}

NodeTable::Shard& NodeTable::shard_of(const Hash32& hash) const {
  return shards_[hash.data()[8] % kShards];
}

size_t NodeTable::Shard::probe(const Hash32& hash) const {
  size_t mask = slots.size() - 1;
  for (size_t i = home_of(hash) & mask;; i = (i + 1) & mask)
    if (slots[i].refs == 0 || slots[i].hash == hash) return i;
}

void NodeTable::Shard::grow() {
  std::vector<Slot> old = std::move(slots);
  slots.assign(old.empty() ? kInitialSlots : old.size() * 2, Slot{});
  for (const Slot& s : old)
    if (s.refs) slots[probe(s.hash)] = s;
}

std::optional<TreeNode> NodeTable::find(const Hash32& hash) const {
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  if (shard.size == 0) return std::nullopt;
  const Slot& slot = shard.slots[shard.probe(hash)];
  if (slot.refs == 0) return std::nullopt;
  return slot.node;
}

uint32_t NodeTable::references(const Hash32& hash) const {
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  if (shard.size == 0) return 0;
  return shard.slots[shard.probe(hash)].refs;
}

void NodeTable::add(const Hash32& hash, const TreeNode& node) {
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  if (4 * (shard.size + 1) > 3 * shard.slots.size()) shard.grow();
  Slot& slot = shard.slots[shard.probe(hash)];
  if (slot.refs++ > 0) return;
  slot.hash = hash;
  slot.node = node;
  ++shard.size;
}

void NodeTable::release(const Hash32& hash) {
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  if (shard.size == 0) return;
  size_t mask = shard.slots.size() - 1;
  size_t hole = shard.probe(hash);
  if (shard.slots[hole].refs == 0 || --shard.slots[hole].refs > 0) return;
  // Backward shift: each following entry of the run moves into the hole unless its home
  // lies cyclically in (hole, at], where it must stay to remain reachable.
  for (size_t at = (hole + 1) & mask; shard.slots[at].refs; at = (at + 1) & mask) {
    size_t home = home_of(shard.slots[at].hash) & mask;
    bool stays = hole <= at ? (hole < home && home <= at) : (hole < home || home <= at);
    if (stays) continue;
    shard.slots[hole] = shard.slots[at];
    hole = at;
  }
  shard.slots[hole].refs = 0;
  --shard.size;
}

size_t NodeTable::size() const {
  return locked_size(shards_);
}

}  // namespace gridpact
