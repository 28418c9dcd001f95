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
  const uint64_t prefix = home_of(hash);
  size_t mask = tags.size() - 1;
  for (size_t i = prefix & mask;; i = (i + 1) & mask)
    if (tags[i].refs == 0 || (tags[i].prefix == prefix && entries[i].hash == hash)) return i;
}

void NodeTable::Shard::grow(size_t slots) {
  std::vector<Tag> old_tags = std::move(tags);
  std::vector<Entry> old_entries = std::move(entries);
  tags.assign(slots, Tag{});
  entries.resize(slots);
  for (size_t i = 0; i < old_tags.size(); ++i)
    if (old_tags[i].refs) {
      size_t at = probe(old_entries[i].hash);
      tags[at] = old_tags[i];
      entries[at] = old_entries[i];
    }
}

void NodeTable::Shard::move(size_t from, size_t to) {
  tags[to] = tags[from];
  entries[to] = entries[from];
}

void NodeTable::reserve(size_t nodes) {
  const size_t per_shard = nodes / kShards + 1;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    size_t slots = shard.tags.empty() ? kInitialSlots : shard.tags.size();
    while (4 * per_shard > 3 * slots) slots *= 2;
    if (slots > shard.tags.size()) shard.grow(slots);
  }
}

std::optional<TreeNode> NodeTable::find(const Hash32& hash) const {
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  if (shard.size == 0) return std::nullopt;
  size_t at = shard.probe(hash);
  if (shard.tags[at].refs == 0) return std::nullopt;
  return shard.entries[at].node;
}

uint32_t NodeTable::references(const Hash32& hash) const {
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  if (shard.size == 0) return 0;
  return shard.tags[shard.probe(hash)].refs;
}

void NodeTable::add(const Hash32& hash, const TreeNode& node) {
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  if (4 * (shard.size + 1) > 3 * shard.tags.size())
    shard.grow(shard.tags.empty() ? kInitialSlots : 2 * shard.tags.size());
  size_t at = shard.probe(hash);
  if (shard.tags[at].refs++ > 0) return;
  shard.tags[at].prefix = home_of(hash);
  shard.entries[at] = Entry{hash, node};
  ++shard.size;
}

void NodeTable::release(const Hash32& hash) {
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  if (shard.size == 0) return;
  size_t mask = shard.tags.size() - 1;
  size_t hole = shard.probe(hash);
  if (shard.tags[hole].refs == 0 || --shard.tags[hole].refs > 0) return;
  // Backward shift: each following entry of the run moves into the hole unless its home
  // lies cyclically in (hole, at], where it must stay to remain reachable.
  for (size_t at = (hole + 1) & mask; shard.tags[at].refs; at = (at + 1) & mask) {
    size_t home = shard.tags[at].prefix & mask;
    bool stays = hole <= at ? (hole < home && home <= at) : (hole < home || home <= at);
    if (stays) continue;
    shard.move(at, hole);
    hole = at;
  }
  shard.tags[hole].refs = 0;
  --shard.size;
}

size_t NodeTable::size() const {
  return locked_size(shards_);
}

}  // namespace gridpact
