#include "ledger/node_table.hpp"

#include <algorithm>
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

void NodeTable::Shard::prefetch(const Hash32& hash) const {
  if (tags.empty()) return;
  size_t home = home_of(hash) & (tags.size() - 1);
  __builtin_prefetch(&tags[home]);
  // The entry too (most probes end at home): its 97 bytes span up to three cache lines.
  const char* entry = reinterpret_cast<const char*>(&entries[home]);
  __builtin_prefetch(entry);
  __builtin_prefetch(entry + 64);
  __builtin_prefetch(entry + sizeof(Entry) - 1);
}

void NodeTable::Shard::add(const Hash32& hash, const TreeNode& node) {
  if (4 * (size + 1) > 3 * tags.size()) grow(tags.empty() ? kInitialSlots : 2 * tags.size());
  size_t at = probe(hash);
  if (tags[at].refs++ > 0) return;
  tags[at].prefix = home_of(hash);
  entries[at] = Entry{hash, node};
  ++size;
}

void NodeTable::Shard::release(const Hash32& hash) {
  if (size == 0) return;
  size_t mask = tags.size() - 1;
  size_t hole = probe(hash);
  if (tags[hole].refs == 0 || --tags[hole].refs > 0) return;
  // Backward shift: each following entry of the run moves into the hole unless its home
  // lies cyclically in (hole, at], where it must stay to remain reachable.
  for (size_t at = (hole + 1) & mask; tags[at].refs; at = (at + 1) & mask) {
    size_t home = tags[at].prefix & mask;
    bool stays = hole <= at ? (hole < home && home <= at) : (hole < home || home <= at);
    if (stays) continue;
    move(at, hole);
    hole = at;
  }
  tags[hole].refs = 0;
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
        size_t at = shard.size == 0 ? 0 : shard.probe(hashes[i]);
        if (shard.size == 0 || shard.tags[at].refs == 0)
          all = false;
        else
          out[i] = shard.entries[at].node;
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

size_t NodeTable::size() const {
  return locked_size(shards_);
}

}  // namespace gridpact
