// What the tables split in locked shards (StateCache, NodeTable) share.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace gridpact {

// The entries of all shards, each shard counted under its own lock (shards have a
// `mutex` and a `size`).
template <class Shards>
size_t locked_size(const Shards& shards) {
  size_t n = 0;
  for (const auto& shard : shards) {
    std::lock_guard lock(shard.mutex);
    n += shard.size;
  }
  return n;
}

// Calls op(shard, i) for every item i < n, grouped by shard (item i belongs to
// shards[shard_of(i)]), each shard under its lock once. Within a group, prefetch(shard, i)
// is called for the item kAhead places later before op runs on the current one: a table
// far larger than the CPU's caches misses on every item, and this overlaps the misses.
template <size_t kAhead, class Shards, class ShardOf, class Prefetch, class Op>
void for_each_by_shard(Shards& shards, size_t n, ShardOf shard_of, Prefetch prefetch, Op op) {
  constexpr size_t kShards = std::tuple_size_v<Shards>;
  // A counting sort of the items by shard.
  std::array<size_t, kShards + 1> start{};
  for (size_t i = 0; i < n; ++i) ++start[shard_of(i) + 1];
  for (size_t s = 0; s < kShards; ++s) start[s + 1] += start[s];
  std::vector<uint32_t> order(n);
  std::array<size_t, kShards> next;
  std::copy(start.begin(), start.end() - 1, next.begin());
  for (size_t i = 0; i < n; ++i) order[next[shard_of(i)]++] = static_cast<uint32_t>(i);
  for (size_t s = 0; s < kShards; ++s) {
    if (start[s] == start[s + 1]) continue;
    auto& shard = shards[s];
    std::lock_guard lock(shard.mutex);
    for (size_t k = start[s]; k < start[s + 1]; ++k) {
      if (k + kAhead < start[s + 1]) prefetch(shard, order[k + kAhead]);
      op(shard, order[k]);
    }
  }
}

}  // namespace gridpact
